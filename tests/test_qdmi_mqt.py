"""MQT Core's QDMI devices through qlab: properties, DDSIM jobs in qlab's store, calibration import."""

import re
import subprocess
import sys

import numpy as np

import qlab
import pytest
from mqt.core import qdmi as mqt_qdmi

from qlab.qdmi import (
    BadState,
    DeviceProperty,
    DeviceStatus,
    InvalidArgument,
    JobParameter,
    JobResult,
    JobStatus,
    NotSupported,
    OperationProperty,
    ProgramFormat,
    Session,
    SiteProperty,
)
from qlab.qdmi.mqt import MqtDevice, to_description
from qlab.sim.noise import NoiseModelWarning

BELL2 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;'


@pytest.fixture(scope="module")
def session():
    with Session(store=":memory:", mqt=True) as s:
        yield s


def run(device, program=BELL2, fmt=ProgramFormat.QASM2, shots=500):
    job = device.create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, fmt)
    job.set_parameter(JobParameter.PROGRAM, program)
    job.set_parameter(JobParameter.SHOTSNUM, shots)
    job.submit()
    job.wait(60)
    return job


def test_the_session_lists_what_mqt_core_offers(session):
    mqt_ids = mqt_qdmi.device_ids()
    assert {"mqt.ddsim.default", "mqt.sc.iqm.garnet", "mqt.sc.ibm.heron"} <= set(mqt_ids)
    assert session.device_ids[4:] == mqt_ids
    assert all(isinstance(session.device(i), MqtDevice) for i in mqt_ids)
    with Session(store=":memory:", mqt=False) as without:
        assert not any(i.startswith("mqt.") for i in without.device_ids)


def test_enum_values_agree_with_mqt_core():
    for member in mqt_qdmi.ProgramFormat:
        assert ProgramFormat(member.value).name.replace("_", "") == member.name.replace("_", "")
    for member in mqt_qdmi.Job.Status:
        assert JobStatus(member.value).name == member.name
    for member in mqt_qdmi.Device.Status:
        assert DeviceStatus(member.value).name == member.name


def test_ddsim_properties(session):
    dev = session.device("mqt.ddsim.default")
    raw = mqt_qdmi.Session().get_device("mqt.ddsim.default")
    assert dev.name == raw.name() and dev.version == raw.version() and dev.qubits_num == raw.qubits_num() == 65535
    assert dev.status is DeviceStatus.IDLE and dev.query(DeviceProperty.ID) == "mqt.ddsim.default"
    assert dev.supported_program_formats == (
        ProgramFormat.QASM2, ProgramFormat.QASM3, ProgramFormat.QIRBASESTRING, ProgramFormat.QIRADAPTIVESTRING,
    )
    assert dev.coupling_map is None and dev.duration_unit == "ns"
    with pytest.raises(NotSupported, match=re.escape("Device 'mqt.ddsim.default' does not report <DeviceProperty.COUPLINGMAP: 7>.")):
        dev.query(DeviceProperty.COUPLINGMAP)
    assert {"cx", "h", "measure"} <= {op.name for op in dev.operations}
    assert dev.operation("cx").qubits_num == 2 and dev.operation("rx").parameters_num == 1
    assert dev.sites[7].query(SiteProperty.INDEX) == 7 and dev.sites[7].t1 is None
    assert "mqt.ddsim.default" in dev._repr_html_()


def test_garnet_calibration_shows_in_qlab(session):
    dev = session.device("mqt.sc.iqm.garnet")
    raw = mqt_qdmi.Session().get_device("mqt.sc.iqm.garnet")
    assert dev.qubits_num == 20 and dev.duration_unit == "us" and dev.duration_scale_factor == 0.001
    site = dev.sites[0]
    assert site.query(SiteProperty.T1) == raw.sites()[0].t1() and site.name == "QB1"
    assert site.t1 == pytest.approx(raw.sites()[0].t1() * 1e-9)
    assert site.readout_fidelity == raw.operations()[2].fidelity([raw.sites()[0]])
    cz = dev.operation("cz")
    a, b = raw.coupling_map()[0]
    assert cz.query(OperationProperty.FIDELITY, sites=[a.index(), b.index()]) == raw.operations()[1].fidelity([a, b])
    assert len(dev.coupling_map) == 30 and len(cz.sites) == 30 and cz.sites[0][0].index == a.index()
    table = dev.sites.df()
    assert len(table) == 20 and table["t1_us"].between(5, 200).all()
    assert dev.operations.df().set_index("name").loc["cz", "fidelity_min"] > 0.9
    assert dev.supported_program_formats == (ProgramFormat.QASM2, ProgramFormat.QASM3)
    assert dev.engine == "qlab's density-matrix engine, with the calibration MQT Core reports"
    assert dev.df().set_index("property").loc["runs on", "value"] == dev.engine


