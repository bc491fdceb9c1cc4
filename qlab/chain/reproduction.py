"""Reproduction records: a simulation's configuration and host calls, written as JSON and replayed.

A record names every plugin by how to build it (a :class:`PluginSpec` or a
script path); plugins defined in the interpreter are given again to
:meth:`Reproduction.replay` by name. Replaying makes the same host calls on
a new simulation with the same seed and checks that every answer (``wait``,
``recv``, ``arb``) is the same as recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import ChainDefinitionError, ChainError
from .data import ArbCmd, ArbData
from .definition import PluginDefinition, PluginSpec, PluginType

__all__ = ["PluginRecord", "Reproduction"]

FORMAT = "qlab.chain.reproduction/1"


@dataclass
class PluginRecord:
    """One plugin of a simulation: its instance name and how to build it."""

    name: str
    type: PluginType | None
    spec: PluginSpec | None = None
    script: str | None = None
    definition: PluginDefinition | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {"name": self.name, "type": None if self.type is None else self.type.value}
        if self.spec is not None:
            d["spec"] = self.spec.to_dict()
        if self.script is not None:
            d["script"] = self.script
        return d


@dataclass
class Reproduction:
    """What a simulation was and what the host did with it.

    >>> from qlab.chain import Simulation, plugins
    >>> from qlab import Circuit
    >>> sim = Simulation(plugins.circuit_frontend(Circuit(1).h(0).measure_all(), shots=20),
    ...                  backend=plugins.density_matrix_backend(), seed=5, store=False)
    >>> first = sim.run()
    >>> replayed = sim.reproduction().replay()
    >>> replayed[-1] == first
    True
    """

    seed: int
    log_level: str
    process: bool
    plugins: list[dict]
    calls: list[dict]
    init_cmds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "seed": self.seed, "log_level": self.log_level, "process": self.process,
                "plugins": self.plugins, "init_cmds": self.init_cmds, "calls": self.calls}

    def save(self, path: str | Path) -> Path:
        """Write the record as JSON; return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Reproduction:
        """Read a record written by :meth:`save`."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ChainDefinitionError(f"Cannot read the reproduction file {str(path)!r}: {err}.") from err
        if d.get("format") != FORMAT:
            raise ChainDefinitionError(f"{str(path)!r} is not a qlab chain reproduction file (format {d.get('format')!r}, expected {FORMAT!r}).")
        return cls(seed=d["seed"], log_level=d["log_level"], process=d["process"], plugins=d["plugins"],
                   calls=d["calls"], init_cmds=d.get("init_cmds", {}))

    def _plugin(self, record: dict, given: Mapping[str, PluginDefinition]):
        if record["name"] in given:
            return given[record["name"]]
        if "spec" in record:
            return PluginSpec(record["spec"]["target"], record["spec"]["kwargs"])
        if "script" in record:
            return record["script"]
        raise ChainDefinitionError(
            f"Plugin {record['name']!r} was defined in the interpreter; give it to replay(plugins={{{record['name']!r}: ...}})."
        )

    def replay(self, plugins: Mapping[str, PluginDefinition] | None = None, *, check: bool = True) -> list[ArbData]:
        """Build the simulation again, make the recorded host calls, and return the answers.

        Args:
            plugins: definitions by instance name for plugins the record cannot build.
            check: raise :class:`~qlab.exceptions.ChainError` at the first answer that differs from the record.
        """
        from .simulation import Simulation

        given = dict(plugins or {})
        built = [self._plugin(r, given) for r in self.plugins]
        init = {name: [ArbCmd.from_dict(c) for c in cmds] for name, cmds in self.init_cmds.items()}
        sim = Simulation(built[0], *built[1:-1], backend=built[-1], seed=self.seed, log_level=self.log_level,
                         process=self.process, init_cmds=init, store=False)
        answers = []
        try:
            for i, call in enumerate(self.calls):
                kind = call["call"]
                if kind == "start":
                    sim.start(ArbData.from_dict(call["args"]))
                elif kind == "send":
                    sim.send(ArbData.from_dict(call["data"]))
                elif kind == "yield":
                    sim.yield_()
                elif kind == "stop":
                    sim.stop()
                else:
                    if kind == "wait":
                        answer = sim.wait()
                    elif kind == "recv":
                        answer = sim.recv()
                    elif kind == "arb":
                        answer = sim.arb(call["plugin"], ArbCmd.from_dict(call["cmd"]))
                    else:
                        raise ChainDefinitionError(f"Unknown host call {kind!r} at position {i} of the reproduction record.")
                    answers.append(answer)
                    if check and answer != ArbData.from_dict(call["result"]):
                        raise ChainError(
                            f"Replay differs at call {i} ({kind}): recorded {ArbData.from_dict(call['result'])!r}, got {answer!r}."
                        )
        finally:
            sim.stop()
        return answers
