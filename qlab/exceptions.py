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
    "ChannelError",
    "NoiseModelError",
    "SimulationError",
    "QubitLimitError",
    "QlabTypeError",
    "QlabTimeoutError",
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
