"""QPUs in the style of Qaptiva/myQLM: jobs and batches, plugin stacks, resource limits, and serving.

A QPU (:class:`QPUHandler`) runs a :class:`Job` (a circuit, the qubits to
measure, ``nbshots`` with 0 for exact results, optionally an
:class:`Observable`) or a :class:`Batch` of them. Plugins stack in front of
it with ``|``; a stack is itself a QPU, so it can be served
(:meth:`QPUHandler.serve`) and used remotely (:class:`RemoteQPU`).

>>> from qlab import Circuit
>>> from qlab.qpu import DensityMatrixQPU, Job, Observable
>>> qpu = DensityMatrixQPU(seed=7)
>>> bell = Circuit(2).h(0).cx(0, 1)
>>> qpu.submit(Job(bell)).probabilities
{'00': 0.5, '11': 0.5}
>>> qpu.submit(Job(bell, observable=Observable(2, {"ZZ": 1.0}))).value
1.0
"""

from ..exceptions import AuthenticationError, QPUDataError, RemoteQPUError, ResourceLimitError, WireFormatError
from .data import Batch, BatchResult, Job, Result, Sample
from .device import DeviceQPU
from .handler import Plugin, PluginChain, PluginStack, QPUHandler
from .compiling import CompilerPlugin
from .local import DensityMatrixQPU
from .observable import Observable
from .plugins import GateSetRewriter, ObservableSplitter, ReadoutMitigation
from .remote import RemoteQPU
from .resources import AllocationModel, CostModel, JobResources, ResourceModel
from .server import QPUServer, serve
from .specs import HardwareSpecs

__all__ = [
    "Job", "Batch", "Sample", "Result", "BatchResult", "Observable",
    "QPUHandler", "Plugin", "PluginChain", "PluginStack", "DensityMatrixQPU", "DeviceQPU", "RemoteQPU",
    "GateSetRewriter", "ObservableSplitter", "ReadoutMitigation", "CompilerPlugin",
    "HardwareSpecs", "AllocationModel", "CostModel", "JobResources", "ResourceModel",
    "serve", "QPUServer",
    "QPUDataError", "WireFormatError", "ResourceLimitError", "AuthenticationError", "RemoteQPUError",
]
