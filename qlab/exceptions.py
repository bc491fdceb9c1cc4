"""The qlab error hierarchy.

Every error qlab raises on purpose derives from :class:`QlabError`. The
specific classes also derive from the built-in exception that carries the
same meaning (``ValueError`` for bad values, ``TypeError`` for wrong types,
``TimeoutError`` for waits that ran out), so code that catches the built-in
keeps working.

A message names the action, the object, the offending value and what is
allowed:

>>> from qlab import Circuit
>>> Circuit(2).cx(0, 5)
Traceback (most recent call last):
...
qlab.exceptions.CircuitError: Cannot add 'cx' on qubits (0, 5): qubit 5 is out of range for a circuit with 2 qubits (allowed: 0..1).
"""

from __future__ import annotations

__all__ = [
    "QlabError",
    "CircuitError",
    "QasmError",
    "UnsupportedQasmError",
    "QasmLimitError",
    "QasmQubitLimitError",
    "ChannelError",
    "NoiseModelError",
    "SimulationError",
    "QubitLimitError",
    "SimulationStopped",
    "QlabTypeError",
    "QlabTimeoutError",
    "DeviceDescriptionError",
    "UnknownDeviceError",
    "DeviceProgramError",
    "UnsupportedProgramError",
    "RoutingError",
    "JobNotFoundError",
    "AmbiguousJobIdError",
    "JobStateError",
    "JobQueueError",
    "JobStoreError",
    "PluginError",
    "ProgramError",
    "ProgramPanic",
    "EmulatorTimeout",
    "ChainError",
    "ChainDefinitionError",
    "ChainPluginError",
    "QPUDataError",
    "WireFormatError",
    "ResourceLimitError",
    "AuthenticationError",
    "RemoteQPUError",
    "CompilerError",
    "CompilationCanceledError",
    "VerificationError",
]


class QlabError(Exception):
    """Base class of every error qlab raises on purpose."""


class QlabTypeError(QlabError, TypeError):
    """A value of the wrong type was given."""


class QlabTimeoutError(QlabError, TimeoutError):
    """A wait ran out of time before the awaited thing happened."""


class CircuitError(QlabError, ValueError):
    """A circuit or instruction is malformed (bad qubit, arity, parameter, ...)."""


class QasmError(QlabError, ValueError):
    """OpenQASM text could not be read: a syntax or semantic error.

    Attributes:
        line: the 1-based line of the offending construct, when known.
    """

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class UnsupportedQasmError(QasmError):
    """Valid OpenQASM that qlab cannot represent (named with its line)."""


class ChannelError(QlabError, ValueError):
    """A quantum channel is invalid (not CPTP, wrong shape, bad parameter)."""


class NoiseModelError(QlabError, ValueError):
    """A noise model is inconsistent or was given bad parameters."""


class SimulationError(QlabError, ValueError):
    """A simulation cannot be run as asked (bad input or unsupported request)."""


class QubitLimitError(SimulationError):
    """A program needs more qubits than the simulator may hold."""


class QasmLimitError(QasmError):
    """An OpenQASM program over a size limit of ``load_qasm`` (the message names it), refused before any work."""


class QasmQubitLimitError(QasmLimitError, QubitLimitError):
    """An OpenQASM program that declares more qubits than ``load_qasm``'s ``max_qubits``."""


class SimulationStopped(QlabError):
    """A running simulation was asked to stop (its job was cancelled)."""


# ------------------------------------------------------------------ devices
class DeviceDescriptionError(QlabError, ValueError):
    """A device description is malformed or inconsistent (the message names the field)."""


class UnknownDeviceError(QlabError, LookupError):
    """No device has the requested id (the message lists the ids that exist)."""


class DeviceProgramError(QlabError, ValueError):
    """A program addresses a device wrongly (sites it lacks, pairs it does not couple)."""


class UnsupportedProgramError(QlabError, NotImplementedError):
    """A valid program that a device cannot run (gates outside what it can express)."""


class RoutingError(DeviceProgramError):
    """A program could not be routed onto a device: bad routing options, no router installed, or the router failed."""


# --------------------------------------------------------------------- jobs
class JobNotFoundError(QlabError, KeyError):
    """No job with the given id is in the store.

    >>> str(JobNotFoundError("No job 'abc' in JobStore(':memory:')."))
    "No job 'abc' in JobStore(':memory:')."
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AmbiguousJobIdError(QlabError, LookupError):
    """A short job id is the start of several stored ids (the message lists them)."""


class JobStateError(QlabError, ValueError):
    """A job cannot do what was asked in its present status.

    Raised for an illegal status transition, an unknown status value, a
    duplicate id, or submitting a job that is not ``created``.
    """


class JobQueueError(QlabError, RuntimeError):
    """A job queue was configured or used wrongly (bad worker count, submit after shutdown)."""


class JobStoreError(QlabError):
    """A job store file cannot be opened or was written by an incompatible qlab."""


# ----------------------------------------------------------------- emulator
class PluginError(QlabError, ValueError):
    """An emulator plugin is configured wrongly or incompatible (a parameter, its API version, an unknown name)."""


class ProgramError(QlabError, RuntimeError):
    """A hybrid program misused the emulator: a freed qubit, a second measurement, no qubit left, ...

    Attributes:
        shot: the shot in which it happened (``None`` outside a run).
    """

    def __init__(self, message: str, shot: int | None = None):
        super().__init__(message)
        self.shot = shot


class ProgramPanic(QlabError, RuntimeError):
    """A program called ``panic`` (or exited with a code >= 1000): every remaining shot was stopped.

    Attributes:
        result: the shots that ran, the panicking one last (an ``EmulatorResult``).
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class EmulatorTimeout(QlabTimeoutError):
    """An emulator run ran out of time.

    Attributes:
        result: the shots completed before the timeout (an ``EmulatorResult``).
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


# -------------------------------------------------------------------- chain
class ChainError(QlabError, RuntimeError):
    """A plugin chain was used wrongly (wait before start, a deadlock between host and frontend, ...)."""


class ChainDefinitionError(QlabError, ValueError):
    """A plugin definition, identifier, gate or measurement is malformed (the message says what is allowed)."""


class ChainPluginError(ChainError):
    """A plugin of a chain failed: a callback raised, or its process died.

    Attributes:
        plugin: the name of the plugin that failed.
    """

    def __init__(self, message: str, plugin: str | None = None):
        super().__init__(message)
        self.plugin = plugin
# ---------------------------------------------------------------------- qpu
class QPUDataError(QlabError, ValueError):
    """A QPU job, batch, result or observable is malformed (the message names the field)."""


class WireFormatError(QPUDataError):
    """A request or response of the QPU wire format is malformed, truncated or too large."""


class ResourceLimitError(QlabError, ValueError):
    """A batch needs more than a QPU's allocation limits allow (named job, resource, estimate and limit)."""


class AuthenticationError(QlabError, PermissionError):
    """A QPU server refused a call: its bearer token is missing or wrong."""


class RemoteQPUError(QlabError, ConnectionError):
    """A QPU server could not be reached, dropped the connection, or failed in a way qlab does not name."""
# ----------------------------------------------------------------- compiler
class CompilerError(QlabError, RuntimeError):
    """The compiler runtime was used wrongly (closed compiler, no running compilation, bad map arguments)."""


class CompilationCanceledError(CompilerError):
    """The result of a compilation that was cancelled was asked for."""


class VerificationError(QlabError, ValueError):
    """A compiled circuit does not implement the unitary of its input (up to phase and qubit layout)."""
