"""Running a list of passes: on a Dask worker as one compilation, or in this process.

>>> from qlab import Circuit
>>> from qlab.compiler import Target
>>> from qlab.compiler.passes import optimization_passes
>>> circuit, data = run_passes(Circuit(3).h(0).cx(0, 2), optimization_passes(1), Target.line(3))
>>> circuit.count_ops()["cx"], data["pass_seconds"][0][0]
(1, 'Unroll')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..circuit import Circuit
from ..exceptions import CompilationCanceledError, CompilerError
from .passes.base import cx_count
from .runtime import TaskContext, emit, enter
from .target import Target

__all__ = ["run_passes", "run_compilation"]


def run_passes(
    circuit: Circuit,
    passes: Sequence,
    target: Target,
    seed: int | None = None,
    on_pass: Callable[[int, str, float], None] | None = None,
) -> tuple[Circuit, dict]:
    """Run ``passes`` in order; returns the circuit and the compilation data.

    ``data`` holds the target, layouts, ``pass_seconds`` (name, seconds per
    pass) and ``cx_before``/``cx_after`` (two-qubit gates, a swap counting 3).

    Raises:
        CompilerError: a pass returned something other than a circuit.
    """
    data: dict = {"target": target, "seed": seed, "input": circuit}
    data["initial_layout"] = data["final_layout"] = list(range(circuit.num_qubits))
    timings = []
    for index, p in enumerate(passes):
        name = getattr(p, "name", type(p).__name__)
        start = time.perf_counter()
        out = p.run(circuit, data)
        seconds = time.perf_counter() - start
        if not isinstance(out, Circuit):
            raise CompilerError(f"Pass {index} ({p!r}) returned {type(out).__name__}, not a Circuit; run(circuit, data) must return the new circuit.")
        circuit = out
        timings.append((name, seconds))
        if on_pass is not None:
            on_pass(index, name, seconds)
    data["pass_seconds"] = timings
    data["cx_after"] = cx_count(circuit)
    del data["input"]
    return circuit, data


def run_compilation(task_id: str, circuit: Circuit, passes: Sequence, target: Target, seed: int | None, log_level: int):
    """The Dask task of one compilation: the passes in the compilation's context, with progress events.

    It leaves Dask's thread pool at once (``secede``) and holds one of its worker's subtask slots
    instead while it computes (lending it out while it waits for subtasks).
    """
    from distributed import secede

    from .service import local_service

    service = local_service()
    secede()
    with service.slots.held(), enter(TaskContext(task_id, log_level)):
        if task_id in service.cancelled_tasks:   # cancelled while it waited for a slot
            raise CompilationCanceledError(f"Compilation {task_id!r} was cancelled before it started.")
        emit({"kind": "start", "task": task_id, "worker": service.worker.address})
        try:
            circuit, data = run_passes(
                circuit, passes, target, seed,
                lambda i, name, s: emit({"kind": "pass", "task": task_id, "index": i, "name": name, "seconds": s}),
            )
            _check_sendable(data)
            return circuit, data
        finally:
            emit({"kind": "finish", "task": task_id})


def _check_sendable(data: dict) -> None:
    """Refuse, naming the key, what passes left in ``data`` that cannot travel back to the client."""
    from distributed.protocol import pickle

    for key, value in data.items():
        try:
            pickle.dumps(value)
        except Exception as err:
            raise CompilerError(
                f"A pass left data[{key!r}] ({type(value).__name__}), which cannot be sent back to the client "
                f"({err}); keep only picklable values in data, or delete that entry in the last pass that needs it."
            ) from err
