"""device.run routes programs that do not fit a device as written: physics against the dense reference,
program-order results, the job's routing record, the opt-out, bad options, and the entry-point hook."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import qlab
from qlab.devices import load_device
from qlab.devices import routing as core_routing
from qlab.devices.routing import Placement, RouteOptions, find_router, place
from qlab.exceptions import DeviceProgramError, QlabTypeError, RoutingError
from qlab.qdmi import InvalidArgument, JobParameter, JobProperty, JobStatus, NotSupported, Session

import reference

SC20 = load_device("sc20")
QUIET_SC20 = dataclasses.replace(
    SC20, id="sc20-quiet", name="sc20 without noise",
    sites=tuple(dataclasses.replace(s, t1=None, t2=None, readout_fidelity=1.0) for s in SC20.sites),
    operations=tuple(dataclasses.replace(op, fidelities=None) for op in SC20.operations),
)
"""The sc20 lattice (sites 0-19, 4 rows of 5, nearest neighbours coupled) with no noise at all."""

# Sites 0 and 4 are four steps apart on sc20's first row; 0-3, 1-4 and 0-2 are not coupled either.
GHZ5 = qlab.Circuit(5).h(0).cx(0, 4).cx(4, 2).cx(0, 3).cx(2, 1).measure_all()


def random_circuit(n: int, layers: int, seed: int) -> qlab.Circuit:
    """Random rotations and CX gates on random pairs (most of them uncoupled on sc20)."""
    rng = np.random.default_rng(seed)
    circuit = qlab.Circuit(n)
    for _ in range(layers):
        for q in range(n):
            circuit.u3(*rng.uniform(0, 2 * np.pi, 3), q)
        a, b = rng.choice(n, 2, replace=False)
        circuit.cx(int(a), int(b))
    return circuit.measure_all()


@pytest.fixture
def session():
    with Session(store=":memory:", mqt=False, devices=[QUIET_SC20]) as s:
        yield s


def _reference_probabilities(circuit: qlab.Circuit) -> dict[str, float]:
    return {k: v for k, v in reference.simulate(circuit).probabilities.items() if v > 1e-12}


# ----------------------------------------------------------------- physics
@pytest.mark.parametrize("level", [0, 2, 3])
def test_ghz_on_far_sites_gives_the_ideal_distribution_and_state(session, level):
    job = session.device("sc20-quiet").run(GHZ5, shots=4000, seed=3, optimization_level=level)
    result = job.result(timeout=120)
    assert job.routing is not None and job.routing.level == level
    assert result.probabilities == pytest.approx({"00000": 0.5, "11111": 0.5}, abs=1e-9)
    assert set(result.counts) == {"00000", "11111"} and sum(result.counts.values()) == 4000
    ghz = np.zeros(32, dtype=complex)
    ghz[[0, 31]] = 2**-0.5
    assert result.qubits == tuple(range(5))
    assert result.state.matrix == pytest.approx(np.outer(ghz, ghz.conj()), abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_circuit_matches_the_dense_reference_in_program_order(session, seed):
    circuit = random_circuit(6, 8, seed)
    expected = reference.simulate(circuit)
    result = session.device("sc20-quiet").run(circuit, shots=100, seed=1).result(timeout=120)
    assert {k: v for k, v in result.probabilities.items() if v > 1e-12} == pytest.approx(
        _reference_probabilities(circuit), abs=1e-9)
    assert result.state.matrix == pytest.approx(expected.state.full(), abs=1e-8)
    assert result.state_of([0, 5]).matrix == pytest.approx(expected.state.ptrace([0, 5]).full(), abs=1e-8)


def test_the_qdmi_state_results_name_the_program_qubits(session):
    from qlab.qdmi import JobResult

    circuit = qlab.Circuit(5).x(4).h(0).cx(0, 3)  # |+> entangled with site 3, qubit 4 flipped, no measurement
    job = session.device("sc20-quiet").run(circuit, shots=10, seed=1)
    job.wait(120)
    expected = reference.simulate(circuit)
    dense = job.get_results(JobResult.PROBABILITIES_DENSE)
    assert dense == pytest.approx(np.real(np.diag(expected.state.full())), abs=1e-9)
    assert job.get_results(JobResult.STATEVECTOR_DENSE) == pytest.approx(
        np.linalg.eigh(expected.state.full())[1][:, -1] * np.sign(np.linalg.eigh(expected.state.full())[1][1, -1]),
        abs=1e-8)
    assert job.qubits == (0, 1, 2, 3, 4)


def test_mid_circuit_measurement_and_feed_forward_survive_routing(session):
    # Teleport ry(0.7)|0> from qubit 0 to qubit 4 (not coupled to 0 or 1 on sc20), corrections by feed-forward.
    circuit = qlab.Circuit(5, 3).ry(0.7, 0).h(1).cx(1, 4).cx(0, 1).h(0).measure(0, 0).measure(1, 1)
    circuit.x(4).c_if(1, 1)
    circuit.z(4).c_if(0, 1)
    circuit.measure(4, 2)
    result = session.device("sc20-quiet").run(circuit, shots=10, seed=1).result(timeout=120)
    p_one = sum(p for key, p in result.probabilities.items() if key[2] == "1")
    assert p_one == pytest.approx(np.sin(0.35) ** 2, abs=1e-9)


def test_classical_registers_keep_their_bits_through_routing(session):
    circuit = qlab.Circuit(5)
    circuit.add_creg("a", 1)
    circuit.add_creg("b", 2)
    circuit.h(0).cx(0, 4).cx(0, 3).x(2).measure(0, 0).measure(4, 1).measure(2, 2)
    result = session.device("sc20-quiet").run(circuit, shots=200, seed=1).result(timeout=120)
    assert result.probabilities == pytest.approx({"0 01": 0.5, "1 11": 0.5}, abs=1e-9)
    assert set(result.register_counts("b")) == {"01", "11"}


def test_routed_on_the_noisy_lattice_keeps_most_weight_on_ghz(session):
    job = session.device("sc20").run(GHZ5, shots=2000, seed=5)
    result = job.result(timeout=120)
    # the routed circuit fits as written, so simulate(device=) runs it without a job: the same distribution
    direct = qlab.simulate(job.routing.circuit, device=SC20)
    assert result.probabilities == pytest.approx(direct.probabilities, abs=1e-12)
    assert result.probabilities["00000"] + result.probabilities["11111"] > 0.8
    assert result.probabilities["00000"] + result.probabilities["11111"] < 1 - 1e-3  # the device's noise is there


def test_a_program_that_fits_runs_as_written(session):
    bell = qlab.Circuit(2).h(0).cx(0, 1).measure_all()
    job = session.device("sc20").run(bell, shots=100, seed=1)
    job.wait(60)
    assert job.routing is None and "routing" not in job.record.parameters
    expected = qlab.simulate(qlab.devices.fit_circuit(bell, SC20), SC20.noise_model())
    assert job.result().probabilities == pytest.approx(expected.probabilities)


def test_a_gate_the_device_does_not_take_is_rewritten_when_it_does_not_unroll():
    strict = dataclasses.replace(QUIET_SC20, id="sc20-strict", unroll=False)
    circuit = qlab.Circuit(3).h(0).cx(0, 1).ry(0.3, 2).cx(1, 2).measure_all()  # coupled sites, foreign gates
    with Session(store=":memory:", mqt=False, devices=[strict]) as s:
        device = s.device("sc20-strict")
        with pytest.raises(NotSupported, match="it runs its native operations only"):
            device.run(circuit, route=False)
        result = device.run(circuit, shots=10, seed=1).result(timeout=120)
    assert result.probabilities == pytest.approx(_reference_probabilities(circuit), abs=1e-9)


# ------------------------------------------------------- what the job says
def test_the_job_records_its_routing(session, tmp_path):
    store = tmp_path / "jobs.db"
    with Session(store=store, mqt=False) as s:
        job = s.device("sc20").run(GHZ5, shots=100, seed=1, tag="ghz")
        job.wait(120)
        routing = job.routing
        record = s.store.get(job.id)
    assert isinstance(routing, Placement) and routing.routed
    assert "routed at level" in routing._repr_html_() and "<svg" in routing._repr_html_()
    assert "<script" not in routing._repr_html_()
    assert record.parameters["route"] is True and record.parameters["optimization_level"] == 2
    stored = record.parameters["routing"]
    assert stored["initial_layout"] == list(routing.initial_layout)
    assert stored["final_layout"] == list(routing.final_layout) and len(stored["final_layout"]) == 5
    assert stored["cx_before"] == 4 and stored["cx_after"] >= 4 and stored["level"] == 2
    compiled = qlab.load_qasm(stored["circuit"])
    assert compiled.num_qubits == 20 and {ins.name for ins in compiled} <= SC20.native_gates | {"barrier"}
    assert all(SC20.is_coupled(*ins.qubits) for ins in compiled if len(ins.qubits) == 2)
    # a new session on the same store reads the routing back
    with Session(store=store, mqt=False) as s:
        again = s.retrieve_job(job.id)
        assert again.routing.final_layout == routing.final_layout
        assert again.routing.circuit.count_ops() == routing.circuit.count_ops()
        html = again._repr_html_()
    assert "routed at level 2" in html and f"two-qubit gates 4 → {stored['cx_after']}" in html


def test_routing_is_deterministic(session):
    device = session.device("sc20")
    first, second = device.run(GHZ5, shots=500, seed=9), device.run(GHZ5, shots=500, seed=9)
    assert first.routing.summary() == second.routing.summary()
    assert first.result(timeout=120).counts == second.result(timeout=120).counts
    with Session(store=":memory:", mqt=False) as other:  # another session, a fresh routing
        assert other.device("sc20").run(GHZ5, shots=1).routing.summary() == first.routing.summary()


def test_qdmi_jobs_route_and_take_route_parameters(session):
    device = session.device("sc20-quiet")
    job = device.create_job()
    assert job.query(JobProperty.CUSTOM2) is True and job.query(JobProperty.CUSTOM3) == 2
    job.set_parameter("programformat", "qasm2")
    job.set_parameter("program", 'OPENQASM 2.0; include "qelib1.inc"; qreg q[5]; creg c[2]; h q[0]; cx q[0], q[4]; '
                                 'measure q[0] -> c[0]; measure q[4] -> c[1];')
    assert job.routing is not None  # known before submission
    with pytest.raises(NotSupported, match="sites 0 and 4 are not coupled"):
        job.set_parameter(JobParameter.ROUTE, False)  # the program set would no longer run
    assert job.query(JobProperty.CUSTOM2) is True  # a refused change changes nothing
    job.set_parameter(JobParameter.OPTIMIZATIONLEVEL, 1)
    job.set_parameter(JobParameter.SHOTSNUM, 200)
    job.submit()
    assert job.wait(120) is JobStatus.DONE
    assert job.result().probabilities == pytest.approx({"00": 0.5, "11": 0.5}, abs=1e-9)
    assert job.routing.level == 1 and job.record.parameters["optimization_level"] == 1


def test_the_executor_path_routes_the_same_way():
    with ThreadPoolExecutor(2) as pool, Session(store=":memory:", mqt=False, executor=pool, devices=[QUIET_SC20]) as s:
        result = s.device("sc20-quiet").run(GHZ5, shots=300, seed=2).result(timeout=120)
    with Session(store=":memory:", mqt=False, devices=[QUIET_SC20]) as s:
        here = s.device("sc20-quiet").run(GHZ5, shots=300, seed=2).result(timeout=120)
    assert result.counts == here.counts
    assert result.probabilities == pytest.approx({"00000": 0.5, "11111": 0.5}, abs=1e-9)


def test_a_dask_worker_routes_with_the_router_its_installation_registers(dask_client):
    with Session(store=":memory:", mqt=False, executor=dask_client, devices=[QUIET_SC20]) as s:
        job = s.device("sc20-quiet").run(GHZ5, shots=300, seed=2)
        result = job.result(timeout=120)
    assert job.routing is not None
    assert result.probabilities == pytest.approx({"00000": 0.5, "11111": 0.5}, abs=1e-9)
    assert result.state.matrix[0, 31] == pytest.approx(0.5, abs=1e-9)


def test_mqt_superconducting_devices_route_too():
    pytest.importorskip("mqt.core")
    with Session(store=":memory:", mqt=True) as s:
        garnet = s.device("mqt.sc.iqm.garnet")
        assert garnet.routes
        far = [(a, b) for a in range(6) for b in range(a + 1, 6) if (a, b) not in garnet.coupling_map
               and (b, a) not in garnet.coupling_map][0]
        circuit = qlab.Circuit(6, 2).h(far[0]).cx(*far).measure(far[0], 0).measure(far[1], 1)
        with pytest.raises(NotSupported, match="are not coupled"):
            garnet.run(circuit, route=False)
        job = garnet.run(circuit, shots=500, seed=4)
        result = job.result(timeout=120)
        assert job.routing is not None
    assert result.probabilities["00"] + result.probabilities["11"] > 0.8
    with Session(store=":memory:", mqt=True) as s:
        ddsim = s.device("mqt.ddsim.default")
        assert not ddsim.routes
        with pytest.raises(NotSupported, match="is not a parameter of device 'mqt.ddsim.default'"):
            ddsim.run(circuit, route=False)


def test_in_process_routing_starts_no_cluster():
    code = (
        "import sys, qlab\n"
        "from qlab.qdmi import Session\n"
        "with Session(store=':memory:', mqt=False) as s:\n"
        "    job = s.device('sc20').run(qlab.Circuit(5).h(0).cx(0, 4).measure_all(), shots=10, seed=1)\n"
        "    job.wait(120)\n"
        "    assert job.routing is not None\n"
        "import distributed\n"
        "try:\n"
        "    distributed.get_client()\n"
        "except ValueError:\n"
        "    print('no client')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no client"


# ----------------------------------------------------- opt-out, bad input
def test_route_false_keeps_the_clear_error(session):
    with pytest.raises(
        NotSupported,
        match=re.escape(
            "Cannot run 'cx' on qubits (0, 4) of device 'sc20': sites 0 and 4 are not coupled (site 0 couples to 1, 5; "
            "site 4 to 3, 9). Program qubit i runs on site i when routing is off: run it with route=True "
            "(device.run's default), or compile it first with qlab.compiler.compile_for(device, circuit)."
        ),
    ):
        session.device("sc20").run(GHZ5, route=False)


def test_more_qubits_than_the_device_is_still_refused(session):
    with pytest.raises(NotSupported, match="declares 21 qubits, more than max_qubits=20"):
        session.device("sc20").run(qlab.Circuit(21).h(0).cx(0, 20).measure_all())
    with pytest.raises(DeviceProgramError, match="declares 21 qubits, but device 'sc20' has 20 sites"):
        place(qlab.Circuit(21).cx(0, 20), SC20)


def test_routing_that_needs_more_sites_than_the_device_simulates_says_both_reasons(session):
    rng = np.random.default_rng(0)
    circuit = qlab.Circuit(14)
    for _ in range(40):
        a, b = rng.choice(14, 2, replace=False)
        circuit.cx(int(a), int(b))
    with pytest.raises(NotSupported, match=re.escape(
            "Device 'sc20' cannot run the program as written (Cannot run 'cx' on qubits (11, 8) of device 'sc20': "
            "sites 11 and 8 are not coupled (site 11 couples to 6, 10, 12, 16; site 8 to 3, 7, 9, 13).) and routing "
            "it at level 2 failed: Cannot run the program on device 'sc20': it acts on ") + r"1[5-9] qubits, "
            + re.escape("more than the 14 that can be simulated")):
        session.device("sc20").run(circuit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"route": "yes"}, "route must be True or False, got 'yes' (str)."),
        ({"route": 1}, "route must be True or False, got 1 (int)."),
        ({"route": None}, "route must be True or False, got None (NoneType)."),
        ({"optimization_level": 4}, "Unknown routing optimization level 4; allowed: 0, 1, 2, 3"),
        ({"optimization_level": -1}, "Unknown routing optimization level -1; allowed: 0, 1, 2, 3"),
        ({"optimization_level": 2.0}, "optimization level must be an int in 0..3, got 2.0 (float)."),
        ({"optimization_level": True}, "optimization level must be an int in 0..3, got True (bool)."),
    ],
)
def test_bad_routing_options_are_refused_before_anything_runs(session, kwargs, message):
    before = len(session.store.list())
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        session.device("sc20").run(GHZ5, **kwargs)
    assert len(session.store.list()) == before


def test_bad_routing_parameters_on_a_job(session):
    job = session.device("sc20").create_job()
    with pytest.raises(InvalidArgument, match=re.escape("route must be True or False, got 'off' (str).")):
        job.set_parameter(JobParameter.ROUTE, "off")
    with pytest.raises(InvalidArgument, match="Unknown routing optimization level 7"):
        job.set_parameter("optimization_level", 7)
    assert job.query(JobProperty.CUSTOM3) == 2
    assert session.device("sc20").run(GHZ5, shots=10, route=np.bool_(True), optimization_level=np.int64(1)).wait(120) \
        is JobStatus.DONE


def test_route_options_check_their_values():
    with pytest.raises(QlabTypeError, match="route must be True or False"):
        RouteOptions(enabled="yes")
    with pytest.raises(RoutingError, match="allowed: 0, 1, 2, 3"):
        RouteOptions(level=9)
    assert RouteOptions.from_parameters(RouteOptions(False, 3).parameters()) == RouteOptions(False, 3)


# ------------------------------------------------------------- the hook
def test_the_router_comes_from_the_entry_point_group():
    from importlib.metadata import entry_points

    from qlab.compiler.routing import route_for_device

    names = {ep.name: ep.value for ep in entry_points(group=core_routing.ROUTER_GROUP)}
    assert names["default"] == "qlab.compiler.routing:route_for_device"
    assert find_router() is route_for_device


def test_without_a_router_routing_says_how_to_get_one(monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    find_router.cache_clear()
    try:
        with pytest.raises(RoutingError, match=r"No router 'default' is installed in the entry-point group 'qlab.routers' "
                                               r"\(installed: none\).*or run the program with route=False"):
            place(GHZ5, SC20)
        assert place(qlab.Circuit(2).cx(0, 1), SC20).routed is False  # fitting programs need no router
    finally:
        find_router.cache_clear()


def test_a_router_that_fails_or_returns_nonsense_is_reported(monkeypatch):
    def failing(circuit, device, *, level, seed):
        raise qlab.QlabError("no path")

    monkeypatch.setattr(core_routing, "find_router", lambda name="default": failing)
    with pytest.raises(RoutingError, match=r"cannot run the program as written \(Cannot run 'cx'.*\) and routing it at "
                                           r"level 2 failed: no path"):
        place(GHZ5, SC20)
    monkeypatch.setattr(core_routing, "find_router", lambda name="default": lambda *a, **k: "a circuit")
    with pytest.raises(RoutingError, match="returned str, not a qlab.devices.routing.Placement"):
        place(GHZ5, SC20)


def _imported_modules(path: Path, root: Path) -> list[str]:
    """The absolute names of the modules a qlab source file imports (relative imports resolved)."""
    package = list(path.relative_to(root.parent).with_suffix("").parts)
    package = package[:-1]  # a module's package, or for __init__ the package itself
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names.append(".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_the_core_never_imports_the_compiler():
    """circuit < sim < devices < jobs never name a family; qdmi (a family) does not import the compiler either."""
    root = Path(qlab.__file__).parent
    families = ("qdmi", "qpu", "emulator", "compiler", "chain", "lab")
    for package, banned in [("circuit", families), ("sim", families), ("devices", families), ("jobs", families),
                            ("qdmi", ("compiler",))]:
        for path in (root / package).rglob("*.py"):
            for name in _imported_modules(path, root):
                assert not any(name == f"qlab.{b}" or name.startswith(f"qlab.{b}.") for b in banned), (path, name)
