"""Sampling many shots: 1,000,000 shots of a 12-qubit GHZ circuit, qlab and Qiskit Aer in one run.

qlab computes the exact outcome distribution once and draws all counts with one
multinomial draw; the per-shot record (``result.memory``) is built only when
read. The row "qlab, no shots" is the same simulation without sampling (the
exact distribution only): the difference between the two qlab rows is what
sampling a million shots costs; the rest is the 12-qubit density-matrix
simulation itself (4**12 real coefficients, 134 MB per copy). Aer runs the same circuit with its automatic method (a stabilizer or
state-vector simulation that samples the shots), with ``memory=False``.

Timing: each simulator is warmed up once on a 2-qubit circuit, then each case
runs ``--repeats`` times and the median wall time of the call that returns the
counts is reported (``qlab.simulate(...).counts``; ``AerSimulator().run(...)
.result().get_counts()``). Peak memory: each simulator runs once more in a fresh
child process (``multiprocessing`` spawn) that reports the rise of its peak RSS
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``) during the
call (Linux only).

Agreement: both must give only the all-zeros and all-ones outcomes, each with
a frequency within 5 standard deviations of 1/2.

Run: ``.venv/bin/python benchmarks/sampling.py [--shots 1000000] [--qubits 12] [--repeats 3] [--markdown]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time


def qlab_counts(n: int, shots: int) -> dict[str, int]:
    import qlab

    circuit = qlab.Circuit(n).h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return qlab.simulate(circuit.measure_all(), shots=shots, seed=1).counts


def aer_counts(n: int, shots: int) -> dict[str, int]:
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return AerSimulator(seed_simulator=1).run(circuit, shots=shots, memory=False).result().get_counts()


def qlab_exact(n: int, shots: int) -> dict[str, float]:
    """The same simulation without shots: the difference to ``qlab_counts`` is the cost of sampling."""
    import qlab

    circuit = qlab.Circuit(n).h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    probabilities = qlab.simulate(circuit.measure_all()).probabilities
    return {key: round(p * shots) for key, p in probabilities.items()}


SIMULATORS = {"qlab": qlab_counts, "qlab, no shots": qlab_exact, "Aer": aer_counts}


def _peak_rss_rise(name: str, n: int, shots: int, queue) -> None:
    SIMULATORS[name](n, 2)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status("VmRSS")
    SIMULATORS[name](n, shots)
    queue.put(_status("VmHWM") - before)


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory(name: str, n: int, shots: int) -> float | None:
    try:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        child = ctx.Process(target=_peak_rss_rise, args=(name, n, shots, queue))
        child.start()
        child.join()
        return queue.get(timeout=5) / 1e6
    except (OSError, RuntimeError):
        return None


def check(name: str, counts: dict[str, int], n: int, shots: int) -> None:
    keys = {k.replace(" ", "") for k in counts}
    zeros = counts.get("0" * n, 0)
    if keys - {"0" * n, "1" * n} or abs(zeros - shots / 2) > 5 * (shots / 4) ** 0.5:
        print(f"FAILURE: {name} gave {counts}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=int, default=1_000_000)
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = {}
    for name, fn in SIMULATORS.items():
        try:
            fn(2, 10)
        except ImportError:
            print(f"{name}: not installed", file=sys.stderr)
            continue
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            counts = fn(args.qubits, args.shots)
            times.append(time.perf_counter() - start)
        check(name, counts, args.qubits, args.shots)
        rows[name] = (statistics.median(times), peak_memory(name, args.qubits, args.shots))
        print(f"{name}: {rows[name][0]:.4f} s, peak RSS rise {rows[name][1]} MB", file=sys.stderr)
    if args.markdown:
        print(f"| simulator | time [s] ({args.repeats} runs, median) | peak RSS rise [MB] |\n| --- | ---: | ---: |")
        for name, (seconds, mb) in rows.items():
            print(f"| {name} | {seconds:.4f} | {'n/a' if mb is None else f'{mb:.0f}'} |")
        if {"qlab", "Aer"} <= set(rows):
            print(f"\nqlab/Aer time ratio: {rows['qlab'][0] / rows['Aer'][0]:.3g}")


if __name__ == "__main__":
    main()
