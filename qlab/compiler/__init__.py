"""Compile-time runtime, BQSKit style, on Dask: passes that parallelise their work over a cluster.

>>> from qlab import Circuit
>>> from qlab.compiler import Compiler, Target
>>> ghz = Circuit(4).h(0).cx(0, 1).cx(0, 2).cx(0, 3).measure_all()
>>> with Compiler(num_workers=1, store=":memory:", dashboard=False) as compiler:   # doctest: +SKIP
...     result = compiler.compile(ghz, optimization_level=2, target=Target.line(4), progress=False)
>>> compile_for(Target.line(4), ghz).count_ops()["cx"]
4

:func:`compile_for` runs the same passes in this process, without a cluster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..circuit import Circuit
from .execution import run_passes
from .kak import kak, two_qubit_gates
from .passes import optimization_passes
from .routing import compile_here
from .runtime import RuntimeHandle, SubtaskFuture, get_runtime
from .target import Target, as_target

if TYPE_CHECKING:
    from .compiler import CompilationResult, CompilationTask, Compiler

__all__ = [
    "Compiler", "CompilationTask", "CompilationResult", "Target", "get_runtime", "RuntimeHandle",
    "SubtaskFuture", "compile_for", "kak", "two_qubit_gates", "optimization_passes",
]

_LAZY = {"Compiler": ".compiler", "CompilationTask": ".compiler", "CompilationResult": ".compiler"}
"""The client side loads on first use (it needs pandas), so a Dask worker that imports
``qlab.compiler.execution`` for a compilation does not pay for it."""


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'qlab.compiler' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def compile_for(device, circuit: Circuit, *, optimization_level: int = 2, seed: int | None = 0, compiler: Compiler | None = None) -> Circuit:
    """``circuit`` routed and unrolled for ``device`` (a qlab device, a description, a Target or a coupling map).

    With a :class:`Compiler` the passes run on its cluster; without one they run
    in this process. Program qubit ``i`` is measured into the same bits as
    before, so the counts of the compiled circuit answer the original question.
    ``device.run(circuit)`` does this by itself for a circuit that does not fit
    the device as written (see :mod:`qlab.devices.routing`).
    """
    if compiler is not None:
        return compiler.compile(circuit, optimization_level=optimization_level, target=device, seed=seed, progress=False).circuit
    return compile_here(circuit, device, optimization_level, seed)[0]
