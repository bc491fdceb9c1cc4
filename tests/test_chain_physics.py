"""The built-in chain plugins against independent references: dense QuTiP/NumPy states and chi-square statistics."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from scipy.stats import chisquare

from qlab import Circuit
from qlab.chain import Gate, Measurement, PluginDefinition, Simulation, plugins
from qlab.chain.plugins import STATE, channel_gate, read_state
from qlab.exceptions import ChainPluginError
from qlab.sim import IdleNoise, NoiseModel

pytestmark = pytest.mark.timeout(120)

H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
X = np.array([[0, 1], [1, 0]])
KET0, KET1 = np.array([1, 0]), np.array([0, 1])


def dm(psi) -> np.ndarray:
    psi = np.asarray(psi, dtype=complex)
    return np.outer(psi, psi.conj())


def gates_frontend(send):
    """A frontend that allocates ``args.json["n"]`` qubits, calls ``send(state, refs)`` and keeps the qubits."""

    def run(state, args):
        refs = state.allocate(args.json["n"])
        return send(state, refs) or {}

    return PluginDefinition("frontend", "gates", "tests", "1", run=run)


def circuit_sender(circuit: Circuit):
    def send(state, refs):
        for ins in circuit.instructions:
            state.gate(Gate.library(ins.name, *[refs[q] for q in ins.qubits], params=ins.params))
    return send


def final_state(frontend, *operators, backend, n: int, seed=1) -> np.ndarray:
    with Simulation(frontend, *operators, backend=backend, seed=seed, store=False) as sim:
        sim.start({"n": n})
        sim.wait()
        return read_state(sim.arb(len(operators) + 1, STATE))


def random_circuit(n: int, depth: int, rng) -> Circuit:
    c = Circuit(n)
    for _ in range(depth):
        kind = rng.integers(6)
        a, b = rng.choice(n, 2, replace=False)
        if kind == 0:
            c.h(a)
        elif kind == 1:
            c.rx(rng.uniform(-3, 3), a)
        elif kind == 2:
            c.u3(*rng.uniform(-3, 3, 3), a)
        elif kind == 3:
            c.cx(a, b)
        elif kind == 4:
            c.cz(a, b)
        else:
            c.swap(a, b)
    return c


NOISE = ref.NoiseSpec(gate_errors={
    ("h", None): ref.Depolarizing(0.05),
    ("rx", None): ref.AmplitudeDamping(0.2),
    ("u3", (1,)): ref.PhaseDamping(0.3),
    ("cx", None): ref.Depolarizing(0.08, 2),
    ("cz", None): ref.Depolarizing(0.04),  # a 1-qubit error on each qubit of a 2-qubit gate
})


@pytest.mark.parametrize("seed", range(4))
def test_density_matrix_backend_matches_the_dense_reference(seed):
    circuit = random_circuit(3, 14, np.random.default_rng(seed))
    expected = ref.simulate(circuit, NOISE).state.full()
    model = NOISE.to_noise_model()
    # noise from the operator, ideal backend
    injected = final_state(gates_frontend(circuit_sender(circuit)), plugins.noise_injector(model),
                           backend=plugins.density_matrix_backend(), n=3)
    np.testing.assert_allclose(injected, expected, atol=1e-10)
    # noise in the backend itself
    built_in = final_state(gates_frontend(circuit_sender(circuit)), backend=plugins.density_matrix_backend(model), n=3)
    np.testing.assert_allclose(built_in, expected, atol=1e-10)


def test_controlled_unitary_measurement_basis_and_preparation():
    def send(state, refs):
        a, b, c, d = refs
        state.gate(Gate.unitary([a], H))
        state.gate(Gate.unitary([b], X, controls=[a]))  # Bell pair on a, b
        state.gate(Gate.prepare(c, basis=H))  # |+>
        state.gate(Gate.measure(c, basis=H))  # measuring |+> in the X basis: outcome 0, state unchanged
        state.gate(Gate.library("x", d))
        state.gate(channel_gate(plugins_channel(), d))  # amplitude damping 0.3 on |1>
        return {"c": state.get_measurement(c).value}

    with Simulation(gates_frontend(send), backend=plugins.density_matrix_backend(), seed=4, store=False) as sim:
        sim.start({"n": 4})
        assert sim.wait().json == {"c": 0}
        rho = read_state(sim.arb("density_matrix", STATE))
    bell = dm((np.kron(KET0, KET0) + np.kron(KET1, KET1)) / np.sqrt(2))
    plus = dm((KET0 + KET1) / np.sqrt(2))
    damped = np.diag([0.3, 0.7])
    np.testing.assert_allclose(rho, np.kron(np.kron(bell, plus), damped), atol=1e-12)


def plugins_channel():
    from qlab.sim import amplitude_damping

    return amplitude_damping(0.3)


def test_idle_noise_on_advance_and_delay_follows_t1():
    t1, t2, cycle = 50e-6, 60e-6, 1e-6
    model = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(t1, t2))

    def send(state, refs):
        a, b = refs
        state.gate(Gate.library("x", a))
        state.gate(Gate.library("x", b))
        state.advance(20)  # both idle 20 us
        state.gate(Gate.custom("delay", targets=[b], data={"seconds": 30e-6}))  # b idles 30 us more

    with Simulation(gates_frontend(send), backend=plugins.density_matrix_backend(model, cycle_time=cycle),
                    store=False) as sim:
        sim.start({"n": 2})
        sim.wait()
        p = sim.arb("density_matrix", "dm", "probabilities").json["probabilities"]
    p1_a, p1_b = np.exp(-20e-6 / t1), np.exp(-50e-6 / t1)
    expected = [(1 - p1_a) * (1 - p1_b), (1 - p1_a) * p1_b, p1_a * (1 - p1_b), p1_a * p1_b]
    np.testing.assert_allclose(p, expected, atol=1e-10)


def test_noise_injector_idle_noise_matches_the_backends():
    t1, t2 = 40e-6, 30e-6
    model = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(t1, t2))

    def send(state, refs):
        state.gate(Gate.library("h", refs[0]))
        state.advance(10)

    injected = final_state(gates_frontend(send), plugins.noise_injector(model, cycle_time=1e-6),
                           backend=plugins.density_matrix_backend(), n=1)
    expected = (ref.ThermalRelaxation(t1, t2, 10e-6).kraus(), dm((KET0 + KET1) / np.sqrt(2)))
    rho = sum(k.full() @ expected[1] @ k.full().conj().T for k in expected[0])
    np.testing.assert_allclose(injected, rho, atol=1e-10)


def test_qubit_remapper_moves_gates_and_brings_measurements_back():
    def send(state, refs):
        state.gate(Gate.library("x", refs[0]))
        state.measure(refs[0])
        return {"first": state.get_measurement(refs[0]).value}

    with Simulation(gates_frontend(send), plugins.qubit_remapper({1: 2, 2: 1}), backend=plugins.density_matrix_backend(),
                    store=False) as sim:
        sim.start({"n": 2})
        assert sim.wait().json == {"first": 1}
        rho = read_state(sim.arb("density_matrix", STATE))
    np.testing.assert_allclose(rho, dm(np.kron(KET0, KET1)), atol=1e-12)  # the backend flipped its second qubit

    bad = Simulation(gates_frontend(send), plugins.qubit_remapper({1: 5}), backend=plugins.null_backend(), store=False)
    with pytest.raises(ChainPluginError, match="qubit 1 maps to 5, which is not allocated with it"):
        bad.run({"n": 2})


def test_bell_counts_are_fair_chi_square():
    counts = Simulation(plugins.circuit_frontend(Circuit(2).h(0).cx(0, 1).measure_all(), shots=600),
                        backend=plugins.density_matrix_backend(), seed=17, store=False).run().json["counts"]
    assert set(counts) == {"00", "11"}
    assert chisquare([counts["00"], counts["11"]], [300, 300]).pvalue > 1e-3


def test_readout_flip_statistics_chi_square():
    p01, p10, shots = 0.2, 0.05, 4000
    # a backend that reads 0 on the first qubit of every shot and 1 on the second (refs 1, 2; 3, 4; ...)
    fixed = PluginDefinition("backend", "fixed", "tests", "1",
                             gate=lambda state, gate: [Measurement(q, 1 - q % 2) for q in gate.measures])
    counts = Simulation(plugins.circuit_frontend(Circuit(2).measure_all(), shots=shots), plugins.readout_flip(p01, p10),
                        backend=fixed, seed=5, store=False).run().json["counts"]
    expected = {"01": (1 - p01) * (1 - p10), "11": p01 * (1 - p10), "00": (1 - p01) * p10, "10": p01 * p10}
    keys = sorted(expected)
    assert chisquare([counts.get(k, 0) for k in keys], [shots * expected[k] for k in keys]).pvalue > 1e-3


def test_circuit_frontend_feed_forward_from_a_qasm_file(tmp_path):
    path = tmp_path / "copy.qasm"
    path.write_text(
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg a[1]; creg b[1];\n'
        "h q[0]; measure q[0] -> a[0]; if (a == 1) x q[1]; reset q[0]; measure q[1] -> b[0];\n"
    )
    sim = Simulation(plugins.circuit_frontend(path, shots=400), plugins.gate_counter(),
                     backend=plugins.density_matrix_backend(), seed=8, store=False)
    with sim:
        counts = sim.run().json["counts"]
    assert set(counts) == {"0 0", "1 1"}
    assert chisquare([counts["0 0"], counts["1 1"]]).pvalue > 1e-3


def test_gate_counter_counts_by_name():
    sim = Simulation(plugins.circuit_frontend(Circuit(2).h(0).cx(0, 1).h(1).reset(0).measure_all(), shots=3),
                     plugins.gate_counter(), backend=plugins.null_backend(), store=False)
    with sim:
        sim.start()
        memory = sim.wait().json["memory"]
        assert sim.arb("counter", "counter", "counts").json == {"h": 6, "cx": 3, "prepare": 3, "measure": 6}
        sim.arb("counter", "counter", "reset")
        assert sim.arb("counter", "counter", "counts").json == {}
    assert memory == ["00"] * 3  # the null backend reads 0
