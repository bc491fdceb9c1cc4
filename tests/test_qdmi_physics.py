"""The physics of described devices: calibrated gate fidelities, T1, readout, and which qubits are simulated."""

import re

import numpy as np
import pytest

import qlab
from qlab import Circuit
from qlab.circuit.gates import gate_matrix
from qlab.devices import load_device
from qlab.qdmi import InvalidArgument, JobParameter, JobResult, JobStatus, NotSupported, ProgramFormat, Session

PAULIS = {"I": np.eye(2), "X": gate_matrix("x"), "Y": gate_matrix("y"), "Z": gate_matrix("z")}


def one_qubit_design() -> list[np.ndarray]:
    """The six eigenstates of X, Y and Z: a unitary 2-design on one qubit."""
    return [v for p in "XYZ" for v in np.linalg.eigh(PAULIS[p])[1].T]


def two_qubit_design() -> list[np.ndarray]:
    """The 20 states of the five mutually unbiased bases of two qubits: a unitary 2-design."""
    classes = [("ZI", "IZ"), ("XI", "IX"), ("YI", "IY"), ("XZ", "ZY"), ("YZ", "XY")]
    states = []
    for a, b in classes:
        pa, pb = (np.kron(PAULIS[s[0]], PAULIS[s[1]]) for s in (a, b))
        states += list(np.linalg.eigh(pa + 2 * pb)[1].T)
    return states


def preparation(psi: np.ndarray) -> np.ndarray:
    """A unitary whose first column is ``psi``."""
    d = len(psi)
    rng = np.random.default_rng(d)
    basis = np.column_stack([psi, rng.normal(size=(d, d - 1)) + 1j * rng.normal(size=(d, d - 1))])
    q, r = np.linalg.qr(basis)
    return q * (np.diag(r) / abs(np.diag(r)))


def simulated_average_fidelity(device_id: str, name: str, sites: tuple[int, ...], params: tuple[float, ...] = ()) -> float:
    """Average fidelity of the device's noisy gate against the ideal one, from simulated output states."""
    model = load_device(device_id).noise_model()
    u = gate_matrix(name, params)
    design = one_qubit_design() if len(sites) == 1 else two_qubit_design()
    fidelities = []
    for psi in design:
        c = Circuit(max(sites) + 1).unitary(preparation(psi), list(sites), label="prepare")
        c.append(name, sites, params)
        rho = qlab.simulate(c, model).state_of(sites).matrix
        target = u @ psi
        fidelities.append(np.real(target.conj() @ rho @ target))
    return float(np.mean(fidelities))


@pytest.mark.parametrize(
    ("device_id", "name", "sites", "params"),
    [
        ("sc20", "sx", (3,), ()),
        ("training5", "rx", (1,), (0.7,)),
        ("ion12", "rxy", (5,), (1.1, 0.4)),
        ("sc20", "cz", (0, 1), ()),
        ("sc20", "cz", (12, 17), ()),
        ("ion12", "rzz", (2, 7), (0.9,)),
        ("training5", "cx", (3, 2), ()),
    ],
)
def test_simulated_gate_fidelity_matches_the_calibration(device_id, name, sites, params):
    calibrated = load_device(device_id).operation(name).fidelity(sites)
    assert simulated_average_fidelity(device_id, name, sites, params) == pytest.approx(calibrated, abs=1e-9)


@pytest.fixture(scope="module")
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


def run(device, program: str, shots: int = 1000, fmt=ProgramFormat.QASM3):
    job = device.create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, fmt)
    job.set_parameter(JobParameter.PROGRAM, program)
    job.set_parameter(JobParameter.SHOTSNUM, shots)
    job.set_parameter(JobParameter.SEED, 2024)
    job.submit()
    assert job.wait(120) is JobStatus.DONE
    return job


