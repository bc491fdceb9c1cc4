"""Remote QPU round trips: a Bell job with 100 shots through a threaded server, in qlab and in myQLM.

Two servers run side by side in the same benchmark run, each in its own child
process (so the clients here do not share an interpreter with the server):

* ``qlab``: ``DensityMatrixQPU().serve(port, "localhost", "threaded")``, used
  through ``qlab.qpu.RemoteQPU`` (HTTP/1.1 + JSON, kept-alive connections);
* ``myQLM``: ``PyLinalg().serve(port, "localhost", "threaded")``, used through
  ``qat.qpus.RemoteQPU`` (myQLM's Thrift transport).

The job is the Bell circuit (H on qubit 0, CNOT 0 -> 1) with ``nbshots=100``
on both qubits. **Latency**: ``--jobs`` jobs submitted one after another by
one client; the median wall time of ``submit`` is reported. **Throughput**:
``--clients`` threads, each with its own client object, submit jobs until
``--jobs`` jobs have finished in all; jobs per second of wall time. Each side
is warmed up with 10 jobs, and every result is checked to contain only the
outcomes 00 and 11 with probabilities summing to one.

myQLM must be importable by the interpreter running this script (``pip
install -e '.[bench-qpu]'``, or a separate venv holding both qlab and myqlm,
since myQLM pins its own NumPy). Without it, qlab runs alone.

Targets: qlab's median latency at most 5 ms and at least 300 jobs/s with 8
concurrent clients. The script prints a table and the ratios, and exits with
status 1 if a target is missed.

    python benchmarks/qpu_remote.py [--jobs 400] [--peer-jobs 40] [--clients 8] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import platform
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable

TARGET_LATENCY_MS = 5.0
TARGET_THROUGHPUT = 300.0
WARM_UP = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def serve_qlab(port: int) -> None:
    from qlab.qpu import DensityMatrixQPU

    DensityMatrixQPU().serve(port, "localhost", "threaded")


def serve_myqlm(port: int) -> None:
    from qat.qpus import PyLinalg

    PyLinalg().serve(port, "localhost", "threaded")


def wait_for(port: int, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("localhost", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"FAILURE: no server on port {port} after {timeout} s")


def qlab_client(port: int) -> Callable[[], None]:
    from qlab import Circuit
    from qlab.qpu import Job, RemoteQPU

    qpu = RemoteQPU(port, "localhost")
    job = Job(Circuit(2).h(0).cx(0, 1), nbshots=100)

    def run() -> None:
        check(qpu.submit(job).probabilities)

    return run


def myqlm_client(port: int) -> Callable[[], None]:
    from qat.lang.AQASM import CNOT, H, Program
    from qat.qpus import RemoteQPU

    prog = Program()
    q = prog.qalloc(2)
    prog.apply(H, q[0])
    prog.apply(CNOT, q[0], q[1])
    job = prog.to_circ().to_job(nbshots=100)
    qpu = RemoteQPU(port, "localhost")

    def run() -> None:
        result = qpu.submit(job)
        check({s.state.__str__().strip("|>"): s.probability for s in result})

    return run


def check(probabilities: dict) -> None:
    if set(probabilities) - {"00", "11"} or abs(sum(probabilities.values()) - 1) > 1e-9:
        raise SystemExit(f"FAILURE: a Bell job gave {probabilities}")


def measure(make_client: Callable[[int], Callable[[], None]], port: int, jobs: int, clients: int) -> tuple[float, float]:
    run = make_client(port)
    for _ in range(WARM_UP):
        run()
    times = []
    for _ in range(jobs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    runners = [make_client(port) for _ in range(clients)]
    for r in runners:
        r()
    left = [jobs]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(r: Callable[[], None]) -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                r()
            except BaseException as err:  # report, never hang
                errors.append(err)
                return

    threads = [threading.Thread(target=worker, args=(r,)) for r in runners]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"FAILURE: {errors[0]!r}")
    return statistics.median(times) * 1e3, jobs / elapsed


def run_case(name: str, target, make_client, jobs: int, clients: int) -> tuple[float, float]:
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=target, args=(port,), daemon=True, name=f"{name}-server")
    proc.start()
    try:
        wait_for(port)
        return measure(make_client, port, jobs, clients)
    finally:
        proc.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="qlab jobs per measurement")
    parser.add_argument("--peer-jobs", type=int, default=40, help="myQLM jobs per measurement")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    rows = [("qlab (threaded, HTTP+JSON)", *run_case("qlab", serve_qlab, qlab_client, args.jobs, args.clients), args.jobs)]
    if importlib.util.find_spec("qat") is not None:
        rows.append(("myQLM PyLinalg (threaded, Thrift)",
                     *run_case("myqlm", serve_myqlm, myqlm_client, args.peer_jobs, args.clients), args.peer_jobs))
    else:
        print("myQLM is not installed here: qlab runs alone (pip install myqlm).")

    print(f"Python {platform.python_version()}, {platform.machine()}, {multiprocessing.cpu_count()} cores; "
          f"Bell job, 100 shots; {args.clients} concurrent clients for throughput")
    if args.markdown:
        print("\n| server | median latency (ms) | throughput (jobs/s) | jobs |\n|---|---|---|---|")
        for name, latency, throughput, n in rows:
            print(f"| {name} | {latency:.2f} | {throughput:.0f} | {n} |")
    else:
        for name, latency, throughput, n in rows:
            print(f"{name:36s} median {latency:8.2f} ms   {throughput:8.0f} jobs/s   ({n} jobs)")
    if len(rows) == 2:
        (_, ql, qt, _), (_, ml, mt, _) = rows
        print(f"ratio myQLM/qlab: latency {ml / ql:.1f}x, qlab/myQLM throughput {qt / mt:.1f}x")
    latency, throughput = rows[0][1], rows[0][2]
    missed = []
    if latency > TARGET_LATENCY_MS:
        missed.append(f"median latency {latency:.2f} ms > {TARGET_LATENCY_MS} ms")
    if throughput < TARGET_THROUGHPUT:
        missed.append(f"throughput {throughput:.0f} jobs/s < {TARGET_THROUGHPUT:.0f} jobs/s")
    if missed:
        print("FAILURE: " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
