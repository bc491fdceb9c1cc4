"""Compiler quality and speed, side by side: qlab.compiler, BQSKit and Qiskit, in one run.

Run it in an environment with the ``bench-compiler`` extra (``pip install -e ".[bench-compiler]"``)::

    python benchmarks/compiler.py [--workers 2] [--quick]

Every tool gets the same input: each circuit written with ``u3`` and ``cx`` only
(OpenQASM 2). Targets: all-to-all on the circuit's qubits, and a 3 x 3 square
lattice. Reported per case: wall time of the compile call (median of
``--repeats``, compilers reused and warmed up) and the output CNOT count; then
the ratios qlab/BQSKit (time) and qlab/Qiskit (CNOTs). Then the runtime overhead
measured inside a pass on each runtime: one submit + wait round trip (median of
200) and ``map`` over 1000 trivial tasks (best of 3).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from qlab import Circuit, load_qasm
from qlab.compiler import Compiler, Target, get_runtime
from qlab.compiler.passes import BasePass
from qlab.devices import unroll

GRID = (3, 3)


# ------------------------------------------------------------------ circuits
def qft(n: int) -> Circuit:
    c = Circuit(n)
    for j in range(n):
        c.h(j)
        for k in range(j + 1, n):
            c.cp(np.pi / 2 ** (k - j), k, j)
    for j in range(n // 2):
        c.swap(j, n - 1 - j)
    return c


def random_cx(n: int, cx: int, seed: int) -> Circuit:
    """``cx`` CNOTs on random pairs, each followed by a random U3 on both of its qubits."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(cx):
        a, b = (int(q) for q in rng.choice(n, 2, replace=False))
        c.cx(a, b)
        for q in (a, b):
            c.u3(*(float(x) for x in rng.uniform(-np.pi, np.pi, 3)), q)
    return c


def mqt_bench(name: str, n: int) -> Circuit:
    from mqt.bench import BenchmarkLevel, get_benchmark
    from qiskit import qasm2, transpile

    qc = get_benchmark(name, BenchmarkLevel.ALG, n)
    qc.remove_final_measurements()
    qc = transpile(qc, basis_gates=["u3", "cx"], optimization_level=0)
    return load_qasm(qasm2.dumps(qc))


def circuits(quick: bool) -> dict[str, Circuit]:
    out = {"qft5": qft(5), "qft8": qft(8), "rand6 (100 cx)": random_cx(6, 100, seed=6)}
    for name, n in ([("ghz", 8), ("qaoa", 6)] if quick else [("ghz", 8), ("qaoa", 6), ("wstate", 6), ("qftentangled", 6), ("dj", 6)]):
        out[f"mqt {name}{n}"] = mqt_bench(name, n)
    return {k: unroll(v, {"u3", "cx"}) for k, v in out.items()}


def grid_edges() -> list[tuple[int, int]]:
    return list(Target.grid(*GRID).coupling_map)


# --------------------------------------------------------------------- tools
def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def qlab_case(compiler: Compiler, circuit: Circuit, lattice: bool, level: int, repeats: int):
    target = Target.grid(*GRID) if lattice else Target(circuit.num_qubits)
    seconds, result = timed(
        lambda: compiler.compile(circuit, optimization_level=level, target=target, seed=0, progress=False), repeats
    )
    return seconds, result.cx_after


def bqskit_case(compiler, text: str, n: int, lattice: bool, level: int, repeats: int):
    from bqskit import MachineModel
    from bqskit import compile as bq_compile
    from bqskit.ir.gates import CNOTGate, U3Gate
    from bqskit.ir.lang.qasm2 import OPENQASM2Language
    from bqskit.qis.graph import CouplingGraph

    circuit = OPENQASM2Language().decode(text)
    if lattice:
        while circuit.num_qudits < GRID[0] * GRID[1]:
            circuit.append_qudit()
        model = MachineModel(circuit.num_qudits, CouplingGraph(grid_edges()), gate_set={CNOTGate(), U3Gate()})
    else:
        model = MachineModel(n, gate_set={CNOTGate(), U3Gate()})
    seconds, out = timed(lambda: bq_compile(circuit, model=model, optimization_level=level, compiler=compiler, seed=0), repeats)
    return seconds, out.count(CNOTGate())


def qiskit_case(text: str, lattice: bool, repeats: int):
    from qiskit import QuantumCircuit, transpile
    from qiskit.transpiler import CouplingMap

    qc = QuantumCircuit.from_qasm_str(text)
    coupling = CouplingMap([list(e) for e in grid_edges()] + [[b, a] for a, b in grid_edges()]) if lattice else None
    seconds, out = timed(lambda: transpile(qc, coupling_map=coupling, basis_gates=["u3", "cx"], optimization_level=3,
                                           seed_transpiler=0), repeats)
    return seconds, out.count_ops().get("cx", 0)


# ------------------------------------------------------------------ overhead
def square(x):
    return x * x


class QlabOverhead(BasePass):
    def run(self, circuit, data):
        runtime = get_runtime()
        maps = []
        for _ in range(3):
            start = time.perf_counter()
            assert runtime.wait(runtime.map(square, range(1000))) == [x * x for x in range(1000)]
            maps.append(time.perf_counter() - start)
        trips = []
        for i in range(200):
            start = time.perf_counter()
            assert runtime.wait(runtime.submit(square, i)) == i * i
            trips.append(time.perf_counter() - start)
        data["map"], data["trip"] = min(maps), statistics.median(trips)
        return circuit


