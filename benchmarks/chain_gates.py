"""Gate throughput of qlab.chain, and memory on a million unsynchronised gates.

Throughput: a frontend allocates 4 qubits and sends 10,000 single-qubit gates
(H, X, Z, Rz cycling over the qubits); every 100 gates it measures a qubit
and reads the result (``get_measurement``, a full sync of the chain), and it
ends with a 4-qubit measurement it reads back. The gates go through one
operator with no callbacks (DQCsim's pass-through defaults) to the null or
the density-matrix backend, with the plugins in threads or in processes. As
in the DQCsim measurement this is compared with, the timer runs inside the
frontend's ``run``, from the allocation to the last result.

Memory: the same chain to the null backend with 100,000 and 1,000,000 gates
and no measurement at all; the peak resident memory of every process is read
from ``/proc/<pid>/status`` (``VmHWM``) at the end of the run. Bounded
memory shows as the same peak for both counts.

DQCsim 0.4.1's wheel installs only on Python 3.9, which this machine's
project venv does not have; its figures are the ones measured and written
down in the project's peer study of DQCsim (``shared/peers/dqcsim.md``, section 3), quoted
here as the reference and not re-measured.

    .venv/bin/python benchmarks/chain_gates.py [--repeats 3] [--gates 10000] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from qlab.chain import Gate, PluginDefinition, PluginSpec, Simulation, plugins

HERE = Path(__file__).resolve().parent

DQCSIM = {  # gates/s from the project's peer study of DQCsim (shared/peers/dqcsim.md), section 3 (DQCsim 0.4.1, Python 3.9, this machine)
    "Python fe -> Python op (no handlers) -> null be, processes": (5_800, 7_000),
    "Python host, Python fe/op/be as threads in one process": (5_500, 5_700),
    "C fe -> null op -> null be, processes": (23_000, 45_000),
}


def bench_frontend(gates: int = 10_000, every: int = 100, sync: bool = True) -> PluginDefinition:
    """The benchmark's frontend (importable, so it can run in a plugin process)."""

    def run(state, args):
        start = time.perf_counter()
        q = state.allocate(4)
        names = ("h", "x", "z")
        stream = [Gate.library(names[i % 3], q[i % 4]) for i in range(12)]
        stream += [Gate.library("rz", r, params=[0.1 * (i + 1)]) for i, r in enumerate(q)]
        for i in range(gates):
            state.gate(stream[i % len(stream)])
            if sync and i % every == every - 1:
                state.measure(q[i % 4])
                state.get_measurement(q[i % 4])
        if sync:
            state.measure(*q)
            for r in q:
                state.get_measurement(r)
        return {"seconds": time.perf_counter() - start, "pid": os.getpid()}

    spec = PluginSpec("chain_gates:bench_frontend", {"gates": gates, "every": every, "sync": sync})
    return PluginDefinition("frontend", "bench", "qlab", "1", spec=spec, run=run)


def pass_through() -> PluginDefinition:
    """An operator with no callbacks: every default passes through."""
    return PluginDefinition("operator", "pass", "qlab", "1", spec=PluginSpec("chain_gates:pass_through"))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def throughput(backend: str, process: bool, gates: int, repeats: int) -> tuple[float, int]:
    rates = []
    for _ in range(repeats):
        be = plugins.null_backend() if backend == "null" else plugins.density_matrix_backend()
        sim = Simulation(bench_frontend(gates), pass_through(), backend=be, process=process, store=False, seed=1)
        seconds = sim.run().json["seconds"]
        rates.append(gates / seconds)
    return statistics.median(rates), repeats


def memory(gates: int, process: bool) -> dict[str, float]:
    """Peak RSS (MB) of each process of the chain after ``gates`` unsynchronised gates."""
    sim = Simulation(bench_frontend(gates, sync=False), pass_through(), backend=plugins.null_backend(),
                     process=process, store=False)
    with sim:
        sim.start()
        t = time.perf_counter()
        sim.wait()
        elapsed = time.perf_counter() - t
        if process:
            peaks = {name: peak_rss_mb(pid) for name, pid in zip(sim.names, sim.pids)}
        else:
            peaks = {"host (all threads)": peak_rss_mb(os.getpid())}
    peaks["seconds"] = elapsed
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-gates", type=int, nargs=2, default=[100_000, 1_000_000])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))

    print(f"{args.gates:,} single-qubit gates, a synchronised measurement every 100, one pass-through operator")
    rows = []
    for process in (False, True):
        for backend in ("null", "density_matrix"):
            rate, n = throughput(backend, process, args.gates, args.repeats)
            rows.append((("processes" if process else "threads"), backend, rate, n))
    best_dqcsim_python = max(hi for key, (lo, hi) in DQCSIM.items() if "C fe" not in key)
    header = "| plugins in | backend | qlab gates/s (median) | runs | ratio to DQCsim's best Python figure (7.0k) |"
    print(header)
    print("|---|---|---|---|---|")
    for mode, backend, rate, n in rows:
        print(f"| {mode} | {backend} | {rate:,.0f} | {n} | {rate / best_dqcsim_python:.1f}x |")
    print("\nDQCsim 0.4.1 (from the peer study shared/peers/dqcsim.md, not re-measured):")
    for key, (lo, hi) in DQCSIM.items():
        print(f"  {key}: {lo:,}-{hi:,} gates/s")

    print(f"\nPeak resident memory (MB) with no measurement at all, null backend:")
    for process in (False, True):
        for gates in args.memory_gates:
            peaks = memory(gates, process)
            seconds = peaks.pop("seconds")
            text = ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
            print(f"  {'processes' if process else 'threads'}, {gates:>9,} gates in {seconds:5.1f} s "
                  f"({gates / seconds:,.0f}/s): {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
