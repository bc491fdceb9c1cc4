"""The QDMI job interface: parameters, lifecycle, queue, results, persistence and every error path."""

import dataclasses
import re
import threading
import time

import numpy as np
import pytest

from qlab.devices import load_device
from qlab.exceptions import SimulationStopped
from qlab.jobs import JobStore
from qlab.qdmi import (
    BadState,
    DeviceProperty,
    DeviceStatus,
    InvalidArgument,
    JobParameter,
    JobProperty,
    JobResult,
    JobStatus,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProgramFormat,
    Session,
    Timeout,
)
from qlab.qdmi.job import DEFAULT_SHOTS

BELL2 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;'
BELL3 = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;'


@pytest.fixture
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


def configured(device, program=BELL2, fmt=ProgramFormat.QASM2, shots=None, seed=None):
    job = device.create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, fmt)
    job.set_parameter(JobParameter.PROGRAM, program)
    if shots is not None:
        job.set_parameter(JobParameter.SHOTSNUM, shots)
    if seed is not None:
        job.set_parameter(JobParameter.SEED, seed)
    return job


def run(device, **kwargs):
    job = configured(device, **kwargs)
    job.submit()
    assert job.wait(timeout=60) is JobStatus.DONE
    return job


class Hold:
    """Makes a device's jobs wait inside its runner until released (set before the first submit)."""

    def __init__(self, device):
        self.started = threading.Event()
        self.release = threading.Event()
        inner = device._run

        def held(record):
            self.started.set()
            assert self.release.wait(30)
            return inner(record)

        device._run = held


