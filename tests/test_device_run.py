"""Devices that run circuits: device.run, Job.result, simulate(device=...), short job ids, the job table."""

import re

import numpy as np
import pandas as pd
import pytest

import qlab
from qlab.devices import load_device
from qlab.qdmi import InvalidArgument, JobParameter, JobStatus, NotFound, NotSupported, ProgramFormat, Session
from qlab.sim import Result

BELL = qlab.Circuit(2).h(0).cx(0, 1).measure_all()
BELL2 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;'


@pytest.fixture
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


@pytest.mark.parametrize("device_id", ["ideal", "training5", "sc20", "ion12"])
def test_run_gives_the_result_simulate_gives_for_the_fitted_noisy_circuit(session, device_id):
    device = session.device(device_id)
    job = device.run(BELL, shots=2000, seed=11)
    result = job.result(timeout=60)
    assert isinstance(result, Result)
    # independent of the job path: fit by hand, noise from the description
    description = load_device(device_id)
    expected = qlab.simulate(qlab.devices.fit_circuit(BELL, description), description.noise_model())
    assert result.probabilities == pytest.approx(expected.probabilities)
    assert sum(result.counts.values()) == 2000 and set(result.counts) <= set(expected.probabilities)
    assert list(result.df().columns) == ["outcome", "probability", "counts"]
    from matplotlib.figure import Figure

    ax = Figure().subplots()  # no pyplot figure is left behind
    assert result.plot(ax=ax) is ax and len(ax.patches) == len(result.probabilities)
    record = session.store.get(job.id)
    assert (record.family, record.device, record.status.value, record.parameters["shots"]) == ("qdmi", device_id, "done", 2000)


def test_simulate_on_a_device_is_the_device_run(session):
    device = session.device("training5")
    on_device = qlab.simulate(BELL, device=device)
    by_hand = qlab.simulate(device.fit_circuit(BELL), device.noise_model())
    assert on_device.probabilities == by_hand.probabilities
    # the noise is the description's: the noise-free parts are the ideal Bell pair, the rest is not zero
    assert 0.05 < on_device.probabilities["01"] + on_device.probabilities["10"] < 0.3
    assert qlab.simulate(BELL, device=load_device("ideal")).probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    with pytest.raises(qlab.QlabError, match=re.escape("give noise= or device= (which brings its own noise model), not both")):
        qlab.simulate(BELL, qlab.NoiseModel(), device=device)
    with pytest.raises(TypeError, match=re.escape("a device must have fit_circuit(circuit) and noise_model()")):
        qlab.simulate(BELL, device="training5")


def test_simulate_on_a_device_refuses_what_the_device_cannot_run(session):
    with pytest.raises(qlab.QlabError, match=re.escape("sites 0 and 4 are not coupled")):
        qlab.simulate(qlab.Circuit(5).cx(0, 4), device=session.device("training5"))


def test_run_takes_qasm_text_of_either_version_and_a_circuit_as_program(session):
    device = session.device("ideal")
    two = device.run(BELL2, shots=100, seed=1)
    three = device.run(qlab.dump_qasm(BELL, 3) if hasattr(qlab, "dump_qasm") else qlab.circuit.dump_qasm(BELL, 3), shots=100, seed=1)
    assert two.query("programformat") is ProgramFormat.QASM2 and three.query("programformat") is ProgramFormat.QASM3
    assert two.result(60).counts == three.result(60).counts
    job = device.create_job()
    job.set_parameter(JobParameter.PROGRAM, BELL)  # a circuit brings its format
    assert job.query("programformat") is ProgramFormat.QASM3 and job.query("program").startswith("OPENQASM 3.0;")
    with pytest.raises(InvalidArgument, match=re.escape("device.run takes a qlab Circuit or OpenQASM text that starts with 'OPENQASM 2.0;' or 'OPENQASM 3.0;'")):
        device.run("h q[0];")
    unitary = qlab.Circuit(1).unitary(np.eye(2), [0])
    with pytest.raises(NotSupported, match="The circuit cannot be written as OpenQASM 3, so no device can take it"):
        device.run(unitary)


def test_result_of_a_canceled_or_failed_job_says_why(session):
    job = session.device("ideal").create_job()
    with pytest.raises(InvalidArgument, match=re.escape("Cannot read the result of job")):
        job.result()


