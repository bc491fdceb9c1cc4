"""The compiler as qlab's default router: what ``device.run`` uses for programs that do not fit a device as written.

``pyproject.toml`` registers :func:`route_for_device` in the entry-point group
``qlab.routers`` (:data:`qlab.devices.routing.ROUTER_GROUP`), where the devices
layer finds it without importing the compiler. It runs the passes of an
optimisation level in the calling process (no cluster).

>>> from qlab import Circuit
>>> from qlab.devices import load_device
>>> placement = route_for_device(Circuit(3).h(0).cx(0, 2).measure_all(), load_device("training5"), level=1, seed=0)
>>> placement.routed, placement.cx_after, sorted(placement.final_layout[i] for i in (0, 2))   # 0 and 2 now coupled
(True, 1, [2, 3])
"""

from __future__ import annotations

from ..circuit import Circuit
from ..devices.description import DeviceDescription
from ..devices.routing import Placement
from .execution import run_passes
from .passes import optimization_passes
from .target import as_target

__all__ = ["route_for_device", "compile_here"]


def compile_here(circuit: Circuit, target, level: int, seed: int | None) -> tuple[Circuit, dict]:
    """``circuit`` compiled at optimisation ``level`` for ``target`` in this process: the circuit and the compilation data.

    Raises:
        QlabTypeError: ``circuit`` is not a Circuit or ``target`` not a target.
        CompilerError: the circuit has more qubits than the target, or an unknown level.
    """
    from .compiler import CompilationTask

    task = CompilationTask(circuit, optimization_passes(level), target, seed)
    return run_passes(task.circuit, task.passes, task.target, task.seed)


def route_for_device(circuit: Circuit, device: DeviceDescription, *, level: int, seed: int) -> Placement:
    """``circuit`` routed, unrolled and fitted for ``device`` (the :class:`qlab.devices.routing.Router` protocol).

    Program qubit ``i`` is measured into the same classical bits as before;
    the layouts say where it starts and ends.
    """
    from .compiler import _cx_before

    target = as_target(device, circuit.num_qubits)
    compiled, data = compile_here(circuit, target, level, seed)
    n = circuit.num_qubits
    return Placement(compiled, tuple(data["initial_layout"][:n]), tuple(data["final_layout"][:n]), routed=True,
                     level=level, cx_before=_cx_before(circuit), cx_after=data["cx_after"])
