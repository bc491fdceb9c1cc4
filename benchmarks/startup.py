"""Start-up cost: importing qlab.sim and the first simulations, each in a fresh process.

Every figure comes from a new Python process (``subprocess``), so nothing is
imported or compiled beforehand. "Cold" runs use an empty numba cache
directory (``NUMBA_CACHE_DIR``), so the transforms for 7 qubits and more are
compiled; "warm" runs reuse that directory, as every process after the first
does (``binder/postBuild`` warms it when the image is built). Python's own
bytecode caches are warm in both. Each case runs ``--repeats`` times and the
median is reported.

Cases, timed inside the child with ``time.perf_counter``:

* ``import numpy``, the floor every case pays (machines and their load vary,
  so read the others against it);
* ``import qlab.sim``;
* first small noisy simulation: a Bell circuit with depolarizing gate errors,
  T1/T2 idle noise, gate durations and readout errors, 1000 shots and the
  final state (``import`` included);
* first large state: the final density matrix of an 8-qubit noisy circuit
  (the numba transforms; ``import`` included).

Run: ``.venv/bin/python benchmarks/startup.py [--repeats 5] [--markdown]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CASES = {
    "import numpy (baseline)": "import numpy",
    "import qlab.sim": "import qlab.sim",
    "first small noisy simulation": """
import qlab
from qlab.sim import IdleNoise, NoiseModel, ReadoutError, depolarizing
noise = (NoiseModel().with_gate_error("h", depolarizing(0.01)).with_gate_error("cx", depolarizing(0.03, 2))
         .with_idle_noise(IdleNoise.from_t1_t2(50e-6, 40e-6)).with_duration("cx", 300e-9)
         .with_readout_error(ReadoutError.symmetric(0.02)))
result = qlab.simulate(qlab.Circuit(2).h(0).cx(0, 1).measure_all(), noise, shots=1000, seed=1)
result.counts, result.state
""",
    "first 8-qubit state": """
import qlab
from qlab.sim import NoiseModel, depolarizing
circuit = qlab.Circuit(8).h(0)
for q in range(7):
    circuit.cx(q, q + 1)
qlab.simulate(circuit, NoiseModel().with_gate_error("cx", depolarizing(0.01, 2))).state
""",
}

CHILD = """
import time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""


def run_case(body: str, cache_dir: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", CHILD.format(body=body)], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, body in CASES.items():
        cold, warm = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(run_case(body, cache))
                warm.append(run_case(body, cache))
        rows.append((name, statistics.median(cold), statistics.median(warm)))
        print(f"{name}: cold {rows[-1][1]:.3f} s, warm {rows[-1][2]:.3f} s", file=sys.stderr)
    if args.markdown:
        print(f"| case | cold numba cache [s] | warm numba cache [s] |\n| --- | ---: | ---: |")
        for name, cold, warm in rows:
            print(f"| {name} | {cold:.3f} ({args.repeats}) | {warm:.3f} ({args.repeats}) |")


if __name__ == "__main__":
    main()
