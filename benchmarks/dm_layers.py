"""Noisy layered circuits: the final density matrix in qlab, Qiskit Aer, Cirq and qutip-qip.

The circuit on ``n`` qubits has 10 layers. A layer is a random U3 on every
qubit followed by CNOTs on (0,1), (2,3), ... in even layers and on (1,2),
(3,4), ... in odd ones. Every U3 is followed by 1-qubit depolarizing noise
with p = 1e-3, every CNOT by 2-qubit depolarizing noise with p = 1e-2
(Qiskit's convention: rho -> (1-p) rho + p I/d). Each simulator computes the
exact final density matrix, without sampling.

All simulators run in this process, one after the other. Each is warmed up
once at n = 4 and once at n = 8 (qlab's and Aer's multithreaded kernels only
start at 7 qubits); then only the simulation call is timed, including building
the final density matrix, not the circuit construction. A case is run
``--repeats`` times and the median is reported, unless its first run took more
than 30 s: then that single run is reported and the simulator is skipped at
the larger sizes. The number of runs is printed next to each time. Every
peer's final state must agree with qlab's to 1e-8 (largest absolute
difference of matrix entries, both with qubit 0 as the most significant bit);
otherwise the script exits with status 1.

Finally qlab runs once more at the largest n in a fresh child process, to
measure its peak memory (RSS) above the baseline after imports and warm-up.

    python benchmarks/dm_layers.py [--sizes 4 6 8 10 11 12] [--repeats 3]
                                   [--peers aer,cirq,qutip] [--markdown]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.metadata
import importlib.util
import itertools
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

LAYERS = 10
P1 = 1e-3
P2 = 1e-2
SEED = 2024
TOLERANCE = 1e-8
BUDGET_S = 30.0
MEMORY_TARGET = 4.0
WARM_UP_SIZES = (4, 8)

Op = tuple[str, tuple[int, ...], tuple[float, ...]]
Run = Callable[[], tuple[np.ndarray, object]]


def layered_ops(n: int) -> list[Op]:
    """The benchmark circuit as ``(gate, qubits, angles)`` triples; angles are seeded by ``n``."""
    rng = np.random.default_rng(SEED + n)
    ops: list[Op] = []
    for layer in range(LAYERS):
        ops += [("u3", (q,), tuple(rng.uniform(0, 2 * np.pi, 3))) for q in range(n)]
        ops += [("cx", (a, a + 1), ()) for a in range(layer % 2, n - 1, 2)]
    return ops


def u3_matrix(theta: float, phi: float, lam: float) -> np.ndarray:
    """OpenQASM's U3 (Qiskit's ``UGate``)."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


def reverse_qubits(matrix: np.ndarray, n: int) -> np.ndarray:
    """Turn a little-endian density matrix (Qiskit) into one with qubit 0 most significant."""
    axes = list(range(n - 1, -1, -1)) + list(range(2 * n - 1, n - 1, -1))
    return matrix.reshape((2,) * (2 * n)).transpose(axes).reshape(2**n, 2**n)


# ------------------------------------------------------------------ simulators
def prepare_qlab(ops: list[Op], n: int) -> Run:
    from qlab import Circuit, NoiseModel, simulate
    from qlab.sim import depolarizing

    circuit = Circuit(n)
    for name, qubits, angles in ops:
        getattr(circuit, name)(*angles, *qubits)
    noise = NoiseModel().with_gate_error("u3", depolarizing(P1)).with_gate_error("cx", depolarizing(P2, 2))
    return lambda: (simulate(circuit, noise).state.matrix, None)


def prepare_aer(ops: list[Op], n: int) -> Run:
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    circuit = QuantumCircuit(n)
    for name, qubits, angles in ops:
        if name == "u3":
            circuit.u(*angles, qubits[0])
        else:
            circuit.cx(*qubits)
    circuit.save_density_matrix()
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(P1, 1), ["u"])
    noise.add_all_qubit_quantum_error(depolarizing_error(P2, 2), ["cx"])
    gates = {inst.operation.name for inst in circuit.data} - {"save_density_matrix"}
    if not gates <= set(noise.noise_instructions) or not gates <= set(noise.basis_gates):
        raise RuntimeError(f"Aer noise model misses some of {sorted(gates)}")
    simulator = AerSimulator(method="density_matrix", noise_model=noise)

    def run():
        result = simulator.run(circuit).result()
        matrix = np.asarray(result.data()["density_matrix"])
        return matrix, result.results[0].metadata["parallel_state_update"]

    return run


