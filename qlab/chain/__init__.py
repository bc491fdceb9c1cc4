"""qlab.chain: a DQCsim-style simulation plugin chain (frontend -> operators -> backend).

Define plugins (:class:`PluginDefinition` with decorators, or subclasses of
:class:`Frontend`, :class:`Operator`, :class:`Backend`), wire them into a
:class:`Simulation`, and drive it from the host: ``start``/``wait``,
``send``/``recv``, ``arb``, ``stop`` or just ``run``. Plugins run in threads,
or each in its own process (``process=True``). Built-in plugins are in
:mod:`qlab.chain.plugins`.

>>> from qlab import Circuit
>>> from qlab.chain import Simulation, plugins
>>> bell = Circuit(2).h(0).cx(0, 1).measure_all()
>>> sim = Simulation(plugins.circuit_frontend(bell, shots=100), plugins.readout_flip(0.0),
...                  backend=plugins.density_matrix_backend(), seed=1, store=False)
>>> sorted(sim.run().json["counts"])
['00', '11']
"""

from __future__ import annotations

import importlib

from .data import ArbCmd, ArbData, Gate, GateKind, Measurement, QubitRef
from .definition import Backend, Frontend, Operator, PluginDefinition, PluginSpec, PluginType
from .logs import LogLevel
from .reproduction import Reproduction
from .runtime import Counters, PluginState
from .simulation import Simulation
from .sockets import run_plugin

__all__ = [
    "ArbCmd",
    "ArbData",
    "Backend",
    "Counters",
    "Frontend",
    "Gate",
    "GateKind",
    "LogLevel",
    "Measurement",
    "Operator",
    "PluginDefinition",
    "PluginSpec",
    "PluginState",
    "PluginType",
    "QubitRef",
    "Reproduction",
    "Simulation",
    "plugins",
    "run_plugin",
]


def __getattr__(name: str):
    if name == "plugins":  # the built-ins import the physics core; load them on first use
        return importlib.import_module("qlab.chain.plugins")
    raise AttributeError(f"module 'qlab.chain' has no attribute {name!r}")
