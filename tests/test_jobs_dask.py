"""Job queues that run their jobs on a Dask cluster."""

from __future__ import annotations

import time

import numpy as np
import pytest

from qlab.jobs import JobQueue, JobRecord, JobStatus, JobStore

pytest.importorskip("distributed")

TIMEOUT = 60.0
"""Seconds any test waits for a job at most (only reached when something is broken)."""


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


@pytest.fixture
def store():
    with JobStore(":memory:") as opened:
        yield opened


def _record(**parameters) -> JobRecord:
    return JobRecord.new("compiler", "ideal", "OPENQASM 3.0;", "qasm3", parameters)


def _wait_for(condition, what: str):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_jobs_run_on_the_cluster_and_their_results_come_back(client, store):
    import os

    def runner(record):
        n = record.parameters["n"]
        if n == 3:
            raise ValueError(f"bad n {n}")
        return {"n": n, "pid": os.getpid(), "state": np.full((2, 2), n * 1j)}

    with JobQueue(runner, store, executor=client) as queue:
        assert len(queue._threads) == 2
        records = [_record(n=n) for n in range(5)]
        for record in records:
            queue.submit(record)
        finished = [queue.wait(r.id, timeout=TIMEOUT) for r in records]
    assert [r.status for r in finished] == [JobStatus.DONE] * 3 + [JobStatus.FAILED, JobStatus.DONE]
    assert finished[3].error == "ValueError: bad n 3"
    for n in (0, 1, 2, 4):
        assert finished[n].results["n"] == n and finished[n].results["pid"] != os.getpid()
        assert finished[n].results["state"].dtype == np.complex128
        np.testing.assert_array_equal(finished[n].results["state"], np.full((2, 2), n * 1j))
        assert list(finished[n].timestamps) == ["created", "submitted", "queued", "running", "done"]


def test_cancel_running_and_queued_jobs_on_the_cluster(client, store):
    def runner(record):
        time.sleep(record.parameters["sleep"])
        return {"slept": record.parameters["sleep"]}

    with JobQueue(runner, store, executor=client, workers=1) as queue:
        running, queued, last = _record(sleep=600.0), _record(sleep=0.0), _record(sleep=0.0)
        for record in (running, queued, last):
            queue.submit(record)
        _wait_for(lambda: store.get(running.id).status is JobStatus.RUNNING and running.id in queue._futures, "a job on the cluster")
        assert queue.position(queued.id) == 0
        assert queue.cancel(queued.id) is True
        assert queue.cancel(running.id) is True
        assert queue.wait(running.id, timeout=0).status is JobStatus.CANCELED
        done = queue.wait(last.id, timeout=TIMEOUT)
        assert (done.status, done.results) == (JobStatus.DONE, {"slept": 0.0})
        assert queue.cancel(last.id) is False
    for record in (running, queued):
        got = store.get(record.id)
        assert (got.status, got.results) == (JobStatus.CANCELED, None)
    assert "running" not in store.get(queued.id).timestamps