def prepare_cirq(ops: list[Op], n: int) -> Run:
    import cirq

    qubits = cirq.LineQubit.range(n)
    circuit = cirq.Circuit()
    for name, targets, angles in ops:
        on = [qubits[t] for t in targets]
        if name == "u3":
            circuit.append([cirq.MatrixGate(u3_matrix(*angles)).on(*on), cirq.depolarize(3 * P1 / 4).on(*on)])
        else:
            circuit.append([cirq.CNOT(*on), cirq.depolarize(15 * P2 / 16, n_qubits=2).on(*on)])
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    return lambda: (simulator.simulate(circuit, qubit_order=qubits).final_density_matrix, None)


def depolarizing_kraus(p: float, k: int) -> list:
    """Kraus operators (QuTiP) of Qiskit's k-qubit depolarizing channel with parameter p."""
    import qutip

    d2 = 4**k
    paulis = [qutip.tensor(*ps) for ps in itertools.product([qutip.qeye(2), qutip.sigmax(), qutip.sigmay(), qutip.sigmaz()], repeat=k)]
    weights = [1 - p * (d2 - 1) / d2] + [p / d2] * (d2 - 1)
    return [np.sqrt(w) * pauli for w, pauli in zip(weights, paulis)]


def prepare_qutip(ops: list[Op], n: int) -> Run:
    import qutip
    from qutip_qip.circuit import QubitCircuit
    from qutip_qip.operations import expand_operator

    circuit = QubitCircuit(n)
    for name, qubits, angles in ops:
        if name == "u3":
            circuit.add_gate("QASMU", targets=[qubits[0]], arg_value=list(angles))
        else:
            circuit.add_gate("CNOT", controls=[qubits[0]], targets=[qubits[1]])
    noise = {1: depolarizing_kraus(P1, 1), 2: depolarizing_kraus(P2, 2)}

    def run():
        rho = qutip.ket2dm(qutip.basis([2] * n, [0] * n)).to("dense")
        for gate in circuit.gates:
            targets = gate.get_all_qubits()
            unitary = gate.get_compact_qobj()
            kraus = [expand_operator(k @ unitary, dims=circuit.dims, targets=targets) for k in noise[len(targets)]]
            evolved = kraus[0] @ rho @ kraus[0].dag()
            for k in kraus[1:]:
                evolved += k @ rho @ k.dag()
            rho = evolved
        return rho.full(), None

    return run


@dataclass(frozen=True)
class Simulator:
    key: str
    label: str
    packages: tuple[str, ...]
    prepare: Callable[[list[Op], int], Run]
    little_endian: bool = False

    def installed(self) -> bool:
        return all(importlib.util.find_spec(p) is not None for p in self.packages)

    def versions(self) -> str:
        names = {"qiskit_aer": "qiskit-aer", "qutip_qip": "qutip-qip", "cirq": "cirq-core"}
        return ", ".join(f"{names.get(p, p)} {importlib.metadata.version(names.get(p, p))}" for p in self.packages)


QLAB = Simulator("qlab", "qlab", ("qlab",), prepare_qlab)
PEERS = {
    "aer": Simulator("aer", "Aer", ("qiskit", "qiskit_aer"), prepare_aer, little_endian=True),
    "cirq": Simulator("cirq", "Cirq", ("cirq",), prepare_cirq),
    "qutip": Simulator("qutip", "QuTiP", ("qutip", "qutip_qip"), prepare_qutip),
}


# ------------------------------------------------------------------ measuring
@dataclass(frozen=True)
class Timing:
    seconds: float
    runs: int

    def __str__(self) -> str:
        return f"{self.seconds:.3g} ({self.runs})"


@dataclass
class Row:
    n: int
    cells: dict[str, Timing | str] = field(default_factory=dict)
    max_diff: float | None = None
    aer_threads: object = None

    def ratio(self) -> str:
        qlab, aer = self.cells.get("qlab"), self.cells.get("aer")
        if isinstance(qlab, Timing) and isinstance(aer, Timing):
            return f"{qlab.seconds / aer.seconds:.2f}"
        return "-"


def warm_up(simulator: Simulator) -> None:
    """Run once at each warm-up size, so that imports and JIT compilation are not timed."""
    for n in WARM_UP_SIZES:
        simulator.prepare(layered_ops(n), n)()


def measure(simulator: Simulator, n: int, repeats: int) -> tuple[Timing, np.ndarray, object]:
    """Time ``simulator`` on the n-qubit circuit; return the timing, its final state (qubit 0 first) and run info."""
    run = simulator.prepare(layered_ops(n), n)
    times = []
    for _ in range(repeats):
        matrix = None  # free the previous run's state before the next one
        start = time.perf_counter()
        matrix, info = run()
        times.append(time.perf_counter() - start)
        if times[0] > BUDGET_S:
            break
    if simulator.little_endian:
        matrix = reverse_qubits(matrix, n)
    return Timing(statistics.median(times), len(times)), matrix, info


