"""Detached mode: a scheduler and two workers started with Dask's own commands, as the README shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qlab import Circuit
from qlab.compiler import CompilationTask, Compiler, Target
from qlab.compiler.passes import VerifyEquivalence, optimization_passes
from qlab.exceptions import CompilerError

DASK = str(Path(sys.executable).with_name("dask"))
TIMEOUT = 120.0


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, ephemeral ports; stopped afterwards."""
    directory = tmp_path_factory.mktemp("dask")
    scheduler_file = directory / "scheduler.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    processes = [subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )]
    try:
        _wait_for(scheduler_file.exists, "the scheduler file")
        _wait_for(lambda: "address" in scheduler_file.read_text(), "the scheduler address")
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            processes.append(subprocess.Popen(
                [DASK, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            ))
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_compile_through_a_detached_cluster_next_to_an_attached_one(scheduler_address):
    rng = np.random.default_rng(5)
    circuit = Circuit(5)
    for _ in range(30):
        a, b = (int(q) for q in rng.choice(5, 2, replace=False))
        circuit.cx(a, b).rz(float(rng.uniform(-3, 3)), b)
    task = CompilationTask(circuit, [*optimization_passes(2), VerifyEquivalence()], Target.line(5), seed=1)
    with Compiler(address=scheduler_address, store=":memory:") as detached, \
            Compiler(num_workers=1, store=":memory:", dashboard=False) as attached:
        _wait_for(lambda: len(detached.client.scheduler_info()["workers"]) == 2, "two workers")
        ids = detached.submit(task), attached.submit(task)   # two clusters in one process, no port clash
        remote, local = detached.result(ids[0], timeout=TIMEOUT), attached.result(ids[1], timeout=TIMEOUT)
        assert remote.data["verified"] is True
        assert remote.circuit == local.circuit                # same passes, same seed: same output anywhere
        assert all(Target.line(5).is_coupled(*ins.qubits) for ins in remote.circuit if len(ins.qubits) == 2)
        workers = detached.client.run(os.getpid)
        assert len(workers) == 2 and os.getpid() not in workers.values()
        assert detached.client.scheduler.address == scheduler_address != attached.client.scheduler.address


def test_an_address_without_a_scheduler_is_a_clear_error():
    with pytest.raises(CompilerError, match="Cannot connect to the Dask scheduler at 'tcp://127.0.0.1:9'"):
        Compiler(address="tcp://127.0.0.1:9", store=":memory:", connect_timeout=1).compile(Circuit(1), progress=False)
