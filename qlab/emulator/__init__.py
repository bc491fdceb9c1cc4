"""Emulator runtime plugins: hybrid programs shot by shot through runtime -> error model -> simulator.

A program is a Python function of a :class:`ProgramContext` (or a circuit, or
OpenQASM 3 text through :func:`qasm_program`). The runtime plugin batches its
operations and hands out measurement futures; the error-model plugin rewrites
each batch (noise, flipped results); the simulator plugin holds the state.
Results and metrics come back as DataFrames.

>>> from qlab.emulator import Emulator, SoftRZRuntime, DepolarizingErrorModel, StabilizerSimulator
>>> def teleport(ctx):
...     src, a, b = ctx.qalloc(), ctx.qalloc(), ctx.qalloc()
...     ctx.x(src)                                   # teleport |1>
...     ctx.h(a); ctx.cx(a, b)
...     ctx.cx(src, a); ctx.h(src)
...     if ctx.measure(a): ctx.x(b)                  # feed-forward
...     if ctx.measure(src): ctx.z(b)
...     ctx.result("b", ctx.measure(b))
>>> emulator = Emulator(3, runtime=SoftRZRuntime(), simulator=StabilizerSimulator())
>>> emulator.run(teleport, shots=50, seed=2).counts("b")
{'1': 50}
"""

from ..exceptions import EmulatorTimeout, PluginError, ProgramError, ProgramPanic
from .context import Future, ProgramContext, Qubit
from .emulator import Emulator, ShotRecord
from .error_models import DepolarizingErrorModel, DeviceErrorModel, ErrorModel, IdealErrorModel, LeakageErrorModel
from .live import LiveMetrics, MetricsSnapshot
from .operations import RXY, RZ, RZZ, Batch, Custom, Measure, MeasureLeaked, Reset
from .plugin import API_VERSION, check_api_version, pack_version, plugin_class, register_plugin, unpack_version
from .qasm import circuit_program, qasm_program
from .result import EmulatorResult
from .runtimes import LazyRuntime, Runtime, SimpleRuntime, SoftRZRuntime
from .simulators import ClassicalReplay, Coinflip, DensityMatrixSimulator, Simulator, StatevectorSimulator
from .stabilizer import StabilizerSimulator

__all__ = [
    "API_VERSION", "Batch", "ClassicalReplay", "Coinflip", "Custom", "DensityMatrixSimulator",
    "DepolarizingErrorModel", "DeviceErrorModel", "Emulator", "EmulatorResult", "EmulatorTimeout", "ErrorModel",
    "Future", "IdealErrorModel", "LazyRuntime", "LeakageErrorModel", "LiveMetrics", "Measure", "MeasureLeaked",
    "MetricsSnapshot", "PluginError",
    "ProgramContext", "ProgramError", "ProgramPanic", "Qubit", "RXY", "RZ", "RZZ", "Reset", "Runtime",
    "ShotRecord", "SimpleRuntime", "Simulator", "SoftRZRuntime", "StabilizerSimulator", "StatevectorSimulator",
    "check_api_version", "circuit_program", "pack_version", "plugin_class", "qasm_program", "register_plugin",
    "unpack_version",
]