def benchmark(sizes: list[int], peers: list[Simulator], repeats: int) -> tuple[list[Row], list[str]]:
    """Run every size; return the rows and a description of every disagreement."""
    ready = [p for p in peers if p.installed()]
    for simulator in [QLAB, *ready]:
        warm_up(simulator)
    too_slow: dict[str, int] = {}
    rows, failures = [], []
    for n in sizes:
        row = Row(n)
        row.cells["qlab"], reference, _ = measure(QLAB, n, repeats)
        progress(f"n={n} qlab {row.cells['qlab']}")
        for peer in peers:
            if not peer.installed():
                row.cells[peer.key] = "not installed"
                continue
            if peer.key in too_slow:
                row.cells[peer.key] = f"skipped (>{BUDGET_S:.0f} s at n={too_slow[peer.key]})"
                continue
            timing, matrix, info = measure(peer, n, repeats)
            diff = float(np.max(np.abs(matrix - reference)))
            progress(f"n={n} {peer.key} {timing} max|diff|={diff:.1e}")
            row.cells[peer.key], row.max_diff = timing, max(row.max_diff or 0.0, diff)
            if peer.key == "aer":
                row.aer_threads = info
            if timing.seconds > BUDGET_S:
                too_slow[peer.key] = n
            if not diff <= TOLERANCE:
                failures.append(f"n={n}: {peer.label} differs from qlab by {diff:.3e} (> {TOLERANCE:g})")
        rows.append(row)
    return rows, failures


def _status_bytes(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` (Linux), in bytes."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def _qlab_peak_child(n: int) -> tuple[int, int, int]:
    warm_up(QLAB)
    run = prepare_qlab(layered_ops(n), n)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    baseline = _status_bytes("VmRSS")
    tracemalloc.start()
    run()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return baseline, _status_bytes("VmHWM"), traced


def qlab_peak_memory(n: int) -> tuple[int, int, int]:
    """Baseline RSS, peak RSS and peak traced allocations (bytes) of a fresh process running qlab once at n qubits."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_qlab_peak_child, n).result()


# ------------------------------------------------------------------ reporting
def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def format_table(rows: list[Row], peers: list[Simulator], markdown: bool) -> str:
    header = ["n", "qlab [s]", *(f"{p.label} [s]" for p in peers), "qlab/Aer", "max abs diff vs qlab"]
    body = [
        [str(r.n), *(str(r.cells[s.key]) for s in [QLAB, *peers]), r.ratio(), "-" if r.max_diff is None else f"{r.max_diff:.1e}"]
        for r in rows
    ]
    if markdown:
        lines = [header, ["---:"] * len(header), *body]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in [header, *body])


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, numpy {np.__version__}"


def report(rows: list[Row], peers: list[Simulator], markdown: bool, memory: tuple[int, int, int, int]) -> None:
    print(f"Machine: {machine()}")
    print("Versions: " + "; ".join(s.versions() for s in [QLAB, *peers] if s.installed()))
    print()
    print(format_table(rows, peers, markdown))
    print()
    print(f"Seconds per run; (k) = runs: the median of k runs, or a single run when the first took more than {BUDGET_S:.0f} s.")
    threads = ", ".join(f"n={r.n}: {r.aer_threads}" for r in rows if r.aer_threads is not None)
    if threads:
        print(f"Aer max_parallel_threads=0 (default: all cores); threads used (parallel_state_update): {threads}.")
    n, baseline, peak, traced = memory
    matrix = 16 * 4**n
    verdict = "met" if peak - baseline < MEMORY_TARGET * matrix else "MISSED"
    print(
        f"qlab peak memory at n={n}: {(peak - baseline) / 1e6:.0f} MB above the {baseline / 1e6:.0f} MB baseline RSS "
        f"= {(peak - baseline) / matrix:.2f} x the density matrix ({matrix / 1e6:.0f} MB); target < {MEMORY_TARGET:g}x {verdict}. "
        f"Peak of traced allocations (tracemalloc): {traced / 1e6:.0f} MB = {traced / matrix:.2f} x."
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 8, 10, 11, 12], help="numbers of qubits")
    parser.add_argument("--repeats", type=_positive, default=3, metavar="K", help="runs per case (the median is reported)")
    parser.add_argument("--peers", default="aer,cirq,qutip", help="comma-separated subset of aer,cirq,qutip (or empty)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    args.peers = [p for p in args.peers.split(",") if p]
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))} (choose from {', '.join(PEERS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    peers = [PEERS[key] for key in args.peers]
    rows, failures = benchmark(args.sizes, peers, args.repeats)
    n = max(args.sizes)
    memory = (n, *qlab_peak_memory(n))
    report(rows, peers, args.markdown, memory)
    if not failures:
        print(f"All final states agree with qlab's to {TOLERANCE:g}.")
    for failure in failures:
        print(f"FAILURE: final states disagree: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