def test_sc_devices_run_on_qlabs_engine_with_their_calibration(session):
    garnet = session.device("mqt.sc.iqm.garnet")
    job = garnet.run(BELL2, shots=4000, seed=5)
    assert job.check() in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE)
    result = job.result(timeout=60)
    assert set(result.counts) == {"00", "01", "10", "11"} and sum(result.counts.values()) == 4000
    assert result.probabilities["00"] + result.probabilities["11"] > 0.9
    # the same circuit on the same calibration, simulated directly, gives the same exact distribution
    with pytest.warns(NoiseModelWarning, match="idle noise never acts"):  # MQT Core reports no gate durations here
        direct = qlab.simulate(qlab.load_qasm(BELL2), device=garnet)
    assert direct.probabilities == pytest.approx(result.probabilities)
    assert session.store.get(job.id).device == "mqt.sc.iqm.garnet"
    assert garnet.query(DeviceProperty.NEEDSCALIBRATION) == 0
    assert garnet.run(BELL2, shots=10, seed=5).result(60).counts == garnet.run(BELL2, shots=10, seed=5).result(60).counts


def test_bell_on_ddsim_through_qlabs_jobs_and_store(session):
    job = run(session.device("mqt.ddsim.default"))
    assert job.check() is JobStatus.DONE
    assert set(job.counts()) == {"00", "11"} and sum(job.counts().values()) == 500
    record = session.store.get(job.id)
    assert (record.family, record.device, record.program_format, record.status.value) == ("qdmi", "mqt.ddsim.default", "qasm2", "done")
    assert list(job.timestamps) == ["created", "submitted", "queued", "running", "done"]
    assert job.get_results(JobResult.STATEVECTOR_DENSE) == pytest.approx(np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert job.get_results(JobResult.DENSITY_MATRIX).purity() == pytest.approx(1)


def test_ddsim_keys_follow_qlabs_bit_order(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg c[3]; x q[0]; measure q -> c;'
    job = run(session.device("mqt.ddsim.default"), program, shots=10)
    assert job.counts() == {"100": 10}
    assert job.get_results(JobResult.PROBABILITIES_SPARSE_KEYS) == "100"
    assert job.get_results(JobResult.PROBABILITIES_DENSE).argmax() == 0b100
    ours = run(session.device("ideal"), program, shots=10)
    assert ours.counts() == job.counts()
    assert np.allclose(ours.get_results(JobResult.PROBABILITIES_DENSE), job.get_results(JobResult.PROBABILITIES_DENSE))


def test_ddsim_programs_are_checked_by_qlab_and_failures_are_recorded(session):
    dev = session.device("mqt.ddsim.default")
    job = dev.create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    with pytest.raises(InvalidArgument, match=re.escape("Invalid QASM2 program: Cannot read OpenQASM at line 1 ('foo q[0];')")):
        job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; foo q[0];')
    job = dev.create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QIRBASESTRING)
    with pytest.raises(InvalidArgument, match=re.escape("Invalid QIR program: LLVM IR parsing error <string>:1:1: error: expected top-level entity")):
        job.set_parameter(JobParameter.PROGRAM, "this is not QIR")
    with pytest.raises(BadState, match="set JobParameter.PROGRAMFORMAT and JobParameter.PROGRAM first"):
        job.submit()


def test_garnet_calibration_simulated_by_qlab(session):
    garnet = to_description(session.device("mqt.sc.iqm.garnet"))
    assert garnet.id == "qlab.mqt.sc.iqm.garnet" and garnet.native_gates == {"rxy", "cz", "measure"}
    assert all(s.t2 <= 2 * s.t1 for s in garnet.sites)
    assert garnet.sites[0].readout_fidelity == session.device("mqt.sc.iqm.garnet").sites[0].readout_fidelity
    with Session(store=":memory:", mqt=False, devices=[garnet]) as local:
        job = run(local.device("qlab.mqt.sc.iqm.garnet"), shots=2000)
        counts = job.counts()
        assert counts["00"] + counts["11"] > 1700 and len(counts) == 4
    with pytest.raises(NotSupported, match=re.escape("Operation 'gphase' of device 'mqt.ddsim.default' has no counterpart in qlab's gate library.")):
        to_description(session.device("mqt.ddsim.default"))


def test_ddsim_jobs_take_no_seed(session):
    job = session.device("mqt.ddsim.default").create_job()
    with pytest.raises(NotSupported, match=r"is not a parameter of device 'mqt.ddsim.default'; its jobs take PROGRAMFORMAT, PROGRAM and SHOTSNUM\."):
        job.set_parameter(JobParameter.SEED, 7)


def test_ddsim_runs_programs_with_mid_circuit_measurements(session):
    program = (
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
        "h q[0]; measure q[0] -> c[0]; cx q[0], q[1]; measure q[1] -> c[1];"
    )
    job = run(session.device("mqt.ddsim.default"), program, shots=400)
    assert job.check() is JobStatus.DONE
    counts = job.counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400
    with pytest.raises(NotSupported, match=re.escape("This job has no PROBABILITIES_DENSE: the device reports no state for it (a program with mid-circuit measurements gives shots and histograms only).")):
        job.get_results(JobResult.PROBABILITIES_DENSE)
    result = job.result()
    assert result.counts == counts and result.probabilities == {k: v / 400 for k, v in sorted(counts.items())}


def test_no_leak_warnings_at_exit_with_mqt_devices_still_referenced():
    code = (
        "from qlab.qdmi import Session\n"
        "session = Session(store=':memory:', mqt=True)\n"
        "garnet = session.device('mqt.sc.iqm.garnet'); garnet.sites; garnet.operations\n"
        "job = session.device('mqt.ddsim.default').run('OPENQASM 3.0; qubit q; bit c; x q; c = measure q;', shots=3)\n"
        "print(job.result().counts)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'1': 3}"
    assert "leak" not in done.stderr, done.stderr
