"""Compile-time runtime, BQSKit style, on Dask: passes that parallelise their work over a cluster.

>>> from qlab import Circuit
>>> from qlab.compiler import Compiler, Target
>>> ghz = Circuit(4).h(0).cx(0, 1).cx(0, 2).cx(0, 3).measure_all()
>>> with Compiler(num_workers=1, store=":memory:", dashboard=False) as compiler:   # doctest: +SKIP
...     result = compiler.compile(ghz, optimization_level=2, target=Target.line(4), progress=False)
>>> compile_for(Target.line(4), ghz).count_ops()["cx"]
6

:func:`compile_for` runs the same passes in this process, without a cluster.
"""

from __future__ import annotations

from ..circuit import Circuit
from .compiler import CompilationResult, CompilationTask, Compiler
from .execution import run_passes
from .kak import kak, two_qubit_gates
from .passes import optimization_passes
from .runtime import RuntimeHandle, SubtaskFuture, get_runtime
from .target import Target, as_target

__all__ = [
    "Compiler", "CompilationTask", "CompilationResult", "Target", "get_runtime", "RuntimeHandle",
    "SubtaskFuture", "compile_for", "kak", "two_qubit_gates", "optimization_passes",
]


def compile_for(device, circuit: Circuit, *, optimization_level: int = 2, seed: int | None = 0, compiler: Compiler | None = None) -> Circuit:
    """``circuit`` routed and unrolled for ``device`` (a qlab device, a description, a Target or a coupling map).

    With a :class:`Compiler` the passes run on its cluster; without one they run
    in this process. Program qubit ``i`` is measured into the same bits as
    before, so the counts of the compiled circuit answer the original question.
    """
    if compiler is not None:
        return compiler.compile(circuit, optimization_level=optimization_level, target=device, seed=seed, progress=False).circuit
    task = CompilationTask(circuit, optimization_passes(optimization_level), device, seed)
    return run_passes(task.circuit, task.passes, task.target, task.seed)[0]
