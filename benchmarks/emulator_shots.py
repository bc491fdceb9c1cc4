"""Emulator shots per second: qlab.emulator side by side with selene-sim driven by guppylang.

Programs (1000 shots each, ``--shots``):

* ``ghz-n`` for n = 4, 8, 12: H on qubit 0, a CX chain, every qubit measured
  into one result list. No feed-forward: qlab samples every shot from one
  simulation; selene-sim runs every shot.
* ``teleport``: one qubit (``|1>``) teleported with two measurements and their
  X and Z corrections (feed-forward), then measured. Both run shot by shot.

Error models: ideal, and depolarizing with p_1q=1e-3, p_2q=1e-2, p_meas=5e-3,
p_init=1e-3 in both (qlab's ``DepolarizingErrorModel`` and selene's
``DepolarizingErrorModel`` take the same four parameters with the same meaning).

Simulators: qlab's ``StabilizerSimulator`` (stim), ``StatevectorSimulator`` and
``DensityMatrixSimulator`` (n <= 8); selene's ``Stim`` and ``Quest``. Runtimes:
the simple runtime of each.

Timing: each case runs ``--repeats`` times (3) and the median wall time of a
full run (1000 shots, every result read) is reported as shots per second.
Only running is timed: guppy compilation and selene's build (zig compiling
and linking a native executable) are not, and the first selene build of the
process is timed separately and reported, with whether zig's global cache
existed before. Every case checks its counts (GHZ: all-0 and all-1 make up at
least 75% of the shots; teleport: at least 90% read 1).

    bench-venv/bin/python benchmarks/emulator_shots.py [--shots 1000] [--repeats 3] [--markdown] [--no-selene]

The venv needs ``pip install -e '.[bench-emulator]'`` (selene-sim and guppylang).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

DEPOL = dict(p_1q=1e-3, p_2q=1e-2, p_meas=5e-3, p_init=1e-3)
SIZES = (4, 8, 12)


# ---------------------------------------------------------------- qlab side
def qlab_teleport(ctx):
    src, a, b = ctx.qalloc(), ctx.qalloc(), ctx.qalloc()
    ctx.x(src)
    ctx.h(a); ctx.cx(a, b)
    ctx.cx(src, a); ctx.h(src)
    if ctx.measure(a):
        ctx.x(b)
    if ctx.measure(src):
        ctx.z(b)
    ctx.result("b", ctx.measure(b))


def qlab_case(program, n, simulator, noisy, shots):
    from qlab.emulator import DepolarizingErrorModel, Emulator, IdealErrorModel

    model = DepolarizingErrorModel(**DEPOL) if noisy else IdealErrorModel()
    emulator = Emulator(n, error_model=model, simulator=simulator)

    def run(seed):
        result = emulator.run(program, shots=shots, seed=seed, progress=False)
        tag = result.tags()[0]
        return Counter(result.counts(tag)), result.sampled

    return run


# ---------------------------------------------------------------- selene side
def selene_programs():
    from guppylang import guppy
    from guppylang.std.builtins import array, comptime, result
    from guppylang.std.quantum import cx, h, measure, measure_array, qubit, x, z

    def ghz(n):
        @guppy
        def main() -> None:
            qs = array(qubit() for _ in range(comptime(n)))
            h(qs[0])
            for i in range(comptime(n) - 1):
                cx(qs[i], qs[i + 1])
            result("c", measure_array(qs))

        return main

    @guppy
    def teleport() -> None:
        src = qubit()
        a = qubit()
        b = qubit()
        x(src)
        h(a)
        cx(a, b)
        cx(src, a)
        h(src)
        if measure(a):
            x(b)
        if measure(src):
            z(b)
        result("b", measure(b))

    return ghz, teleport


def selene_case(instance, n, simulator_cls, noisy, shots):
    from selene_sim import DepolarizingErrorModel, IdealErrorModel

    def run(seed):
        model = DepolarizingErrorModel(random_seed=seed, **DEPOL) if noisy else IdealErrorModel()
        counts = Counter()
        for shot in instance.run_shots(simulator_cls(random_seed=seed), n_qubits=n, n_shots=shots, error_model=model):
            for tag, value in shot:
                counts["".join(str(int(v)) for v in value) if isinstance(value, list) else str(int(value))] += 1
        return counts, False

    return run


# ---------------------------------------------------------------- timing
def check(name, counts, n, shots):
    if name.startswith("ghz"):
        good = counts.get("0" * n, 0) + counts.get("1" * n, 0)
        ok = good >= 0.75 * shots
    else:
        ok = counts.get("1", 0) >= 0.9 * shots
    if not ok:
        raise SystemExit(f"FAILURE: {name} gave implausible counts {dict(counts.most_common(5))}")


def median_rate(run, repeats, shots, name, n):
    times, sampled = [], False
    for r in range(repeats):
        start = time.perf_counter()
        counts, sampled = run(100 + r)
        times.append(time.perf_counter() - start)
        check(name, counts, n, shots)
    return shots / statistics.median(times), sampled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-selene", action="store_true")
    args = parser.parse_args()

    from qlab.emulator import DensityMatrixSimulator, StabilizerSimulator, StatevectorSimulator
    from qlab.emulator.programs import ghz

    cases = [(f"ghz-{n}", n, ghz(n)) for n in SIZES] + [("teleport", 3, qlab_teleport)]
    rows = []
    selene = None
    build_note = "selene-sim not run"
    if not args.no_selene:
        import selene_sim
        from selene_sim import Quest, Stim

        cache = Path(os.environ.get("ZIG_GLOBAL_CACHE_DIR", Path.home() / ".cache" / "zig"))
        warm = cache.exists()
        selene_ghz, selene_teleport = selene_programs()
        workdir = Path(tempfile.mkdtemp(prefix="selene-bench-"))
        instances, first_build = {}, None
        for name, n, _ in cases:
            program = selene_ghz(n) if name.startswith("ghz") else selene_teleport
            start = time.perf_counter()
            instances[name] = selene_sim.build(program.compile(), build_dir=workdir / name)
            took = time.perf_counter() - start
            first_build = took if first_build is None else first_build
        build_note = (f"first selene build (compile + zig) {first_build:.1f} s, zig cache "
                      f"{'warm' if warm else 'cold'}; not included in the rates")
        selene = (instances, Stim, Quest)

    for name, n, program in cases:
        for noisy in (False, True):
            line = {"program": name, "noise": "depolarizing" if noisy else "ideal"}
            for label, simulator in (("qlab stabilizer", StabilizerSimulator()), ("qlab statevector", StatevectorSimulator()),
                                     ("qlab density matrix", DensityMatrixSimulator())):
                if label == "qlab density matrix" and n > 8:
                    line[label] = None
                    continue
                rate, sampled = median_rate(qlab_case(program, n, simulator, noisy, args.shots), args.repeats, args.shots, name, n)
                line[label] = rate
                line[label + " mode"] = "sampled" if sampled else "per shot"
            if selene is not None:
                instances, Stim, Quest = selene
                for label, cls in (("selene Stim", Stim), ("selene Quest", Quest)):
                    line[label] = median_rate(selene_case(instances[name], n, cls, noisy, args.shots), args.repeats,
                                              args.shots, name, n)[0]
            rows.append(line)
            print_row(line, markdown=False)

    print()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {build_note}")
    if args.markdown:
        print_table(rows, selene is not None)


def fmt(rate):
    return "—" if rate is None else (f"{rate / 1000:.1f}k" if rate >= 1000 else f"{rate:.0f}")


def qlab_cell(line, label):
    mode = line.get(label + " mode")
    return fmt(line.get(label)) + (f" ({mode})" if mode else "")


def print_row(line, markdown):
    cells = [f"{k}={fmt(v) if isinstance(v, float) or v is None else v}" for k, v in line.items()]
    print("  ".join(cells), flush=True)


def print_table(rows, with_selene):
    head = ["program", "noise", "qlab stabilizer", "qlab statevector", "qlab density matrix"]
    if with_selene:
        head += ["selene Stim", "selene Quest", "best qlab / selene Stim", "best qlab / selene Quest"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for line in rows:
        best = max(v for k, v in line.items() if k.startswith("qlab ") and isinstance(v, float))
        cells = [line["program"], line["noise"]]
        cells += [qlab_cell(line, k) for k in ("qlab stabilizer", "qlab statevector", "qlab density matrix")]
        if with_selene:
            cells += [fmt(line["selene Stim"]), fmt(line["selene Quest"]),
                      f"{best / line['selene Stim']:.2f}", f"{best / line['selene Quest']:.2f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