# -------------------------------------------------------------- lifecycle
def test_bell_job_from_created_to_done(session):
    dev = session.device("ideal")
    job = configured(dev, shots=1000, seed=3)
    assert job.check() is JobStatus.CREATED and job.record is None and list(job.timestamps) == ["created"]
    assert job.submit() is None
    assert job.wait() is JobStatus.DONE and job.check() is JobStatus.DONE
    times = job.timestamps
    assert list(times) == ["created", "submitted", "queued", "running", "done"]
    assert times["created"] <= times["submitted"] <= times["queued"] <= times["running"] <= times["done"]
    record = session.store.get(job.id)
    assert (record.family, record.device, record.program, record.program_format) == ("qdmi", "ideal", BELL2, "qasm2")
    assert record.parameters == {"shots": 1000, "seed": 3, "route": True, "optimization_level": 2}
    assert record.status.value == "done"
    shots = job.get_results(JobResult.SHOTS).split(",")
    assert len(shots) == 1000 and set(shots) == {"00", "11"}
    counts = job.counts()
    assert sorted(counts) == ["00", "11"] and sum(counts.values()) == 1000
    assert job.get_results(JobResult.HIST_KEYS) == "00,11"
    assert job.get_results(JobResult.HIST_VALUES).tolist() == [counts["00"], counts["11"]]
    assert job.get_results(JobResult.PROBABILITIES_DENSE).tolist() == pytest.approx([0.5, 0, 0, 0.5])
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "00,11"
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_VALUES).tolist() == pytest.approx([0.5, 0.5])
    psi = job.get_results(JobResult.STATEVECTOR_DENSE)
    assert psi == pytest.approx(np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert job.get_results(JobResult.STATEVECTOR_SPARSE_KEYS) == "00,11"
    assert job.get_results(JobResult.STATEVECTOR_SPARSE_VALUES) == pytest.approx([2**-0.5, 2**-0.5])
    rho = job.get_results(JobResult.DENSITY_MATRIX)
    assert rho.purity() == pytest.approx(1.0) and rho.matrix[0, 3] == pytest.approx(0.5)
    assert job.qubits == (0, 1)
    assert job.query(JobProperty.ID) == job.id and job.query(JobProperty.SHOTSNUM) == 1000
    assert job.query(JobProperty.PROGRAMFORMAT) is ProgramFormat.QASM2 and job.query(JobProperty.PROGRAM) == BELL2
    assert job.query(JobProperty.CUSTOM1) == 3
    assert repr(job) == f"<Job {job.id!r} on 'ideal': DONE>"
    assert "<th style='text-align:left'>running</th>" in job._repr_html_() and "DONE" in job._repr_html_()


def test_qasm3_default_shots_and_seeds(session):
    dev = session.device("training5")
    job = run(dev, program=BELL3, fmt="qasm3")
    assert sum(job.counts().values()) == DEFAULT_SHOTS
    a, b, c = (run(dev, shots=200, seed=s).get_results(JobResult.SHOTS) for s in (5, 5, 6))
    assert a == b != c


def test_set_parameter_rules(session):
    dev = session.device("ideal")
    job = dev.create_job()
    assert job.set_parameter(JobParameter.SHOTSNUM) is None and job.query(JobProperty.SHOTSNUM) == DEFAULT_SHOTS
    job.set_parameter("seed")
    with pytest.raises(NotSupported, match=re.escape("<JobParameter.CUSTOM4: 999999998> is not a parameter of device 'ideal'; its jobs take PROGRAMFORMAT, PROGRAM, SHOTSNUM, SEED (CUSTOM1), ROUTE (CUSTOM2) and OPTIMIZATIONLEVEL (CUSTOM3).")):
        job.set_parameter(JobParameter.CUSTOM4)
    with pytest.raises(BadState, match=re.escape("before its PROGRAMFORMAT: a program is checked against its format, so set JobParameter.PROGRAMFORMAT first.")):
        job.set_parameter(JobParameter.PROGRAM, BELL2)
    with pytest.raises(BadState, match=re.escape("Job ") + ".*" + re.escape("has no PROGRAMFORMAT yet; set it with set_parameter.")):
        job.query(JobProperty.PROGRAMFORMAT)
    with pytest.raises(BadState, match=re.escape("set JobParameter.PROGRAMFORMAT and JobParameter.PROGRAM first.")):
        job.submit()
    job.set_parameter(JobParameter.PROGRAMFORMAT, "QASM3")
    job.set_parameter(JobParameter.PROGRAM, BELL3)
    with pytest.raises(InvalidArgument, match=re.escape("The program declares OPENQASM 3 but the program format is QASM2")):
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    assert job.query(JobProperty.PROGRAMFORMAT) is ProgramFormat.QASM3
    job.submit()
    with pytest.raises(BadState, match=re.escape(f"Cannot set SHOTSNUM on job {job.id!r}: it was submitted; parameters are fixed then.")):
        job.set_parameter(JobParameter.SHOTSNUM, 10)
    job.set_parameter(JobParameter.SHOTSNUM)
    with pytest.raises(BadState, match=re.escape(f"Cannot submit job {job.id!r} again: it was submitted; create a new job.")):
        job.submit()
    job.wait()


def test_qir_and_other_formats_are_not_supported(session):
    job = session.device("sc20").create_job()
    for fmt in (ProgramFormat.QIRBASESTRING, ProgramFormat.QIRADAPTIVEMODULE, "qpy"):
        with pytest.raises(NotSupported, match=re.escape(f"Device 'sc20' does not take {ProgramFormat(fmt).name} programs; it takes QASM2, QASM3.")):
            job.set_parameter(JobParameter.PROGRAMFORMAT, fmt)


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("garbage", "Invalid QASM2 program: Cannot read OpenQASM: the text does not start with an 'OPENQASM 2.0;' or 'OPENQASM 3.0;' line"),
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; foo q[0];', "Invalid QASM2 program: Cannot read OpenQASM at line 1 ('foo q[0];'): Unsupported / undeclared QASM operation: foo"),
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h r[0];', "Invalid QASM2 program: Cannot read OpenQASM at line 1 ('h r[0];'): Missing qubit register declaration for 'r'"),
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; measure q -> d;', "Missing register declaration for 'd' in measurement operation"),
        ("", "Invalid QASM2 program: Cannot read OpenQASM: the text is empty."),
    ],
)
def test_invalid_programs_raise_when_set(session, program, message):
    job = session.device("training5").create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        job.set_parameter(JobParameter.PROGRAM, program)
    with pytest.raises(BadState, match="has no PROGRAM yet"):
        job.query(JobProperty.PROGRAM)