def test_the_default_session_reaches_catalog_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("QLAB_HOME", str(tmp_path))
    from qlab.jobs import store as store_module
    from qlab.qdmi import session as session_module

    monkeypatch.setattr(store_module, "_default", None)
    monkeypatch.setattr(session_module, "_default", None)
    device = qlab.device("training5")
    assert device.id == "training5" and device.session is qlab.qdmi.default_session()
    named = qlab.Circuit(2, name="bell").h(0).cx(0, 1).measure_all()
    job = device.run(named, shots=50, seed=2, tag="first try")
    job.wait(60)
    table = qlab.jobs.df()
    row = table.set_index("id").loc[job.id]
    assert (row["shots"], row["tag"], row["program"], row["status"]) == (50, "first try", "bell", "done")
    with pytest.raises(NotFound, match="No device 'nope' in this session"):
        qlab.device("nope")
    qlab.qdmi.default_session().close()
    store_module.default_store().close()


def test_short_ids_retrieve_jobs_without_naming_the_device(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with Session(store=path, mqt=False) as first:
        ids = [first.device(d).run(BELL, shots=10, seed=3).id for d in ("ideal", "sc20")]
        for i in ids:
            first.retrieve_job(i).wait(60)
    with Session(store=path, mqt=False) as second:
        job = second.retrieve_job(ids[1][:8])
        assert (job.id, job.device.id, job.check()) == (ids[1], "sc20", JobStatus.DONE)
        assert job.result().counts == second.device("sc20").retrieve_job(ids[1][:6]).result().counts
        with pytest.raises(NotFound, match=re.escape("Job {!r} ran on device 'sc20', not on 'ideal'".format(ids[1]))):
            second.device("ideal").retrieve_job(ids[1][:8])
        with pytest.raises(NotFound, match=re.escape("No job 'zzzz' in JobStore(")):
            second.retrieve_job("zzzz")
        with pytest.raises(InvalidArgument, match=re.escape("A job id must be a non-empty str, got ''.")):
            second.retrieve_job("")
        second.store.add(qlab.jobs.JobRecord.new("qdmi", "ideal", id="abc1"))
        second.store.add(qlab.jobs.JobRecord.new("qdmi", "ideal", id="abc2"))
        with pytest.raises(InvalidArgument, match=re.escape("Job id 'abc' is ambiguous in JobStore(") + ".*" + re.escape("it starts 2 job ids (abc1, abc2); give more characters.")):
            second.retrieve_job("abc")
    with Session(store=path, mqt=False, devices=[]) as third:
        third.store.add(qlab.jobs.JobRecord.new("qdmi", "elsewhere", id="xyz1"))
        with pytest.raises(NotFound, match=re.escape("Job 'xyz1' ran on device 'elsewhere', which this session does not have.")):
            third.retrieve_job("xyz")


def test_a_finished_jobs_card_shows_its_counts_and_utc_times(session):
    job = session.device("ideal").run(qlab.Circuit(1).x(0).measure_all(), shots=7, seed=1, tag="flip")
    job.wait(60)
    card = job._repr_html_()
    assert "<th style='text-align:left'>counts</th><td style='text-align:left'>1: 7</td>" in card
    assert "<th style='text-align:left'>tag</th><td style='text-align:left'>flip</td>" in card
    assert re.search(r"<th style='text-align:left'>done</th><td style='text-align:left'>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", card)


def test_the_job_table_has_shots_program_and_tag(session):
    session.device("ideal").run(BELL2, shots=30, seed=1, tag="bell").wait(60)
    session.store.add(qlab.jobs.JobRecord.new("emulator", "sim", "my_program", "python", {}))
    table = session.store.df()
    assert list(table.columns) == [
        "id", "family", "device", "status", "shots", "program", "tag", "created", "submitted", "queued", "running",
        "finished", "error",
    ]
    assert table["shots"].iloc[0] == 30 and pd.isna(table["shots"].iloc[1])
    assert table["program"].tolist() == ['OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h…', "my_program"]
    assert table["tag"].iloc[0] == "bell" and pd.isna(table["tag"].iloc[1])
    assert str(table["created"].dt.tz) == "UTC"


def test_a_jobs_result_has_the_whole_final_state_like_simulate(session):
    circuit = qlab.Circuit(4, 4).h(0).cx(0, 1).x(3).measure(3, 3)  # qubit 2 untouched, qubit 3 only flipped and measured
    device = session.device("training5")
    result = device.run(circuit, shots=100, seed=1).result(60)
    expected = qlab.simulate(circuit, device=device)
    assert result.state.num_qubits == 4
    np.testing.assert_allclose(result.state.matrix, expected.state.matrix, atol=1e-12)
    np.testing.assert_allclose(result.state_of([1, 0]).matrix, expected.state_of([1, 0]).matrix, atol=1e-12)
    job_id = session.store.list()[-1].id
    assert result.counts == device.retrieve_job(job_id).result().counts == device.retrieve_job(job_id).counts()
    assert sum(result.counts.values()) == 100
