"""QDMI sessions whose simulated devices run their jobs on an executor: a Dask cluster or a thread pool."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest

import qlab
from qlab.jobs import JobStatus
from qlab.qdmi import InvalidArgument, ProgramLimits, Session
from qlab.qdmi import JobStatus as QdmiJobStatus
from qlab.qdmi.cluster import SimulationRunner

pytest.importorskip("distributed")

BELL = qlab.Circuit(2).h(0).cx(0, 1).measure_all()
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


def test_jobs_run_on_a_dask_worker_process_and_match_a_local_run(client):
    with Session(store=":memory:", mqt=False, executor=client) as remote, Session(store=":memory:", mqt=False) as local:
        far = remote.device("training5").run(BELL, shots=500, seed=11)
        near = local.device("training5").run(BELL, shots=500, seed=11)
        far_result, near_result = far.result(timeout=TIMEOUT), near.result(timeout=TIMEOUT)
        assert far.check() is QdmiJobStatus.DONE
        assert far_result.counts == near_result.counts
        assert far_result.probabilities == pytest.approx(near_result.probabilities, abs=1e-12)
        ideal = remote.device("ideal").run(BELL, shots=100, seed=1).result(timeout=TIMEOUT)
        assert ideal.probabilities == pytest.approx({"00": 0.5, "11": 0.5}, abs=1e-12)
        assert remote.store.get(far.id).status is JobStatus.DONE
        assert {r.id for r in remote.store.list()} >= {far.id}


def test_a_thread_pool_executor_runs_every_job_of_a_batch():
    with ThreadPoolExecutor(2) as pool, Session(store=":memory:", mqt=False, executor=pool) as session:
        device = session.device("ideal")
        jobs = [device.run(qlab.Circuit(3).x(i).measure_all(), shots=20, seed=i) for i in range(3)]
        counts = [job.result(timeout=TIMEOUT).counts for job in jobs]
    assert counts == [{"100": 20}, {"010": 20}, {"001": 20}]


def test_what_travels_is_data():
    runner = SimulationRunner.for_device(qlab.devices.load_device("training5"), ProgramLimits())
    copy = pickle.loads(pickle.dumps(runner))
    assert copy == runner and isinstance(copy.description_json, str)


def test_new_limits_reach_the_runner_of_a_running_queue():
    with ThreadPoolExecutor(1) as pool, Session(store=":memory:", mqt=False, executor=pool) as session:
        device = session.device("ideal")
        device.run(BELL, shots=1, seed=1).result(timeout=TIMEOUT)
        device.limits = ProgramLimits(max_statements=7)
        assert device._job_queue().runner.limits.max_statements == 7


def test_an_executor_without_submit_is_refused():
    with pytest.raises(InvalidArgument, match=r"Session executor must have submit\(\) .*got int"):
        Session(store=":memory:", mqt=False, executor=3)