@pytest.mark.parametrize(
    ("shots", "error", "message"),
    [
        (-5, InvalidArgument, "JobParameter.SHOTSNUM must be at least 1, got -5."),
        (0, InvalidArgument, "JobParameter.SHOTSNUM must be at least 1, got 0."),
        (2.5, InvalidArgument, "JobParameter.SHOTSNUM must be an int, got 2.5 (float)."),
        ("100", InvalidArgument, "JobParameter.SHOTSNUM must be an int, got '100' (str)."),
        (True, InvalidArgument, "JobParameter.SHOTSNUM must be an int, got True (bool)."),
        (10**12, NotSupported, "JobParameter.SHOTSNUM is at most 10,000,000 per job (its SHOTS result lists every shot), got 1,000,000,000,000."),
    ],
)
def test_bad_shot_counts(session, shots, error, message):
    job = session.device("ideal").create_job()
    with pytest.raises(error, match=re.escape(message)):
        job.set_parameter(JobParameter.SHOTSNUM, shots)
    assert job.query(JobProperty.SHOTSNUM) == DEFAULT_SHOTS


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (JobParameter.PROGRAM, 42, "JobParameter.PROGRAM must be the program text (a str) or a qlab Circuit, got 42 (int)."),
        (JobParameter.PROGRAM, BELL2.encode(), "JobParameter.PROGRAM must be the program text (a str) or a qlab Circuit, got b'OPENQASM"),
        (JobParameter.PROGRAMFORMAT, 2.5, "JobParameter.PROGRAMFORMAT must be a ProgramFormat (or its name or number), got 2.5 (float)."),
        (JobParameter.SEED, "seven", "JobParameter.SEED must be an int, got 'seven' (str)."),
        (JobParameter.SEED, -1, "JobParameter.SEED must be in 0..2**63-1, got -1."),
    ],
)
def test_values_of_the_wrong_type(session, param, value, message):
    job = session.device("ideal").create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm2")
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        job.set_parameter(param, value)


def test_unknown_parameter_and_result_kinds(session):
    job = run(session.device("ideal"))
    with pytest.raises(InvalidArgument, match=re.escape("Unknown JobParameter 'colour'")):
        job.set_parameter("colour", 1)
    with pytest.raises(InvalidArgument, match=re.escape("Unknown JobResult 42")):
        job.get_results(42)
    with pytest.raises(NotSupported, match=re.escape("<JobResult.CUSTOM3: 999999997> has no meaning here; jobs give SHOTS, HIST_KEYS")):
        job.get_results(JobResult.CUSTOM3)
    with pytest.raises(NotSupported, match=re.escape("<JobProperty.CUSTOM4: 999999998> has no meaning for qlab jobs.")):
        job.query(JobProperty.CUSTOM4)
    with pytest.raises(InvalidArgument, match=re.escape("wait(timeout=...) takes None or a non-negative number of seconds, got -1.")):
        job.wait(timeout=-1)


# ------------------------------------------------------- queue and cancel
def test_queue_order_position_cancel_and_results_before_done(session):
    dev = session.device("ideal")
    hold = Hold(dev)
    first, second, third = (configured(dev) for _ in range(3))
    first.submit()
    assert hold.started.wait(30)
    second.submit()
    third.submit()
    assert first.check() is JobStatus.RUNNING and second.check() is JobStatus.QUEUED
    assert second.query(JobProperty.QUEUEPOSITION) == 0 and third.query(JobProperty.QUEUEPOSITION) == 1
    assert dev.queue_length == 2 and dev.status is DeviceStatus.BUSY
    with pytest.raises(BadState, match=re.escape("is RUNNING, not QUEUED; only queued jobs have a position.")):
        first.query(JobProperty.QUEUEPOSITION)
    with pytest.raises(InvalidArgument, match=re.escape(f"Cannot read SHOTS of job {second.id!r}: it is QUEUED; wait() for it first. Results exist once a job is DONE.")):
        second.get_results(JobResult.SHOTS)
    with pytest.raises(Timeout, match=re.escape(f"Job {first.id!r} did not finish within 0.05 s (it is RUNNING); wait longer or cancel it.")):
        first.wait(timeout=0.05)
    second.cancel()
    assert second.check() is JobStatus.CANCELED and dev.queue_length == 1
    first.cancel()
    assert first.check() is JobStatus.CANCELED
    hold.release.set()
    assert third.wait(30) is JobStatus.DONE and first.wait(30) is JobStatus.CANCELED
    assert first.check() is JobStatus.CANCELED and dev.status is DeviceStatus.IDLE
    assert set(session.store.get(first.id).timestamps) == {"created", "submitted", "queued", "running", "canceled"}
    for job in (first, second):
        with pytest.raises(InvalidArgument, match=re.escape(f"Cannot read HIST_KEYS of job {job.id!r}: it was canceled, so it has no results. Results exist once a job is DONE.")):
            job.get_results(JobResult.HIST_KEYS)
        with pytest.raises(InvalidArgument, match=re.escape(f"Cannot cancel job {job.id!r}: it already finished (CANCELED)")):
            job.cancel()
    with pytest.raises(InvalidArgument, match=re.escape(f"Cannot cancel job {third.id!r}: it already finished (DONE); only submitted, queued or running jobs can be canceled.")):
        third.cancel()


