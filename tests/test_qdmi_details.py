"""QDMI details: a full disk, dead owners seen while waiting, store failures as Fatal, checksums, limits, small ones."""

import gc
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

import qlab
from qlab.jobs import JobQueue, JobRecord, JobStore, owner
from qlab.qdmi import (
    DeviceProperty,
    Fatal,
    InvalidArgument,
    JobParameter,
    JobResult,
    JobStatus,
    NotSupported,
    OutOfMem,
    ProgramFormat,
    ProgramLimits,
    Session,
    Status,
)

BELL2 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;'
TIMEOUT = 30.0


class FillingStore(JobStore):
    """A file store whose writes fail with SQLite's disk-full error while ``full`` is set."""

    full = False

    @contextmanager
    def _transaction(self):
        if self.full:
            with self._connection():
                raise sqlite3.OperationalError("database or disk is full")
        with super()._transaction() as conn:
            yield conn


def _until(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


# ------------------------------------------------------------------ disk full
def test_a_job_that_ends_on_a_full_disk_is_final_keeps_its_result_and_is_saved_when_space_returns(tmp_path):
    store = FillingStore(tmp_path / "jobs.sqlite")
    with Session(store=store, mqt=False) as session:
        device = session.device("ideal")
        inner = device._run

        def fill_the_disk_then_finish(record):
            results = inner(record)
            store.full = True
            return results

        device._run = fill_the_disk_then_finish
        job = device.run(BELL2, shots=100, seed=4)
        assert job.wait(TIMEOUT) is JobStatus.DONE
        assert set(job.counts()) == {"00", "11"} and sum(job.counts().values()) == 100
        assert re.search(r"not saved yet: the job store could not take this job's end \(.*database or disk is full.*\); it is kept in memory and retried", job.record.error)
        assert store.get(job.id).status.value == "running"  # the disk still refuses it
        other = session.retrieve_job(job.id[:10])  # a second handle waits on the same job
        assert other.wait(TIMEOUT) is JobStatus.DONE and other.counts() == job.counts()
        store.full = False
        _until(lambda: store.get(job.id).status.value == "done", "the retry to write the job")
        stored = store.get(job.id)
        assert stored.error is None and device._queue.unsaved(job.id) is None
        np.testing.assert_array_equal(stored.results["counts"], job.record.results["counts"])
    store.close()


def test_a_failure_that_cannot_be_recorded_still_ends_the_wait(tmp_path):
    store = FillingStore(tmp_path / "jobs.sqlite")
    with Session(store=store, mqt=False) as session:
        device = session.device("ideal")

        def broken(record):
            store.full = True
            raise RuntimeError("the simulator broke")

        device._run = broken
        job = device.run(BELL2, shots=10, seed=1)
        assert job.wait(TIMEOUT) is JobStatus.FAILED
        assert job.record.error.startswith("RuntimeError: the simulator broke (not saved yet: ")
        store.full = False
        _until(lambda: store.get(job.id).status.value == "failed", "the retry")
        assert store.get(job.id).error == "RuntimeError: the simulator broke"
    store.close()


# -------------------------------------------------------------- owner liveness
_OWNER = textwrap.dedent(
    """
    import sys, time
    from qlab.jobs import JobQueue, JobRecord, JobStore
    store = JobStore(sys.argv[1])
    queue = JobQueue(lambda record: time.sleep(600), store)
    record = JobRecord.new("qdmi", "ideal", sys.argv[2], "qasm2", {"shots": 10, "seed": None})
    queue.submit(record)
    print(record.id, flush=True)
    time.sleep(600)
    """
)


def test_a_waiter_in_another_process_sees_the_job_of_a_killed_owner_fail(tmp_path):
    path = tmp_path / "jobs.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _OWNER, str(path), BELL2], stdout=subprocess.PIPE, text=True)
    try:
        job_id = child.stdout.readline().strip()
        with Session(store=path, mqt=False) as session:
            job = session.retrieve_job(job_id)
            assert job.check() in (JobStatus.QUEUED, JobStatus.RUNNING)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(TIMEOUT)
            assert job.wait(TIMEOUT) is JobStatus.FAILED
            assert job.record.error == "interrupted"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def _owned_by(store, job_id, who: owner.Owner, lease_until: float | None):
    with store._connection() as conn:
        conn.execute("UPDATE jobs SET owner_host = ?, owner_pid = ?, owner_start = ?, owner_ns = ? WHERE id = ?",
                     (who.host, who.pid, who.start, who.namespace, job_id))
        if lease_until is not None:
            conn.execute("INSERT OR REPLACE INTO leases (owner, expires) VALUES (?, ?)", (who.key, lease_until))


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pid namespaces are Linux's")
def test_owners_in_another_pid_namespace_are_judged_by_their_lease_not_their_pid(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        records = {name: JobRecord.new("qdmi", "ideal", id=name) for name in ("container", "expired", "other-host")}
        for record in records.values():
            store.add(record)
            store.set_status(record.id, "running")
        me = owner.current()
        elsewhere = owner.Owner(me.host, _dead_pid(), "1", "another boot/pid:[4026532999]")
        _owned_by(store, "container", elsewhere, time.time() + 60)
        _owned_by(store, "expired", owner.Owner(me.host, elsewhere.pid, "2", elsewhere.namespace), time.time() - 1)
        _owned_by(store, "other-host", owner.Owner("another-host", 1, None, None), time.time() - 1)
        assert sorted(store.recover()) == ["expired", "other-host"]
        assert store.get("container").status.value == "running"
        # the same pid in this namespace is gone, so there it counts as dead at once
        _owned_by(store, "container", owner.Owner(me.host, elsewhere.pid, None, me.namespace), time.time() + 60)
        assert store.recover(["container"]) == ["container"]


def test_this_process_renews_its_lease_while_its_jobs_run(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite", lease=0.3) as store:
        record = JobRecord.new("qdmi", "ideal")
        store.add(record)
        store.set_status(record.id, "running")
        time.sleep(1.0)  # three lease lengths: only renewal keeps it alive
        with JobStore(tmp_path / "jobs.sqlite") as other:
            assert other.recovered == [] and other.get(record.id).status.value == "running"
        with store._connection() as conn:
            expires = conn.execute("SELECT expires FROM leases WHERE owner = ?", (owner.current().key,)).fetchone()[0]
        assert expires > time.time()
    with pytest.raises(qlab.QlabError, match=re.escape("JobStore(lease=...) must be a positive number of seconds, got 0.")):
        JobStore(":memory:", lease=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_an_owner_that_is_a_zombie_counts_as_gone(tmp_path):
    path = tmp_path / "jobs.sqlite"
    code = "import sys; from qlab.jobs import JobStore, JobRecord; s = JobStore(sys.argv[1]); r = JobRecord.new('qdmi', 'ideal', id='z'); s.add(r); s.set_status('z', 'running')"
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    try:
        _until(lambda: open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", "the child to be a zombie")
        with JobStore(path) as store:
            assert store.recovered == ["z"]
            assert store.get("z").error == "interrupted"
    finally:
        child.wait()


def test_a_job_added_to_the_store_before_submission_keeps_its_creation_time(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        record = JobRecord.new("qdmi", "ideal", "x", "text", {"n": 1})
        record.timestamps["created"] = created = time.time() - 100
        store.add(record)
        stored = store.get(record.id)
        assert (stored.status.value, list(stored.timestamps), stored.timestamps["created"]) == ("created", ["created"], created)
        gate = threading.Event()
        with JobQueue(lambda r: gate.wait(TIMEOUT) and {"n": r.parameters["n"]}, store) as queue:
            before = time.time()
            queue.submit(record)
            queued = store.get(record.id)
            assert queued.status.value in ("queued", "running")
            assert queued.timestamps["created"] == created
            assert before <= queued.timestamps["submitted"] == queued.timestamps["queued"] <= time.time()
            gate.set()
            done = queue.wait(record.id, TIMEOUT)
        assert list(done.timestamps) == ["created", "submitted", "queued", "running", "done"]
        assert created < done.timestamps["submitted"] <= done.timestamps["running"] <= done.timestamps["done"]


# --------------------------------------------------------- store failures: Fatal
def test_a_damaged_result_is_refused_instead_of_returned(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with Session(store=path, mqt=False) as session:
        job = session.device("ideal").run(BELL2, shots=10, seed=1)
        assert job.wait(TIMEOUT) is JobStatus.DONE
        with session.store._connection() as conn:
            blob = bytearray(conn.execute("SELECT arrays FROM jobs WHERE id = ?", (job.id,)).fetchone()[0])
            blob[-1] ^= 0xFF  # one flipped byte in the last stored array
            conn.execute("UPDATE jobs SET arrays = ? WHERE id = ?", (bytes(blob), job.id))
    with Session(store=path, mqt=False) as session:
        with pytest.raises(Fatal, match=re.escape(f"Cannot retrieve job {job.id!r}: the job store failed: The stored results of job {job.id!r} are damaged (their checksum does not match)")):
            session.retrieve_job(job.id)


def test_a_corrupt_store_file_and_a_closed_session_are_fatal(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(Fatal, match=r"Cannot open the session: the job store failed: Cannot open the job store at .*junk.sqlite: file is not a database"):
        Session(store=junk, mqt=False)
    store = JobStore(tmp_path / "jobs.sqlite")
    session = Session(store=store, mqt=False)
    job = session.device("ideal").run(BELL2, shots=10, seed=1)
    job.wait(TIMEOUT)
    handle = session.retrieve_job(job.id)
    session.close()
    store.close()
    with pytest.raises(Fatal, match=re.escape(f"Cannot read job {job.id!r}: the job store failed: JobStore(") + ".*is closed"):
        handle._final = None
        handle.check()


@pytest.mark.parametrize("how", ["permissions", "unable to open"])
def test_a_read_only_store_still_reads_old_results(tmp_path, monkeypatch, how):
    folder = tmp_path / "ro"
    folder.mkdir()
    with Session(store=folder / "jobs.sqlite", mqt=False) as session:
        job = session.device("ideal").run(BELL2, shots=20, seed=3)
        job.wait(TIMEOUT)
        counts = job.counts()
    if how == "permissions":
        if os.geteuid() == 0:
            pytest.skip("root writes through permissions")
        folder.chmod(0o555)
        (folder / "jobs.sqlite").chmod(0o444)
    else:  # what SQLite says when the folder refuses its -wal and -shm files
        real = sqlite3.connect

        def refuse_writers(target, *args, uri=False, **kwargs):
            if not uri:
                raise sqlite3.OperationalError("unable to open database file")
            return real(target, *args, uri=uri, **kwargs)

        monkeypatch.setattr("qlab.jobs.store.sqlite3.connect", refuse_writers)
    try:
        with Session(store=folder / "jobs.sqlite", mqt=False) as session:
            assert session.store.readonly
            assert session.retrieve_job(job.id[:8]).counts() == counts
            with pytest.raises(Fatal, match=r"Cannot submit job .*: the job store failed: JobStore\(.*\) is read-only \(it was opened read-only because unable to open database file|attempt to write a readonly database"):
                session.device("ideal").run(BELL2)
    finally:
        folder.chmod(0o755)


# ------------------------------------------------------------------- limits
def test_program_limits_are_named_and_set_per_device():
    with Session(store=":memory:", mqt=False) as session:
        device = session.device("ideal")
        device.limits = ProgramLimits(max_program_bytes=200, max_statements=5, max_clbits=3)
        job = device.create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM3)
        with pytest.raises(NotSupported, match=re.escape("The program is 212 bytes long; this device takes programs of at most 200 bytes (ProgramLimits.max_program_bytes).")):
            job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q;" + " " * 190)
        with pytest.raises(NotSupported, match=re.escape("The QASM3 program cannot run on this device: Cannot read OpenQASM at line 1: the program declares 4 classical bits, more than max_clbits=3 allowed here")):
            job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q; bit[4] c;")
        with pytest.raises(NotSupported, match=re.escape("the program expands to 9 or more statements (loops unrolled, gate definitions inlined, registers broadcast), more than max_statements=5 allowed here")):
            job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q; for int i in [0:7] { x q; }")
        assert session.device("sc20").limits == ProgramLimits()  # per device
        with pytest.raises(InvalidArgument, match=re.escape("ProgramLimits.parse_timeout must be a positive number of seconds, got 0.")):
            ProgramLimits(parse_timeout=0)
        with pytest.raises(InvalidArgument, match=re.escape("device.limits takes a ProgramLimits, got dict.")):
            device.limits = {}


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[10000000];', "declares 10000000 classical bits, more than max_clbits=65536 allowed here"),
        ("OPENQASM 3.0; const int n = 1000000000; qubit[n] q;", "declares 1000000000 qubits, more than max_qubits=12 allowed here"),
        ("OPENQASM 3.0; qubit[500000000*2] q;", "declares 1000000000 qubits, more than max_qubits=12 allowed here"),
        ("OPENQASM 3.0; qubit q; for int i in [0:999999] { for int j in [0:999] { x q; } }", "statements (loops unrolled, gate definitions inlined, registers broadcast), more than max_statements=100000 allowed here"),
    ],
)
def test_huge_programs_are_refused_at_once_with_the_limit_named(program, message):
    with Session(store=":memory:", mqt=False) as session:
        job = session.device("ideal").create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM3 if "3.0" in program else ProgramFormat.QASM2)
        with pytest.raises(NotSupported, match=re.escape(message)):
            job.set_parameter(JobParameter.PROGRAM, program)


def test_checking_a_program_never_holds_the_caller_longer_than_the_time_limit(monkeypatch):
    release = threading.Event()

    def slow_parse(text, **kwargs):
        release.wait(TIMEOUT)
        return qlab.Circuit(1)

    monkeypatch.setattr("qlab.qdmi.programs.load_qasm", slow_parse)
    with Session(store=":memory:", mqt=False) as session:
        device = session.device("ideal")
        device.limits = ProgramLimits(parse_timeout=0.2)
        job = device.create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM3)
        started = time.monotonic()
        with pytest.raises(NotSupported, match=re.escape("Checking the QASM3 program took longer than 0.2 s (ProgramLimits.parse_timeout)")):
            job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q;")
        assert time.monotonic() - started < TIMEOUT / 2
        release.set()


def test_running_out_of_memory_is_outofmem(monkeypatch):
    def no_memory(text, **kwargs):
        raise MemoryError

    assert OutOfMem.code is Status.ERROR_OUTOFMEM and issubclass(OutOfMem, MemoryError)
    monkeypatch.setattr("qlab.qdmi.programs.load_qasm", no_memory)
    with Session(store=":memory:", mqt=False) as session:
        job = session.device("ideal").create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM3)
        with pytest.raises(OutOfMem, match=re.escape("Checking the QASM3 program ran out of memory; the program is too large for this machine.")):
            job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q;")


def test_a_simulation_that_runs_out_of_memory_fails_its_job_with_outofmem(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("qlab.qdmi.local.simulation_results", no_memory)
    with Session(store=":memory:", mqt=False) as session:
        job = session.device("ideal").run(BELL2, shots=10)
        assert job.wait(TIMEOUT) is JobStatus.FAILED
        assert job.record.error == f"OutOfMem: Job {job.id!r} ran out of memory while it was simulated on device 'ideal'."


# --------------------------------------------------------------- small ones
def test_waits_take_infinity_and_numpy_numbers():
    with Session(store=":memory:", mqt=False) as session:
        for timeout in (float("inf"), np.float64(30), np.float32(30.5), np.int64(30), 30):
            assert session.device("ideal").run(BELL2, shots=5).wait(timeout) is JobStatus.DONE
        job = session.device("ideal").run(BELL2, shots=5)
        for bad in (float("nan"), -1.0, np.float64(-0.5), True, "1"):
            with pytest.raises(InvalidArgument, match=re.escape(f"wait(timeout=...) takes None or a non-negative number of seconds, got {bad!r}.")):
                job.wait(bad)


def test_a_program_without_classical_bits_says_it_has_no_shots():
    with Session(store=":memory:", mqt=False) as session:
        job = session.device("ideal").run("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[5]; h q[0];", shots=5)
        assert job.wait(TIMEOUT) is JobStatus.DONE
        for kind in (JobResult.SHOTS, JobResult.HIST_KEYS, JobResult.HIST_VALUES):
            with pytest.raises(NotSupported, match=re.escape(f"The program has no classical bits, so its job has no {kind.name}: add measurements")):
                job.get_results(kind)
        assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "00000,10000"  # qubit 0 in |+>, the four others untouched
        assert "has no classical bits" in job._repr_html_()


def test_a_cancel_racing_the_end_of_a_job_leaves_no_stop_entry():
    with Session(store=":memory:", mqt=False) as session:
        device = session.device("ideal")
        for _ in range(20):
            job = device.run(BELL2, shots=5)
            try:
                job.cancel()
            except InvalidArgument:
                pass
            assert job.wait(TIMEOUT) in (JobStatus.CANCELED, JobStatus.DONE)
        _until(lambda: device._queue is not None and len(device._queue) == 0, "the queue to drain")
        device._stop("a job that already ended")
        assert device._stops == {}


def test_devices_report_needscalibration_and_calibration_is_a_program_format():
    assert (DeviceProperty.NEEDSCALIBRATION, DeviceProperty.PULSESUPPORT, ProgramFormat.CALIBRATION) == (8, 9, 6)
    with Session(store=":memory:", mqt=False) as session:
        assert session.device("sc20").query(DeviceProperty.NEEDSCALIBRATION) == 0
        job = session.device("sc20").create_job()
        with pytest.raises(NotSupported, match=re.escape("Device 'sc20' does not take CALIBRATION programs; it takes QASM2, QASM3.")):
            job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.CALIBRATION)


def test_session_parameters_are_used_or_refused(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("a-token\n")
    locked = qlab.devices.load_device("sc20")
    import dataclasses

    locked = dataclasses.replace(locked, id="locked", requires_token=True)
    with Session(store=":memory:", mqt=False, devices=[locked], auth_file=credentials) as session:
        assert session.auth_file == str(credentials) and session.has_credentials
        session.device("locked").create_job()
    with pytest.raises(InvalidArgument, match=re.escape(f"Session parameter auth_file {str(tmp_path / 'missing')!r} cannot be read: ")):
        Session(store=":memory:", mqt=False, auth_file=tmp_path / "missing")
    for name in ("auth_url", "project_id", "custom3"):
        with pytest.raises(InvalidArgument, match=re.escape(f"Session parameter {name} is used only by MQT Core's QDMI driver")):
            Session(store=":memory:", mqt=False, **{name: "x"})
    with pytest.raises(InvalidArgument, match=re.escape("Session parameter project_id must be a str, got int.")):
        Session(store=":memory:", mqt=False, project_id=5)


def test_a_valid_program_the_engine_cannot_run_is_refused_when_set():
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; measure q[0] -> c[0]; if (c==1) measure q[1] -> c[1];'
    with Session(store=":memory:", mqt=False) as session:
        job = session.device("ideal").create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
        with pytest.raises(NotSupported, match=re.escape("a conditional measurement is not supported; condition the gates around it instead.")):
            job.set_parameter(JobParameter.PROGRAM, program)
        with pytest.raises(NotSupported, match="more than the 14 that can be simulated"):
            session.device("sc20").run("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[20]; " + " ".join(f"x q[{i}];" for i in range(20)))
