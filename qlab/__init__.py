"""qlab: a notebook-first quantum lab.

>>> import qlab
>>> bell = qlab.load_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;')
>>> qlab.simulate(bell, shots=100, seed=1).probabilities
{'00': 0.5, '11': 0.5}

The top-level names load their subpackage on first use, so ``import qlab.jobs``
in a server or a Dask worker does not pay for the physics core's imports.
"""

from __future__ import annotations

import importlib

from .exceptions import QlabError

__version__ = "0.1.0"

_LAZY = {
    "Circuit": "qlab.circuit",
    "load_qasm": "qlab.circuit",
    "DensityMatrix": "qlab.sim",
    "NoiseModel": "qlab.sim",
    "Result": "qlab.sim",
    "simulate": "qlab.sim",
    "device": "qlab.qdmi.session",
}
_SUBPACKAGES = ("circuit", "sim", "jobs", "devices", "qdmi", "qpu", "emulator", "compiler", "chain")

__all__ = ["QlabError", "__version__", *_LAZY, *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"qlab.{name}")
    else:
        raise AttributeError(f"module 'qlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