def test_cancel_and_wait_before_submission(session):
    job = configured(session.device("ideal"))
    with pytest.raises(BadState, match=re.escape(f"Cannot cancel job {job.id!r}: it has not been submitted (free it instead).")):
        job.cancel()
    with pytest.raises(BadState, match=re.escape(f"Cannot wait for job {job.id!r}: it has not been submitted.")):
        job.wait()


def test_closing_the_session_cancels_waiting_jobs():
    s = Session(store=JobStore(":memory:"), mqt=False)
    dev = s.device("ideal")
    hold = Hold(dev)
    first, second = configured(dev), configured(dev)
    first.submit()
    assert hold.started.wait(30)
    second.submit()
    hold.release.set()
    s.close()
    assert s.store.get(second.id).status.value == "canceled" and s.store.get(second.id).error == "queue shut down"
    assert s.store.get(first.id).status.value == "done"


# ------------------------------------------------------------------- free
def test_free(session):
    job = run(session.device("ideal"))
    job.free()
    message = re.escape(f"Job {job.id!r} was freed and cannot be used any more; create a new one with device.create_job().")
    for use in (job.check, job.submit, job.wait, job.cancel, lambda: job.get_results(JobResult.SHOTS),
                lambda: job.set_parameter(JobParameter.SHOTSNUM, 5), lambda: job.query(JobProperty.ID)):
        with pytest.raises(BadState, match=message):
            use()
    with pytest.raises(BadState, match=re.escape(f"Job {job.id!r} was already freed; free a job once.")):
        job.free()
    assert repr(job).endswith(": freed>") and "freed" in job._repr_html_()
    assert session.store.get(job.id).status.value == "done"


def test_submitting_after_free(session):
    job = configured(session.device("training5"))
    job.free()
    with pytest.raises(BadState, match=re.escape(f"Job {job.id!r} was freed and cannot be used any more")):
        job.submit()
    assert session.store.list() == []


# ---------------------------------------------------------------- results
def test_mixed_states_have_no_state_vector(session):
    job = run(session.device("training5"), seed=1)
    with pytest.raises(NotSupported, match=r"The final state is mixed \(purity 0\.[89]\d+\), so it has no state vector; read JobResult\.DENSITY_MATRIX instead"):
        job.get_results(JobResult.STATEVECTOR_DENSE)
    rho = job.get_results(JobResult.DENSITY_MATRIX)
    assert 0.8 < rho.purity() < 1 and rho.trace() == pytest.approx(1)
    assert job.get_results(JobResult.PROBABILITIES_DENSE).sum() == pytest.approx(1)