def test_t1_decay_while_idling(session):
    dev = session.device("training5")
    head = 'OPENQASM 3.0; include "stdgates.inc"; qubit[1] q; x q[0];'
    p_now = run(dev, head).get_results(JobResult.PROBABILITIES_DENSE)[1]
    p_later = run(dev, head + " delay[20us] q[0];").get_results(JobResult.PROBABILITIES_DENSE)[1]
    assert p_now > 0.98
    assert p_later / p_now == pytest.approx(np.exp(-20e-6 / dev.sites[0].t1), rel=1e-9)


def test_waiting_qubits_relax_while_others_work(session):
    dev = session.device("training5")
    head = 'OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; x q[0]; reset q[1]; reset q[2]; '

    def excited(program: str) -> float:
        p = run(dev, program).get_results(JobResult.PROBABILITIES_DENSE)
        return p.reshape(2, 2, 2).sum(axis=(1, 2))[1]

    idle = excited(head + "barrier q;")
    busy = excited(head + " cx q[1], q[2];" * 10 + " barrier q;")
    cx_time = 10 * dev.operation("cx").duration([1, 2])
    assert busy / idle == pytest.approx(np.exp(-cx_time / dev.sites[0].t1), rel=1e-9)


def test_readout_errors_show_in_counts(session):
    dev = session.device("training5")
    shots = 20000
    job = run(dev, 'OPENQASM 3.0; qubit[1] q; bit[1] c; c[0] = measure q[0];', shots=shots)
    flips = job.counts().get("1", 0)
    expected = (1 - dev.sites[0].readout_fidelity) * shots
    assert abs(flips - expected) < 5 * np.sqrt(expected)
    assert job.get_results(JobResult.PROBABILITIES_DENSE).tolist() == [1.0, 0.0]


def test_an_8_qubit_program_on_the_20_qubit_device_simulates_8_qubits(session):
    path = [0, 1, 2, 3, 4, 9, 8, 7]
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[20];', 'creg c[8];', 'h q[0];']
    lines += [f"cx q[{a}], q[{b}];" for a, b in zip(path, path[1:])]
    lines += [f"measure q[{q}] -> c[{i}];" for i, q in enumerate(path)]
    job = run(session.device("sc20"), "\n".join(lines), fmt=ProgramFormat.QASM2)
    assert job.result().simulated_qubits == (0, 1, 2, 3, 4, 7, 8, 9) and job.qubits == tuple(range(20))
    p = job.get_results(JobResult.PROBABILITIES_DENSE)
    all_ones = sum(1 << (19 - q) for q in path)  # qubit 0 is the most significant bit
    assert len(p) == 2**20 and 0.85 < p[0] + p[all_ones] < 0.99
    counts = job.counts()
    assert counts.get("00000000", 0) + counts.get("11111111", 0) > 800


def test_too_many_qubits_are_refused_with_the_limit(session):
    program = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[20]; ' + " ".join(f"x q[{i}];" for i in range(16))
    job = session.device("sc20").create_job()
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    with pytest.raises(NotSupported, match=re.escape("Cannot run the program on device 'sc20': it acts on 16 qubits, more than the 14 that can be simulated")):
        job.set_parameter(JobParameter.PROGRAM, program)


def test_unrolled_programs_keep_their_meaning_on_every_device(session):
    program = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; ry(0.8) q[0]; cry(1.3) q[0], q[1]; c = measure q;'
    exact = qlab.simulate(qlab.load_qasm(program)).probabilities
    for device_id, tolerance in (("ideal", 1e-12), ("ion12", 0.02), ("sc20", 0.03), ("training5", 0.2)):
        job = run(session.device(device_id), program)
        state = job.get_results(JobResult.PROBABILITIES_DENSE)
        assert np.abs(state - [exact.get(k, 0) for k in ("00", "01", "10", "11")]).sum() < tolerance, device_id


def test_uncoupled_gate_is_refused_when_set_with_routing_off(session):
    job = session.device("training5").create_job()
    job.set_parameter(JobParameter.ROUTE, False)
    job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
    with pytest.raises(NotSupported, match=re.escape("Cannot run 'cx' on qubits (0, 4) of device 'training5': sites 0 and 4 are not coupled")):
        job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; qreg q[5]; cx q[0], q[4];')
