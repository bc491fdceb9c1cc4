"""Job records, the SQLite job store and thread queues."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import qlab.jobs.store as store_module
from qlab.exceptions import QlabError, QlabTimeoutError, QlabTypeError
from qlab.jobs import (
    JobNotFoundError,
    JobQueue,
    JobQueueError,
    JobRecord,
    JobStateError,
    JobStatus,
    JobStore,
    JobStoreError,
    default_store,
    df,
    owner,
)

TIMEOUT = 30.0
"""Seconds any test waits for a job at most (only reached when something is broken)."""


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    path = ":memory:" if request.param == "memory" else tmp_path / "jobs.sqlite"
    with JobStore(path) as opened:
        yield opened


@pytest.fixture
def file_store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        yield opened


def _record(device: str = "ideal", family: str = "qdmi", **parameters) -> JobRecord:
    return JobRecord.new(family, device, "OPENQASM 3.0; qubit[2] q;", "qasm3", parameters)


def _results() -> dict:
    return {
        "counts": {"00": 48, "11": 52},
        "nested": {"a": [1, 2.5, None, True, "x"], "b": {"c": {"d": []}}, "arrays": [np.arange(3), {"z": np.zeros(0)}]},
        "state": (np.arange(16).reshape(4, 4) * (1 + 2j)).astype(np.complex128),
        "amplitudes": np.array([1 + 1j, 2 - 1j], dtype=np.complex64),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "flags": np.array([[True, False]]),
        "scalar_array": np.array(7, dtype=np.int16),
        "int_scalar": np.int64(5),
        "complex_scalar": np.complex128(1 - 2j),
        "py_complex": 3 + 4j,
        "tuple": (1, 2),
        "nan": float("nan"),
        "structured": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
    }


def _assert_same(got: object, want: object, where: str = "results") -> None:
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == want.dtype and got.shape == want.shape, where
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, np.generic):
        assert type(got) is type(want) and got == want, where
    elif isinstance(want, complex):
        assert complex(got) == want, where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for key in want:
            _assert_same(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, list) and len(got) == len(want), where
        for index, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{where}[{index}]")
    elif isinstance(want, float) and want != want:
        assert got != got, where
    else:
        assert type(got) is type(want) and got == want, where


# --- records and statuses ---------------------------------------------------------------------------------


def test_new_record_is_created_with_a_uuid_and_its_creation_time():
    before = time.time()
    record = JobRecord.new("qpu", "noisy", "h q[0];", "qasm2", {"shots": 10})
    assert len(record.id) == 32 and int(record.id, 16) >= 0
    assert record.status is JobStatus.CREATED
    assert list(record.timestamps) == ["created"] and before <= record.timestamps["created"] <= time.time()
    assert record.error is None and record.results is None
    assert JobRecord.new("qpu", "noisy").id != record.id


def test_status_values_are_lowercase_names_and_parse_in_any_case():
    assert [s.value for s in JobStatus] == [s.name.lower() for s in JobStatus]
    assert JobStatus("Queued") is JobStatus.QUEUED
    assert {s for s in JobStatus if s.finished} == {JobStatus.DONE, JobStatus.CANCELED, JobStatus.FAILED}
    assert f"{JobStatus.RUNNING}" == str(JobStatus.RUNNING) == "running"


def test_unknown_status_names_the_allowed_ones():
    with pytest.raises(JobStateError, match=r"Unknown job status 'finished' \(allowed: created, submitted, .*failed\)"):
        JobStatus("finished")


def test_status_moves_only_forward_and_never_out_of_a_finished_state():
    order = [JobStatus.CREATED, JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING]
    for i, status in enumerate(order):
        assert [status.can_move_to(t) for t in order] == [j > i for j in range(4)]
        assert all(status.can_move_to(t) for t in JobStatus if t.finished)
    for status in (JobStatus.DONE, JobStatus.CANCELED, JobStatus.FAILED):
        assert not any(status.can_move_to(t) for t in JobStatus)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("parameters", [1], r"JobRecord.parameters must be a dict, got list"),
        ("device", 3, r"JobRecord.device must be a str, got int"),
        ("results", [1], r"JobRecord.results must be a dict or None, got list"),
    ],
)
def test_record_fields_are_type_checked(field, value, message):
    fields = {**_record().__dict__, field: value}
    with pytest.raises(QlabTypeError, match=message):
        JobRecord(**fields)


# --- the store ----------------------------------------------------------------------------------------------


def test_record_round_trips_with_every_field(store):
    record = JobRecord(
        id="job-1",
        family="emulator",
        device="trapped-ion",
        program="def main(): pass",
        program_format="python",
        parameters={"shots": 5, "options": {"seed": None, "basis": ["x", "z"], "scale": 0.5}},
        status=JobStatus.DONE,
        timestamps={"created": 1.0, "running": 2.0, "done": 3.5},
        error="a note",
        results=_results(),
    )
    store.add(record)
    got = store.get("job-1")
    for name in ("id", "family", "device", "program", "program_format", "parameters", "status", "timestamps", "error"):
        assert getattr(got, name) == getattr(record, name), name
    _assert_same(got.results, record.results)
    assert got.results["state"].flags.writeable


def test_finish_stores_results_and_done_together_with_timestamps(store):
    record = _record(shots=100)
    store.add(record)
    for status in ("submitted", "queued", "running"):
        assert store.set_status(record.id, status).status.value == status
    done = store.finish(record.id, _results())
    assert done.status is JobStatus.DONE
    got = store.get(record.id)
    _assert_same(got.results, _results())
    assert list(got.timestamps) == ["created", "submitted", "queued", "running", "done"]
    times = list(got.timestamps.values())
    assert times == sorted(times) and got.timestamps["created"] == record.timestamps["created"]


def test_set_status_records_the_error_and_returns_the_stored_record(store):
    record = _record()
    store.add(record)
    failed = store.set_status(record.id, JobStatus.FAILED, error="device offline")
    assert (failed.status, failed.error, failed.parameters) == (JobStatus.FAILED, "device offline", {})
    assert store.get(record.id).error == "device offline"
    assert set(store.get(record.id).timestamps) == {"created", "failed"}


def test_list_filters_and_orders_oldest_first(store):
    records = [
        _record("ideal", "qdmi"),
        _record("noisy", "qdmi"),
        _record("ideal", "chain"),
        _record("noisy", "emulator"),
    ]
    for record in reversed(records):
        store.add(record)
    store.set_status(records[1].id, "running")
    store.finish(records[2].id, {"x": np.ones(2)})

    def ids(**filters):
        return [r.id for r in store.list(**filters)]

    assert ids() == [r.id for r in records]
    assert ids(device="ideal") == [records[0].id, records[2].id]
    assert ids(family="qdmi") == [records[0].id, records[1].id]
    assert ids(status="running") == [records[1].id]
    assert ids(status=[JobStatus.CREATED, "done"]) == [records[0].id, records[2].id, records[3].id]
    assert ids(device="noisy", family="emulator", status="created") == [records[3].id]
    assert ids(device="nowhere") == []
    np.testing.assert_array_equal(store.list(status="done")[0].results["x"], np.ones(2))


def test_list_rejects_an_unknown_status(store):
    with pytest.raises(JobStateError, match=r"Unknown job status 'finished'"):
        store.list(status="finished")


def test_df_has_one_row_per_job_with_times_and_no_results(store):
    first, second, third = _record(), _record("noisy"), _record()
    for record in (first, second, third):
        store.add(record)
    store.set_status(first.id, "running")
    store.finish(first.id, {"big": np.zeros(1000)})
    store.set_status(second.id, "failed", error="bad qubit")
    table = store.df()
    assert list(table.columns) == [
        "id", "family", "device", "status", "shots", "program", "tag", "created", "submitted", "queued", "running",
        "finished", "error",
    ]  # fmt: skip
    assert list(table["id"]) == [first.id, second.id, third.id]
    assert list(table["status"]) == ["done", "failed", "created"]
    assert list(table["error"].fillna("-")) == ["-", "bad qubit", "-"]
    assert all(isinstance(table[c].dtype, pd.DatetimeTZDtype) for c in ("created", "running", "finished"))
    assert table["finished"].isna().tolist() == [False, False, True]
    assert table["running"].notna().tolist() == [True, False, False]
    assert table.loc[0, "finished"] >= table.loc[0, "running"] >= table.loc[0, "created"]


def test_df_of_an_empty_store_has_the_columns(store):
    table = store.df()
    assert len(table) == 0 and "finished" in table.columns


def test_delete_removes_inactive_jobs_only(store):
    done, queued = _record(), _record()
    store.add(done)
    store.add(queued)
    store.set_status(done.id, "canceled")
    store.set_status(queued.id, "queued")
    store.delete(done.id)
    assert [r.id for r in store.list()] == [queued.id] and len(store.list()) == 1
    with pytest.raises(JobStateError, match=rf"Cannot delete job '{queued.id}': it is queued; cancel it first"):
        store.delete(queued.id)
    with pytest.raises(JobNotFoundError, match=rf"No job '{done.id}' in JobStore"):
        store.delete(done.id)


def test_unknown_id_names_the_id_and_the_store(file_store):
    with pytest.raises(JobNotFoundError, match=r"No job 'nope' in JobStore\('.*jobs\.sqlite'\)\.") as info:
        file_store.get("nope")
    assert isinstance(info.value, KeyError) and isinstance(info.value, QlabError)
    with pytest.raises(JobNotFoundError, match=r"No job 'nope' in JobStore\(':memory:'\)"):
        JobStore(":memory:").set_status("nope", "running")
    with pytest.raises(JobNotFoundError, match="nope"):
        file_store.finish("nope", {})


def test_duplicate_add_is_refused(store):
    record = _record()
    store.add(record)
    with pytest.raises(JobStateError, match=rf"Cannot add job '{record.id}' to JobStore.*already stored"):
        store.add(record)


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        (["running", "done"], "running", r"from done to running: a finished job never changes"),
        (["failed"], "done", r"from failed to done: a finished job never changes"),
        (["queued"], "submitted", r"from queued to submitted \(allowed from queued: running, done, canceled, failed\)"),
        (["running"], "running", r"from running to running \(allowed from running: done, canceled, failed\)"),
    ],
)
def test_illegal_transitions_are_refused(store, path, target, message):
    record = _record()
    store.add(record)
    for status in path:
        store.set_status(record.id, status)
    with pytest.raises(JobStateError, match=rf"Cannot move job '{record.id}' " + message):
        store.set_status(record.id, target)
    assert store.get(record.id).status.value == path[-1]


def test_finish_of_a_finished_job_is_refused_and_keeps_the_first_results(store):
    record = _record()
    store.add(record)
    store.finish(record.id, {"n": 1})
    with pytest.raises(JobStateError, match=r"from done to done: a finished job never changes"):
        store.finish(record.id, {"n": 2})
    assert store.get(record.id).results == {"n": 1}


def test_bad_status_value_is_refused(store):
    record = _record()
    store.add(record)
    with pytest.raises(JobStateError, match=r"Unknown job status 'finished' \(allowed: .*\)"):
        store.set_status(record.id, "finished")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"basis": {"x", "z"}}, r"parameters\['basis'\] has type set, which cannot be stored"),
        ({"opts": {"angles": np.ones(2)}}, r"parameters\['opts'\]\['angles'\] has type numpy.ndarray, which is not JSON-able \(use .tolist\(\)"),
        ({"opts": [1, {2: "two"}]}, r"parameters\['opts'\]\[1\] has the key 2 of type int; keys must be str"),
        ({"z": 1j}, r"parameters\['z'\] has type complex, which is not JSON-able"),
    ],
)
def test_parameters_that_are_not_json_are_refused_naming_the_key(store, parameters, message):
    record = _record(**parameters)
    with pytest.raises(QlabTypeError, match=rf"Cannot store parameters of job '{record.id}': " + message):
        store.add(record)
    assert store.list() == []


def test_numpy_scalar_parameters_become_plain_numbers(store):
    record = _record(shots=np.int64(100), p=np.float32(0.5), flag=np.bool_(True))
    store.add(record)
    params = store.get(record.id).parameters
    assert params == {"shots": 100, "p": 0.5, "flag": True}
    assert [type(v) for v in params.values()] == [int, float, bool]


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ({"counts": {"00": object()}}, r"results\['counts'\]\['00'\] has type object, which cannot be stored"),
        ({"a": [np.array([None], dtype=object)]}, r"results\['a'\]\[0\] is a NumPy array of dtype object, which needs pickle to be stored"),
        ({"a": {"$ndarray": [0, 1, False]}}, r"results\['a'\] uses the key '\$ndarray', which qlab.jobs reserves"),
        ({"counts": {0: 5}}, r"results\['counts'\] has the key 0 of type int; keys must be str"),
        ([1, 2], r"expected a dict, got list"),
    ],
)
def test_unstorable_results_fail_the_job_and_leave_nothing_partial(store, results, message):
    record = _record()
    store.add(record)
    store.set_status(record.id, "running")
    with pytest.raises(QlabTypeError, match=rf"Cannot store results of job '{record.id}': " + message):
        store.finish(record.id, results)
    got = store.get(record.id)
    assert got.status is JobStatus.FAILED and got.results is None
    assert got.error.startswith(f"QlabTypeError: Cannot store results of job '{record.id}'")
    with store._connection() as conn:
        assert conn.execute("SELECT results, arrays FROM jobs").fetchall() == [(None, None)]


def test_a_closed_store_says_so(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(JobStoreError, match=r"JobStore\('.*jobs.sqlite'\) is closed; open a new JobStore"):
        store.list()


def test_files_that_are_not_job_stores_are_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all, just some bytes" * 50)
    with pytest.raises(JobStoreError, match=r"Cannot open the job store at .*junk.sqlite: file is not a database"):
        JobStore(junk)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(JobStoreError, match=r"schema version 99, this qlab reads version 2"):
        JobStore(newer)


def test_a_store_creates_missing_directories(tmp_path):
    with JobStore(tmp_path / "a" / "b" / "jobs.sqlite") as store:
        store.add(_record())
    assert (tmp_path / "a" / "b" / "jobs.sqlite").is_file()


def test_default_path_honours_qlab_home_then_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("QLAB_HOME", str(tmp_path / "home"))
    assert JobStore.default_path() == tmp_path / "home" / "jobs.sqlite"
    assert (tmp_path / "home").is_dir()
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("QLAB_HOME")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert JobStore.default_path() == tmp_path / "xdg" / "qlab" / "jobs.sqlite"
        monkeypatch.delenv("XDG_DATA_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "user"))
        assert JobStore.default_path() == tmp_path / "user" / ".local" / "share" / "qlab" / "jobs.sqlite"


def test_default_store_is_one_store_at_the_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("QLAB_HOME", str(tmp_path))
    monkeypatch.setattr(store_module, "_default", None)
    store = default_store()
    assert store is default_store() and store.path == tmp_path / "jobs.sqlite"
    store.add(_record(device="dev-1"))
    assert list(df()["device"]) == ["dev-1"]
    store.close()
    reopened = default_store()
    assert reopened is not store and [r.device for r in reopened.list()] == ["dev-1"]
    reopened.close()


def test_a_new_process_lists_earlier_jobs_and_reads_their_results(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with JobStore(path) as store:
        records = [_record(shots=n) for n in range(3)]
        for n, record in enumerate(records):
            store.add(record)
            store.finish(record.id, {"n": n, "state": np.full((2, 2), n * 1j)})
    script = textwrap.dedent(
        """
        import json, sys
        from qlab.jobs import JobStore
        store = JobStore(sys.argv[1])
        ids = [r.id for r in store.list()]
        got = store.get(sys.argv[2]).results
        state = got["state"]
        print(json.dumps({"ids": ids, "n": got["n"], "dtype": str(state.dtype), "shape": list(state.shape),
                          "imag": state.imag.tolist(), "recovered": store.recovered}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), records[2].id], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(out.stdout)
    assert seen == {
        "ids": [r.id for r in records], "n": 2, "dtype": "complex128", "shape": [2, 2],
        "imag": [[2.0, 2.0], [2.0, 2.0]], "recovered": [],
    }  # fmt: skip