def bqskit_overhead(compiler) -> tuple[float, float]:
    from bqskit import Circuit as BQCircuit
    from bqskit.compiler import BasePass as BQPass
    from bqskit.runtime import get_runtime as bq_runtime

    class BqskitOverhead(BQPass):
        async def run(self, circuit, data):
            runtime = bq_runtime()
            maps = []
            for _ in range(3):
                start = time.perf_counter()
                assert await runtime.map(square, list(range(1000))) == [x * x for x in range(1000)]
                maps.append(time.perf_counter() - start)
            trips = []
            for i in range(200):
                start = time.perf_counter()
                assert await runtime.submit(square, i) == i * i
                trips.append(time.perf_counter() - start)
            data["map"], data["trip"] = min(maps), statistics.median(trips)

    _, data = compiler.compile(BQCircuit(1), [BqskitOverhead()], request_data=True)
    return data["map"], data["trip"]


# ----------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer MQT Bench circuits, one repeat")
    parser.add_argument("--circuits", nargs="*", help="only these circuits (names as printed, e.g. qft5 'mqt ghz8')")
    parser.add_argument("--targets", nargs="*", choices=["all", "3x3"], default=["all", "3x3"])
    parser.add_argument("--no-overhead", action="store_true", help="skip the runtime overhead measurement")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats

    from bqskit.compiler import Compiler as BQCompiler
    from qiskit import qasm2  # noqa: F401  (fail early when the extra is missing)

    cases = circuits(args.quick)
    if args.circuits:
        cases = {k: v for k, v in cases.items() if k in args.circuits}
    rows = []
    with Compiler(num_workers=args.workers, store=":memory:", dashboard=False) as qc, BQCompiler(num_workers=args.workers) as bq:
        warm = qft(4)
        qc.compile(warm, optimization_level=2, progress=False)
        from bqskit.ir.lang.qasm2 import OPENQASM2Language
        from bqskit import compile as bq_compile
        bq_compile(OPENQASM2Language().decode(unroll(warm, {"u3", "cx"}).to_qasm(2)), optimization_level=1, compiler=bq)

        print(f"{'circuit':<18} {'target':<8} {'cx in':>5} | {'qlab L2':>14} {'qlab L3':>14} | {'bqskit L1':>14} "
              f"{'bqskit L2':>14} | {'qiskit L3':>14} | qlab L2/bqskit L2: time, cx | qlab L2/qiskit cx")
        for name, circuit in cases.items():
            text = circuit.to_qasm(2)
            cx_in = circuit.count_ops().get("cx", 0)
            for lattice in (False, True):
                if ("3x3" if lattice else "all") not in args.targets:
                    continue
                if lattice and circuit.num_qubits > GRID[0] * GRID[1]:
                    continue
                q2 = qlab_case(qc, circuit, lattice, 2, repeats)
                q3 = qlab_case(qc, circuit, lattice, 3, repeats)
                b1 = bqskit_case(bq, text, circuit.num_qubits, lattice, 1, repeats)
                b2 = bqskit_case(bq, text, circuit.num_qubits, lattice, 2, repeats)
                k3 = qiskit_case(text, lattice, repeats)
                rows.append((name, lattice, q2, q3, b1, b2, k3))
                cell = lambda r: f"{r[0]:7.2f}s {r[1]:4d}cx"  # noqa: E731
                print(f"{name:<18} {'3x3' if lattice else 'all':<8} {cx_in:>5} | {cell(q2)} {cell(q3)} | {cell(b1)} {cell(b2)} | "
                      f"{cell(k3)} | {q2[0] / b2[0]:8.3f}, {q2[1] / max(b2[1], 1):5.2f} | {q2[1] / max(k3[1], 1):5.2f}", flush=True)

        if not rows:
            return
        ratio_time = statistics.geometric_mean([r[2][0] / r[5][0] for r in rows])
        ratio_cx_bq = sum(r[2][1] for r in rows) / sum(r[5][1] for r in rows)
        ratio_cx_qk = sum(r[2][1] for r in rows) / sum(r[6][1] for r in rows)
        ratio_cx_qk3 = sum(r[3][1] for r in rows) / sum(r[6][1] for r in rows)
        print(f"\ngeometric mean of time ratios qlab L2 / bqskit L2: {ratio_time:.3f}")
        print(f"total CNOTs qlab L2 / bqskit L2: {ratio_cx_bq:.3f}; qlab L2 / qiskit L3: {ratio_cx_qk:.3f}; "
              f"qlab L3 / qiskit L3: {ratio_cx_qk3:.3f}")

        if args.no_overhead:
            return
        data = qc.compile(Circuit(1), [QlabOverhead()], progress=False).data
        bq_map, bq_trip = bqskit_overhead(bq)
        print("\nruntime overhead (inside a pass)        qlab        bqskit    qlab/bqskit")
        print(f"submit + wait round trip (median)  {data['trip'] * 1e3:8.2f} ms {bq_trip * 1e3:8.2f} ms   {data['trip'] / bq_trip:8.3f}")
        print(f"map over 1000 trivial tasks        {1000 / data['map']:8.0f} /s {1000 / bq_map:8.0f} /s   "
              f"{bq_map / data['map']:8.3f} (throughput)")


if __name__ == "__main__":
    main()
