"""QDMI job overhead: a Bell-state job from submission to DONE, in qlab and in MQT Core's DDSIM device.

The job is the OpenQASM 2 Bell circuit (``h``, ``cx``, two measurements)
with 1000 shots. Four cases run in this process, one after the other:

* ``qlab ideal``: qlab's ``ideal`` device through ``qlab.qdmi`` with a
  persistent SQLite job store in a temporary directory (every status change
  and the results are written to it);
* ``qlab -> mqt.ddsim``: MQT Core's DDSIM device through qlab's job
  interface and the same store (the adapter of ``qlab.qdmi.mqt``);
* ``mqt.ddsim``: MQT Core's DDSIM QDMI device used directly
  (``Device.submit_job``, ``Job.wait``, ``Job.get_counts``).

Latency is measured over ``--jobs`` jobs submitted one after another: the
time from ``submit`` until ``wait`` returns DONE (the qlab job is created
and configured before the clock starts; MQT Core's ``submit_job`` takes the
program, so its time includes that). Throughput is measured with
``--threads`` threads that each create, configure, submit and wait for
jobs until ``--jobs`` jobs have finished in all; it counts jobs per second
of wall time. Every case is warmed up with 20 jobs, and every job's counts
are checked to contain only ``00`` and ``11``.

Targets: qlab's median latency at most 2 ms and at least 500 jobs/s with 4
submitting threads. The script prints a table and the ratio of MQT Core's
median latency to qlab's, and exits with status 1 if a target is missed.

    python benchmarks/qdmi_jobs.py [--jobs 1000] [--threads 4] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
SHOTS = 1000
WARM_UP = 20
TARGET_LATENCY_MS = 2.0
TARGET_THROUGHPUT = 500.0

Job = Callable[[], float]


def qlab_case(device) -> Job:
    """One qlab job: configure, then time submit -> DONE; check the counts."""
    from qlab.qdmi import JobParameter, JobStatus, ProgramFormat

    def one() -> float:
        job = device.create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
        job.set_parameter(JobParameter.PROGRAM, BELL)
        job.set_parameter(JobParameter.SHOTSNUM, SHOTS)
        start = time.perf_counter()
        job.submit()
        status = job.wait()
        elapsed = time.perf_counter() - start
        counts = job.counts()
        job.free()
        if status is not JobStatus.DONE or set(counts) - {"00", "11"} or sum(counts.values()) != SHOTS:
            raise SystemExit(f"qlab job on {device.id} went wrong: {status!r} {counts}")
        return elapsed

    return one


def mqt_case(device) -> Job:
    """One MQT Core job: time submit_job -> wait; check the counts."""
    from mqt.core import qdmi

    def one() -> float:
        start = time.perf_counter()
        job = device.submit_job(BELL, qdmi.ProgramFormat.QASM2, SHOTS)
        job.wait(0)
        elapsed = time.perf_counter() - start
        counts = job.get_counts()
        if job.check() != qdmi.Job.Status.DONE or set(counts) - {"00", "11"} or sum(counts.values()) != SHOTS:
            raise SystemExit(f"MQT Core job went wrong: {job.check()!r} {counts}")
        return elapsed

    return one


def latency(one: Job, jobs: int) -> list[float]:
    for _ in range(WARM_UP):
        one()
    return [one() for _ in range(jobs)]


def throughput(one: Job, jobs: int, threads: int) -> float:
    for _ in range(WARM_UP):
        one()
    left = [jobs]
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                one()
        except BaseException as err:
            failures.append(err)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    if failures:
        raise failures[0]
    return jobs / wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per measurement (default 1000)")
    parser.add_argument("--threads", type=int, default=4, help="submitting threads for throughput (default 4)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()

    from mqt.core import qdmi

    from qlab.qdmi import Session

    rows = []
    with tempfile.TemporaryDirectory() as tmp, Session(store=Path(tmp) / "jobs.sqlite", mqt=True) as session:
        cases = [
            ("qlab ideal", qlab_case(session.device("ideal"))),
            ("qlab -> mqt.ddsim", qlab_case(session.device("mqt.ddsim.default"))),
            ("mqt.ddsim", mqt_case(qdmi.Session().get_device("mqt.ddsim.default"))),
        ]
        for name, one in cases:
            times = latency(one, args.jobs)
            rate = throughput(one, args.jobs, args.threads)
            rows.append((name, statistics.median(times) * 1e3, percentile(times, 0.9) * 1e3, rate))

    print(f"Python {platform.python_version()} on {platform.machine()}, qlab {importlib.metadata.version('qlab-quantum')}, "
          f"mqt-core {importlib.metadata.version('mqt-core')}; Bell QASM2 job, {SHOTS} shots, {args.jobs} jobs per case")
    header = ("case", "median submit->DONE [ms]", "p90 [ms]", f"jobs/s ({args.threads} threads)")
    lines = [header] + [(n, f"{m:.3f}", f"{p:.3f}", f"{r:.0f}") for n, m, p, r in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines[1:]:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
    qlab_median, qlab_rate = rows[0][1], rows[0][3]
    mqt_median, mqt_rate = rows[2][1], rows[2][3]
    print(f"MQT Core DDSIM / qlab ideal: {mqt_median / qlab_median:.1f}x the median latency, "
          f"{qlab_rate / mqt_rate:.1f}x fewer jobs/s in MQT Core")
    missed = []
    if qlab_median > TARGET_LATENCY_MS:
        missed.append(f"median latency {qlab_median:.3f} ms > {TARGET_LATENCY_MS} ms")
    if qlab_rate < TARGET_THROUGHPUT:
        missed.append(f"throughput {qlab_rate:.0f} jobs/s < {TARGET_THROUGHPUT:.0f}")
    if missed:
        print("target missed: " + "; ".join(missed))
        return 1
    print(f"targets met: median <= {TARGET_LATENCY_MS} ms, >= {TARGET_THROUGHPUT:.0f} jobs/s with {args.threads} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