_CRASH_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from qlab.jobs import JobQueue, JobRecord, JobStore

    def runner(record):
        if record.parameters["slow"]:
            time.sleep(600)
        n = record.parameters["n"]
        return {"n": n, "counts": {"00": n, "11": 10 - n}, "state": np.eye(4, dtype=complex) * (n + 1j)}

    store = JobStore(sys.argv[1])
    queue = JobQueue(runner, store)
    for n in range(5):
        record = JobRecord.new("qdmi", "ideal", "bell", "qasm3", {"n": n, "slow": n >= 2})
        queue.submit(record)
        if n < 2:
            queue.wait(record.id)
    print("submitted", flush=True)
    time.sleep(600)
    """
)


def _wait_for(condition, what: str):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_a_killed_process_leaves_finished_results_intact_and_its_active_jobs_failed(tmp_path):
    path = tmp_path / "jobs.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _CRASH_CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "submitted"
        with JobStore(path) as watcher:
            _wait_for(lambda: watcher.list(status="running"), "a running job")
            assert watcher.recovered == [] and watcher.recover() == []
            before = {r.parameters["n"]: r.status for r in watcher.list()}
            assert before == {0: "done", 1: "done", 2: "running", 3: "queued", 4: "queued"}
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=TIMEOUT)
            with JobStore(path) as reopened:
                jobs = {r.parameters["n"]: r for r in reopened.list()}
                assert sorted(reopened.recovered) == sorted(jobs[n].id for n in (2, 3, 4))
            assert watcher.recover() == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    for n in (2, 3, 4):
        assert (jobs[n].status, jobs[n].error, jobs[n].results) == (JobStatus.FAILED, "interrupted", None)
        assert "failed" in jobs[n].timestamps
    for n in (0, 1):
        assert jobs[n].status is JobStatus.DONE and jobs[n].error is None
        assert set(jobs[n].timestamps) == {"created", "submitted", "queued", "running", "done"}
        _assert_same(jobs[n].results, {"n": n, "counts": {"00": n, "11": 10 - n}, "state": np.eye(4, dtype=complex) * (n + 1j)})


def _set_owner(store, job_id, host, pid, start):
    with store._connection() as conn:
        conn.execute("UPDATE jobs SET owner_host = ?, owner_pid = ?, owner_start = ? WHERE id = ?", (host, pid, start, job_id))


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process start times from /proc")
def test_recover_fails_only_jobs_whose_owner_is_gone(file_store):
    me, dead_pid = owner.current(), _dead_pid()
    jobs = {name: _record() for name in ("mine", "dead", "reused", "elsewhere", "created", "done")}
    for name, record in jobs.items():
        file_store.add(record)
        if name not in ("created", "done"):
            file_store.set_status(record.id, "running" if name == "mine" else "queued")
    file_store.finish(jobs["done"].id, {})
    _set_owner(file_store, jobs["dead"].id, me.host, dead_pid, None)
    _set_owner(file_store, jobs["reused"].id, me.host, me.pid, "an earlier process with this pid")
    _set_owner(file_store, jobs["elsewhere"].id, "another-host", dead_pid, None)
    assert sorted(file_store.recover()) == sorted([jobs["dead"].id, jobs["reused"].id])
    statuses = {name: file_store.get(record.id).status.value for name, record in jobs.items()}
    assert statuses == {
        "mine": "running", "dead": "failed", "reused": "failed", "elsewhere": "queued", "created": "created",
        "done": "done",
    }  # fmt: skip
    assert file_store.get(jobs["dead"].id).error == "interrupted"
    assert file_store.recover() == []


def test_a_memory_store_recovers_nothing():
    with JobStore(":memory:") as store:
        record = _record()
        store.add(record)
        store.set_status(record.id, "running")
        _set_owner(store, record.id, owner.HOST, _dead_pid(), None)
        assert store.recovered == [] and store.recover() == []
        assert store.get(record.id).status is JobStatus.RUNNING


# --- queues -------------------------------------------------------------------------------------------------


class Gate:
    """A runner that records the order it runs jobs in and holds the ones marked ``hold`` until released."""

    def __init__(self):
        self.order: list[str] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, record: JobRecord) -> dict:
        self.order.append(record.id)
        self.started.release()
        if record.parameters.get("hold"):
            assert self.release.wait(TIMEOUT)
        if record.parameters.get("boom"):
            raise ValueError(f"boom in {record.parameters['boom']}")
        return {"id": record.id, "n": record.parameters.get("n"), "array": np.arange(3) * 1j}

    def wait_started(self) -> None:
        assert self.started.acquire(timeout=TIMEOUT)


@pytest.fixture
def gate():
    gate = Gate()
    yield gate
    gate.release.set()


@pytest.fixture
def queue(store, gate):
    opened = JobQueue(gate, store, name="test")
    yield opened
    gate.release.set()
    opened.shutdown()


def test_jobs_run_first_in_first_out_with_positions_and_length(queue, store, gate):
    first = _record(hold=True)
    queue.submit(first)
    gate.wait_started()
    rest = [_record(n=n) for n in range(4)]
    for record in rest:
        queue.submit(record)
    assert queue.position(first.id) is None
    assert [queue.position(r.id) for r in rest] == [0, 1, 2, 3]
    assert len(queue) == 5 and queue.waiting == 4
    assert store.get(rest[0].id).status is JobStatus.QUEUED
    assert set(store.get(rest[0].id).timestamps) == {"created", "submitted", "queued"}
    gate.release.set()
    finished = [queue.wait(r.id, timeout=TIMEOUT) for r in [first, *rest]]
    assert gate.order == [first.id, *(r.id for r in rest)]
    assert [r.results["n"] for r in finished[1:]] == [0, 1, 2, 3]
    assert all(r.status is JobStatus.DONE for r in finished)
    assert list(finished[1].timestamps) == ["created", "submitted", "queued", "running", "done"]
    times = list(finished[1].timestamps.values())
    assert times == sorted(times)
    _assert_same(finished[1].results["array"], np.arange(3) * 1j)
    assert len(queue) == 0 and queue.waiting == 0 and queue.position(rest[0].id) is None


def test_submit_uses_the_stored_record_when_it_was_added_first(queue, store):
    record = _record(n=1)
    store.add(record)
    record.parameters["n"] = 2
    queue.submit(record)
    assert queue.wait(record.id, timeout=TIMEOUT).results["n"] == 1


def test_submit_of_a_job_that_is_not_created_is_refused(queue, store):
    done = _record()
    queue.submit(done)
    queue.wait(done.id, timeout=TIMEOUT)
    with pytest.raises(JobStateError, match=rf"Cannot submit job '{done.id}': it is done; only created jobs can be submitted"):
        queue.submit(done)
    finished = store.get(done.id)
    store.delete(done.id)
    with pytest.raises(JobStateError, match=rf"Cannot submit job '{done.id}': it is done; only created"):
        queue.submit(finished)
    assert store.list() == []


def test_cancel_a_queued_job_at_once(queue, store, gate):
    running, first, second = _record(hold=True), _record(n=1), _record(n=2)
    for record in (running, first, second):
        queue.submit(record)
    gate.wait_started()
    assert queue.cancel(first.id) is True
    got = store.get(first.id)
    assert got.status is JobStatus.CANCELED and "canceled" in got.timestamps
    assert queue.position(first.id) is None and queue.position(second.id) == 0
    assert queue.wait(first.id, timeout=0).status is JobStatus.CANCELED
    gate.release.set()
    assert queue.wait(second.id, timeout=TIMEOUT).status is JobStatus.DONE
    assert first.id not in gate.order
    assert queue.cancel(first.id) is False


def test_cancel_a_running_job_discards_its_result(queue, store, gate):
    running, after = _record(hold=True), _record(n=7)
    queue.submit(running)
    queue.submit(after)
    gate.wait_started()
    assert queue.cancel(running.id) is True
    assert queue.wait(running.id, timeout=0).status is JobStatus.CANCELED
    gate.release.set()
    assert queue.wait(after.id, timeout=TIMEOUT).results["n"] == 7
    got = store.get(running.id)
    assert (got.status, got.results) == (JobStatus.CANCELED, None)


def test_cancel_a_finished_or_unknown_job(queue):
    record = _record()
    queue.submit(record)
    queue.wait(record.id, timeout=TIMEOUT)
    assert queue.cancel(record.id) is False
    with pytest.raises(JobNotFoundError, match=r"No job 'missing' in JobStore"):
        queue.cancel("missing")


def test_wait_times_out_naming_the_job_and_the_timeout(queue, gate):
    record = _record(hold=True)
    queue.submit(record)
    gate.wait_started()
    with pytest.raises(QlabTimeoutError, match=rf"Job '{record.id}' did not finish within 0.05 s \(it is running\)") as info:
        queue.wait(record.id, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    gate.release.set()
    assert queue.wait(record.id, timeout=TIMEOUT).status is JobStatus.DONE


def test_wait_for_a_job_this_queue_does_not_hold(queue, store):
    created = _record()
    store.add(created)
    with pytest.raises(JobQueueError, match=rf"Cannot wait for job '{created.id}': it is created but not in JobQueue 'test'"):
        queue.wait(created.id)
    store.set_status(created.id, "canceled")
    assert queue.wait(created.id).status is JobStatus.CANCELED
    with pytest.raises(JobNotFoundError, match="'missing'"):
        queue.wait("missing")


def test_a_runner_that_raises_fails_the_job_and_the_queue_goes_on(queue):
    bad, good = _record(boom="the runner"), _record(n=3)
    queue.submit(bad)
    queue.submit(good)
    failed = queue.wait(bad.id, timeout=TIMEOUT)
    assert (failed.status, failed.error, failed.results) == (JobStatus.FAILED, "ValueError: boom in the runner", None)
    assert "failed" in failed.timestamps and "running" in failed.timestamps
    assert queue.wait(good.id, timeout=TIMEOUT).results["n"] == 3


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        (42, r"QlabTypeError: Cannot store results of job '\w+': expected a dict, got int 42"),
        ({"s": {1, 2}}, r"QlabTypeError: Cannot store results of job '\w+': results\['s'\] has type set"),
    ],
)
def test_results_that_cannot_be_stored_fail_the_job(store, returned, error):
    with JobQueue(lambda record: returned, store) as queue:
        record = _record()
        queue.submit(record)
        failed = queue.wait(record.id, timeout=TIMEOUT)
        assert failed.status is JobStatus.FAILED and failed.results is None
        assert re.match(error, failed.error)


def test_many_submitting_threads_run_every_job_exactly_once(store):
    calls = collections.Counter()
    lock = threading.Lock()

    def runner(record):
        with lock:
            calls[record.id] += 1
        return {"thread": record.parameters["thread"]}

    submitted: list[list[str]] = [[] for _ in range(8)]

    def submit_many(queue, k):
        for _ in range(50):
            record = _record(thread=k)
            queue.submit(record)
            submitted[k].append(record.id)

    with JobQueue(runner, store, workers=2) as queue:
        threads = [threading.Thread(target=submit_many, args=(queue, k)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = {job_id: queue.wait(job_id, timeout=TIMEOUT) for ids in submitted for job_id in ids}
    assert len(results) == 400 and set(calls.values()) == {1} and set(calls) == set(results)
    assert all(r.status is JobStatus.DONE for r in results.values())
    assert all(results[job_id].results == {"thread": k} for k, ids in enumerate(submitted) for job_id in ids)
    assert set(store.df()["status"]) == {"done"} and len(store.list()) == 400


def test_shutdown_cancels_waiting_jobs_and_lets_the_running_one_finish(store, gate):
    queue = JobQueue(gate, store, name="closing")
    running, waiting = _record(hold=True, n=1), [_record(n=n) for n in range(3)]
    queue.submit(running)
    for record in waiting:
        queue.submit(record)
    gate.wait_started()
    queue.shutdown(wait=False)
    for record in waiting:
        got = queue.wait(record.id, timeout=0)
        assert (got.status, got.error) == (JobStatus.CANCELED, "queue shut down")
    late = _record()
    with pytest.raises(JobQueueError, match=rf"Cannot submit job '{late.id}': JobQueue 'closing' is shut down"):
        queue.submit(late)
    gate.release.set()
    queue.shutdown()
    assert store.get(running.id).status is JobStatus.DONE
    assert len(queue) == 0 and not any(t.is_alive() for t in queue._threads)
    assert gate.order == [running.id]


def test_a_queue_needs_at_least_one_worker(store):
    with pytest.raises(JobQueueError, match=r"Cannot start JobQueue 'q' with workers=0; use an int >= 1"):
        JobQueue(lambda r: {}, store, workers=0, name="q")
    with pytest.raises(QlabTypeError, match=r"JobQueue needs a callable runner, got str"):
        JobQueue("run", store)


def test_a_job_canceled_by_another_queue_is_not_run(store, gate):
    with JobQueue(gate, store, name="a") as first, JobQueue(lambda r: {}, store, name="b") as second:
        blocker, victim = _record(hold=True), _record()
        first.submit(blocker)
        first.submit(victim)
        gate.wait_started()
        assert second.cancel(victim.id) is True
        gate.release.set()
        assert first.wait(blocker.id, timeout=TIMEOUT).status is JobStatus.DONE
        assert first.wait(victim.id, timeout=TIMEOUT).status is JobStatus.CANCELED
        assert gate.order == [blocker.id]


def test_a_concurrent_futures_executor_runs_the_jobs(store):
    with ThreadPoolExecutor(max_workers=2) as pool, JobQueue(lambda r: {"n": r.parameters["n"]}, store, executor=pool) as queue:
        assert len(queue._threads) == 1
        records = [_record(n=n) for n in range(3)]
        for record in records:
            queue.submit(record)
        assert [queue.wait(r.id, timeout=TIMEOUT).results for r in records] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_wrong_types_are_refused(store):
    with pytest.raises(QlabTypeError, match=r"JobStore.add expects a JobRecord, got dict"):
        store.add({"id": "a"})
    with pytest.raises(QlabTypeError, match=r"JobQueue needs a JobStore, got str"):
        JobQueue(lambda r: {}, "jobs.sqlite")
    with JobQueue(lambda r: {}, store) as queue, pytest.raises(QlabTypeError, match=r"JobQueue.submit expects a JobRecord, got str"):
        queue.submit("job-id")


def test_timestamps_must_name_statuses(store):
    record = _record()
    record.timestamps["finished"] = 1.0
    with pytest.raises(JobStateError, match=rf"Cannot add job '{record.id}': timestamps name unknown statuses \['finished'\]"):
        store.add(record)
