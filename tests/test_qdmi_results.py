"""QDMI results of simulated jobs: the state of all the program's qubits, and shots kept as counts."""

import collections
import re

import numpy as np
import pytest

from qlab.jobs import JobRecord, JobStore
from qlab.jobs.serialize import encode_results
from qlab.qdmi import JobParameter, JobResult, JobStatus, NotSupported, Session
from qlab.qdmi.results import result_value, to_result

PLUS = np.full((2, 2), 0.5)
ZERO = np.diag([1.0, 0.0])


@pytest.fixture
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


def run(session, program, shots=100, seed=None, device="ideal"):
    job = session.device(device).create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm2")
    job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; ' + program)
    job.set_parameter(JobParameter.SHOTSNUM, shots)
    if seed is not None:
        job.set_parameter(JobParameter.SEED, seed)
    job.submit()
    assert job.wait(timeout=120) is JobStatus.DONE
    return job


def test_the_density_matrix_covers_every_qubit_of_the_program(session):
    job = run(session, "qreg q[5]; creg c[5]; h q[0]; measure q -> c;")
    expected = PLUS
    for _ in range(4):
        expected = np.kron(expected, ZERO)  # qubit 0 is the leftmost factor
    rho = job.get_results(JobResult.DENSITY_MATRIX)
    assert rho.matrix.shape == (32, 32)
    np.testing.assert_allclose(rho.matrix, expected, atol=1e-12)
    np.testing.assert_allclose(job.result().state.matrix, expected, atol=1e-12)
    assert job.qubits == (0, 1, 2, 3, 4)
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "00000,10000"
    p = job.get_results(JobResult.PROBABILITIES_DENSE)
    np.testing.assert_allclose(p, np.diag(expected), atol=1e-12)
    psi = job.get_results(JobResult.STATEVECTOR_DENSE)
    np.testing.assert_allclose(psi, np.kron([1, 1], np.eye(16)[0]) / np.sqrt(2), atol=1e-9)


def test_untouched_qubits_between_touched_ones_are_in_zero(session):
    job = run(session, "qreg q[3]; creg c[1]; x q[2]; measure q[2] -> c[0];")
    expected = np.zeros((8, 8))
    expected[0b001, 0b001] = 1
    np.testing.assert_allclose(job.get_results(JobResult.DENSITY_MATRIX).matrix, expected, atol=1e-12)
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "001"


def test_beyond_the_limit_the_density_matrix_points_to_state_of(session):
    job = run(session, "qreg q[10]; creg c[1]; h q[3]; measure q[3] -> c[0];")
    with pytest.raises(NotSupported, match=re.escape(
            "The program has 10 qubits; DENSITY_MATRIX is given for programs of up to 8 qubits. Read the state of "
            "some of them with job.result().state_of(qubits), for example job.result().state_of([0, 1]).")):
        job.get_results(JobResult.DENSITY_MATRIX)
    result = job.result()
    np.testing.assert_allclose(result.state_of([3, 0]).matrix, np.kron(PLUS, ZERO), atol=1e-12)
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "0000000000,0001000000"


def test_a_million_shots_are_stored_as_counts(session):
    job = run(session, "qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;", shots=10**6, seed=11)
    text, blob = encode_results(job.record.results, job.id)
    assert len(text) + len(blob or b"") < 10_000  # a million indices would be megabytes
    assert "shots" not in job.record.results
    hist = dict(zip(job.get_results(JobResult.HIST_KEYS).split(","), job.get_results(JobResult.HIST_VALUES).tolist()))
    assert set(hist) == {"00", "11"} and sum(hist.values()) == 10**6
    assert abs(hist["00"] - 500_000) < 5 * np.sqrt(10**6 * 0.25)  # binomial, five sigma
    shots = job.get_results(JobResult.SHOTS).split(",")
    assert len(shots) == 10**6 and collections.Counter(shots) == hist
    assert job.get_results(JobResult.SHOTS) == ",".join(shots)  # the same list every time
    assert job.result().memory == shots and job.result().counts == hist


def test_shots_are_reproducible_from_the_seed(session):
    program = "qreg q[3]; creg c[3]; h q[0]; h q[1]; h q[2]; measure q -> c;"
    first, second = (run(session, program, shots=200, seed=5) for _ in range(2))
    assert first.get_results(JobResult.SHOTS) == second.get_results(JobResult.SHOTS)
    assert first.counts() == second.counts()
    unseeded = run(session, program, shots=200)
    assert unseeded.get_results(JobResult.SHOTS) == unseeded.get_results(JobResult.SHOTS)


def test_records_with_one_index_per_shot_still_read(tmp_path):
    """The results layout before counts: per-shot indices, and a state of the simulated qubits only."""
    results = {"keys": ["00", "11"], "shots": np.array([0, 1, 1, 0, 1], dtype=np.uint32), "qubits": [0, 1],
               "probability_keys": ["00", "11"], "probability_values": np.array([0.5, 0.5]),
               "density_matrix": np.full((4, 4), 0.0) + np.outer([1, 0, 0, 1], [1, 0, 0, 1]) / 2}
    with JobStore(tmp_path / "jobs.sqlite") as store:
        record = JobRecord.new("qdmi", "ideal", "OPENQASM 2.0;", "qasm2", {"shots": 5, "seed": None})
        store.add(record)
        store.finish(record.id, results)
        stored = store.get(record.id).results
    assert result_value(stored, JobResult.SHOTS) == "00,11,11,00,11"
    assert result_value(stored, JobResult.HIST_VALUES).tolist() == [2, 3]
    assert result_value(stored, JobResult.DENSITY_MATRIX).matrix[0, 3] == pytest.approx(0.5)
    result = to_result(None, stored, 5, None, 0.0)
    assert result.counts == {"00": 2, "11": 3} and sorted(result.memory) == ["00", "00", "11", "11", "11"]