def test_big_states_are_not_kept(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[10]; creg c[10]; ' + " ".join(f"h q[{i}];" for i in range(10)) + " measure q -> c;"
    job = run(session.device("ideal"), program=program, shots=10)
    assert len(job.get_results(JobResult.PROBABILITIES_DENSE)) == 1024
    with pytest.raises(NotSupported, match=re.escape("The program has 10 qubits; DENSITY_MATRIX is given for programs of up to 8 qubits. Read the state of some of them with job.result().state_of(qubits)")):
        job.get_results(JobResult.DENSITY_MATRIX)
    with pytest.raises(NotSupported, match=re.escape("The program has 10 qubits; the state vector is given for programs of up to 8 qubits")):
        job.get_results(JobResult.STATEVECTOR_SPARSE_KEYS)
    with pytest.raises(NotSupported, match=re.escape("The job simulated 10 qubits together; their final state is kept for up to 8 simulated qubits")):
        job.result().state_of([0])


def test_keys_put_bit_zero_first_and_registers_in_order(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg a[2]; creg b[1]; x q[0]; x q[2]; measure q[0] -> a[0]; measure q[1] -> a[1]; measure q[2] -> b[0];'
    job = run(session.device("ideal"), program=program, shots=5)
    assert job.counts() == {"101": 5}
    assert job.get_results(JobResult.PROBABILITIES_DENSE).argmax() == 0b101


def test_programs_without_measurements_or_gates(session):
    job = run(session.device("ideal"), program='OPENQASM 2.0; qreg q[1]; creg c[1];', shots=3)
    assert job.counts() == {"0": 3} and job.qubits == (0,)
    assert job.get_results(JobResult.PROBABILITIES_DENSE).tolist() == [1.0, 0.0]


# ------------------------------------------------------------ permission
def test_devices_may_require_a_token():
    locked = dataclasses.replace(load_device("training5"), id="locked", requires_token=True)
    with Session(store=":memory:", mqt=False, devices=[locked]) as s:
        with pytest.raises(PermissionDenied, match=re.escape("Device 'locked' requires a session token: open the session with Session(token=...)")):
            s.device("locked").create_job()
        s.device("training5").create_job()
    with Session(token="abc", store=":memory:", mqt=False, devices=[locked]) as s:
        assert run(s.device("locked"), shots=10).check() is JobStatus.DONE
    with Session(username="ada", password="pw", store=":memory:", mqt=False, devices=[locked]) as s:
        s.device("locked").create_job()


def test_retrieving_a_job_on_a_locked_device_needs_the_token(tmp_path):
    locked = dataclasses.replace(load_device("training5"), id="locked", requires_token=True)
    path = tmp_path / "jobs.sqlite"
    with Session(token="abc", store=path, mqt=False, devices=[locked]) as s:
        job_id = run(s.device("locked"), shots=10).id
    with Session(store=path, mqt=False, devices=[locked]) as s:
        with pytest.raises(PermissionDenied, match="requires a session token"):
            s.device("locked").retrieve_job(job_id)
    with Session(token="abc", store=path, mqt=False, devices=[locked]) as s:
        assert s.device("locked").retrieve_job(job_id).check() is JobStatus.DONE


def test_offline_devices_refuse_submission():
    offline = dataclasses.replace(load_device("training5"), id="resting", status="offline")
    with Session(store=":memory:", mqt=False, devices=[offline]) as s:
        job = configured(s.device("resting"))
        with pytest.raises(BadState, match=re.escape(f"Cannot submit job {job.id!r}: device 'resting' is OFFLINE.")):
            job.submit()


# ----------------------------------------------------------- persistence
def test_jobs_survive_the_session(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with Session(store=path, mqt=False) as s:
        job = run(s.device("sc20"), shots=300, seed=9)
        counts, job_id = job.counts(), job.id
    with Session(store=path, mqt=False) as s:
        again = s.device("sc20").retrieve_job(job_id)
        assert again.check() is JobStatus.DONE and again.wait() is JobStatus.DONE and again.counts() == counts
        assert again.query(JobProperty.PROGRAMFORMAT) is ProgramFormat.QASM2 and again.query(JobProperty.SHOTSNUM) == 300
        with pytest.raises(BadState, match="it was submitted"):
            again.submit()
        with pytest.raises(BadState, match="it was submitted; parameters are fixed then"):
            again.set_parameter(JobParameter.SHOTSNUM, 5)
        with pytest.raises(NotFound, match=re.escape(f"Job {job_id!r} ran on device 'sc20', not on 'ideal'.")):
            s.device("ideal").retrieve_job(job_id)
        with pytest.raises(NotFound, match=re.escape("No job 'nope' in JobStore(")):
            s.device("sc20").retrieve_job("nope")


def test_retrieved_running_job_is_waited_for_through_the_store(session):
    dev = session.device("ideal")
    hold = Hold(dev)
    job = configured(dev)
    job.submit()
    assert hold.started.wait(30)
    with Session(store=session.store, mqt=False) as other:
        twin = other.device("ideal").retrieve_job(job.id)
        assert twin.check() is JobStatus.RUNNING
        with pytest.raises(Timeout, match="did not finish within 0.05 s"):
            twin.wait(0.05)
        hold.release.set()
        assert twin.wait(30) is JobStatus.DONE
        assert job.wait(30) is JobStatus.DONE and twin.counts() == job.counts()


def test_workers_are_set_before_the_first_job(session):
    dev = session.device("training5")
    with pytest.raises(InvalidArgument, match=re.escape("workers must be an int >= 1, got 0.")):
        dev.workers = 0
    dev.workers = 3
    together = threading.Barrier(3, timeout=30)
    inner = dev._run

    def run_together(record):
        together.wait()
        return inner(record)

    dev._run = run_together
    jobs = [configured(dev, shots=10) for _ in range(3)]
    for job in jobs:
        job.submit()
    assert all(job.wait(30) is JobStatus.DONE for job in jobs)
    with pytest.raises(BadState, match=re.escape("Device 'training5' already runs jobs with 3 worker(s); set workers before its first job")):
        dev.workers = 1


def test_a_huge_register_is_refused_when_the_program_is_set(session):
    job = session.device("ideal").create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    with pytest.raises(NotSupported, match=re.escape("cannot run on this device: Cannot read OpenQASM at line 1: the program declares 1000000000 qubits, more than max_qubits=12 allowed here")):
        job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1000000000];')


def test_measuring_a_whole_large_register_runs_on_the_device(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[20]; creg c[20]; h q[0]; cx q[0], q[1]; measure q -> c;'
    job = run(session.device("sc20"), program=program, shots=200, seed=3)
    assert job.qubits == tuple(range(20))
    assert all(len(key) == 20 for key in job.counts()) and sum(job.counts().values()) == 200
    p = job.result().probabilities
    description = load_device("sc20")
    for k in range(2, 20):  # untouched qubits read 1 only through their readout error
        assert sum(v for key, v in p.items() if key[k] == "1") == pytest.approx(1 - description.sites[k].readout_fidelity, abs=1e-9)
    # the first two bits are the noisy Bell pair of a circuit without the 18 spectators
    small = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;'
    pair = run(session.device("sc20"), program=small, shots=10, seed=3).result().probabilities
    for bits, value in pair.items():
        assert sum(v for key, v in p.items() if key[:2] == bits) == pytest.approx(value, abs=1e-9)
    assert pair["00"] + pair["11"] > 0.9


def test_qubits_only_measured_appear_in_the_density_matrix(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg c[3]; x q[2]; measure q -> c;'
    job = run(session.device("ideal"), program=program, shots=5)
    rho = job.get_results(JobResult.DENSITY_MATRIX)
    expected = np.zeros((8, 8))
    expected[0b001, 0b001] = 1  # qubit 0 is the most significant factor: |001>
    np.testing.assert_allclose(rho.matrix, expected, atol=1e-12)
    assert job.get_results(JobResult.PROBABILITIES_DENSE).argmax() == 0b001


def test_a_program_with_an_unpaired_surrogate_is_refused(session):
    job = session.device("ideal").create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM3)
    with pytest.raises(InvalidArgument, match=r"must be valid Unicode text; character 28 is an unpaired surrogate"):
        job.set_parameter(JobParameter.PROGRAM, "OPENQASM 3.0; qubit q; x q; \ud800")


def test_a_very_long_wait_is_allowed():
    with Session(store=":memory:", mqt=False) as fresh:
        device = fresh.device("ideal")
        hold = Hold(device)
        job = configured(device, shots=3)
        job.submit()
        assert hold.started.wait(30)
        threading.Timer(0.2, hold.release.set).start()
        assert job.wait(1e10) is JobStatus.DONE  # still running when the wait starts


def test_the_status_query_reports_busy_while_jobs_wait(session):
    device = session.device("ideal")
    hold = Hold(device)
    job = configured(device)
    job.submit()
    hold.started.wait(timeout=30)
    assert device.query(DeviceProperty.STATUS) is DeviceStatus.BUSY and device.status is DeviceStatus.BUSY
    hold.release.set()
    job.wait(timeout=60)


def test_cancelling_a_running_simulation_stops_it():
    with Session(store=":memory:", mqt=False) as fresh:
        device = fresh.device("ideal")
        stopped = threading.Event()
        inner = device._run

        def watched(record):
            try:
                return inner(record)
            except SimulationStopped:
                stopped.set()
                raise

        device._run = watched  # before the first submit, so the device's queue runs it
        chain = " ".join(f"cx q[{i % 11}], q[{i % 11 + 1}];" for i in range(600))  # overlapping pairs: no fusion
        program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[12]; ' + chain
        job = configured(device, program=program)
        job.submit()
        deadline = time.monotonic() + 60
        while job.check() is not JobStatus.RUNNING:
            assert time.monotonic() < deadline, "the job never started"
            threading.Event().wait(0.005)
        job.cancel()
        assert stopped.wait(60), "the running simulation did not stop"
        assert job.wait(timeout=60) is JobStatus.CANCELED
        assert run(device, shots=5).check() is JobStatus.DONE


def test_workers_for_an_unknown_device_are_refused():
    with pytest.raises(InvalidArgument, match="workers names device 'idael', which this session does not have"):
        Session(store=":memory:", mqt=False, workers={"idael": 4})
