"""Routing programs onto a device: the options, the router hook, and where routers come from.

:func:`~qlab.devices.fit_circuit` runs program qubit ``i`` on site ``i``. A
program that uses sites the device does not couple, or gates it cannot
write in its native operations, needs a *router*: something that places the
program's qubits on sites, inserts SWAPs and rewrites the gates. This module
defines what a router is (a callable returning a :class:`Placement`) and
finds one through the Python entry-point group ``qlab.routers``; the devices
layer never imports a router's package. qlab's compiler registers
``default`` there (``qlab.compiler.routing:route_for_device``, declared in
``pyproject.toml``), so an installed qlab routes with SABRE and the
compiler's optimisation levels, without a cluster.

:func:`place` is what devices call: the program as written when it fits,
routed when it does not (unless routing is off).

>>> from qlab import Circuit
>>> from qlab.devices import load_device
>>> sc20 = load_device("sc20")
>>> as_written = place(Circuit(2).h(0).cx(0, 1).measure_all(), sc20)
>>> as_written.routed, as_written.final_layout
(False, (0, 1))
>>> routed = place(Circuit(8, 2).h(0).cx(0, 7).measure(0, 0).measure(7, 1), sc20)
>>> routed.routed, routed.level, routed.circuit.num_qubits, len(routed.final_layout)
(True, 2, 20, 8)
>>> place(Circuit(8).cx(0, 7), sc20, RouteOptions(enabled=False))
Traceback (most recent call last):
...
qlab.exceptions.DeviceProgramError: Cannot run 'cx' on qubits (0, 7) of device 'sc20': sites 0 and 7 are not coupled (site 0 couples to 1, 5; site 7 to 2, 6, 8, 12). Program qubit i runs on site i when routing is off: run it with route=True (device.run's default), or compile it first with qlab.compiler.compile_for(device, circuit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from ..circuit import Circuit
from ..exceptions import DeviceProgramError, QlabError, QlabTypeError, RoutingError, UnsupportedProgramError
from .description import DeviceDescription
from .placement import ROUTING_HINT, fit_circuit

__all__ = ["ROUTER_GROUP", "ROUTING_LEVELS", "ROUTING_SEED", "RouteOptions", "NO_ROUTING", "Placement", "Router",
           "find_router", "place"]

ROUTER_GROUP = "qlab.routers"
"""The entry-point group routers register in (``name = "package.module:callable"``)."""

ROUTING_LEVELS = (0, 1, 2, 3)
"""Optimisation levels a router takes: 0 routes and unrolls only; higher levels spend more time for fewer gates."""

ROUTING_SEED = 0
"""The seed every routing uses, so the same program is routed the same way every time."""


@dataclass(frozen=True)
class RouteOptions:
    """Whether a device routes programs that do not fit it as written, and how hard it optimises them.

    Args:
        enabled: route when needed (``True``), or refuse such programs (``False``).
        level: the optimisation level, one of :data:`ROUTING_LEVELS` (default 2).

    Raises:
        QlabTypeError: ``enabled`` is not a bool or ``level`` not an int.
        RoutingError: ``level`` is not one of :data:`ROUTING_LEVELS`.

    >>> RouteOptions(level=3)
    RouteOptions(enabled=True, level=3)
    >>> RouteOptions(level=5)
    Traceback (most recent call last):
    ...
    qlab.exceptions.RoutingError: Unknown routing optimization level 5; allowed: 0, 1, 2, 3 (0 routes and unrolls only, 3 optimises most).
    """

    enabled: bool = True
    level: int = 2

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise QlabTypeError(f"route must be True or False, got {self.enabled!r} ({type(self.enabled).__name__}).")
        if isinstance(self.level, bool) or not isinstance(self.level, int):
            raise QlabTypeError(
                f"The routing optimization level must be an int in 0..3, got {self.level!r} ({type(self.level).__name__})."
            )
        if self.level not in ROUTING_LEVELS:
            raise RoutingError(
                f"Unknown routing optimization level {self.level!r}; allowed: {', '.join(map(str, ROUTING_LEVELS))} "
                "(0 routes and unrolls only, 3 optimises most)."
            )

    @classmethod
    def from_parameters(cls, parameters: dict) -> RouteOptions:
        """The options a job record's parameters hold (``route``, ``optimization_level``); off when absent.

        >>> RouteOptions.from_parameters({"shots": 10}), RouteOptions.from_parameters({"route": True})
        (RouteOptions(enabled=False, level=2), RouteOptions(enabled=True, level=2))
        """
        return cls(bool(parameters.get("route", False)), int(parameters.get("optimization_level", 2)))

    def parameters(self) -> dict:
        """The options as job-record parameters (the inverse of :meth:`from_parameters`)."""
        return {"route": self.enabled, "optimization_level": self.level}


NO_ROUTING = RouteOptions(enabled=False)
"""Run programs as written: qubit ``i`` on site ``i``."""


@dataclass(frozen=True)
class Placement:
    """A program as a device runs it, and where its qubits went.

    Attributes:
        circuit: the circuit the device runs (native operations on its sites).
        initial_layout: ``initial_layout[i]``: the site program qubit ``i`` starts on.
        final_layout: ``final_layout[i]``: the site program qubit ``i`` ends on (its
            state and measurements are read there).
        routed: whether a router rewrote the program (``False``: qubit ``i`` on site ``i``).
        level: the routing optimisation level (``None`` when not routed).
        cx_before: two-qubit gates of the program written in ``u3``/``cx`` (when routed).
        cx_after: two-qubit gates of the routed circuit, a SWAP counting 3 (when routed).

    >>> from qlab import Circuit
    >>> Placement.as_written(Circuit(2).h(0).cx(0, 1))
    Placement(<2-qubit circuit, 2 operations>, initial_layout=(0, 1), final_layout=(0, 1))
    """

    circuit: Circuit
    initial_layout: tuple[int, ...]
    final_layout: tuple[int, ...]
    routed: bool = False
    level: int | None = None
    cx_before: int | None = None
    cx_after: int | None = None
    _summary: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def as_written(cls, circuit: Circuit) -> Placement:
        """The placement of a circuit that runs as written, qubit ``i`` on site ``i``."""
        identity = tuple(range(circuit.num_qubits))
        return cls(circuit, identity, identity)

    def __repr__(self) -> str:
        circuit = f"<{self.circuit.num_qubits}-qubit circuit, {len(self.circuit)} operations>"
        layouts = f"initial_layout={self.initial_layout}, final_layout={self.final_layout}"
        if not self.routed:
            return f"Placement({circuit}, {layouts})"
        return (f"Placement({circuit}, {layouts}, routed=True, level={self.level}, cx_before={self.cx_before}, "
                f"cx_after={self.cx_after})")

    def _repr_html_(self) -> str:
        from .._html import key_value_table

        if not self.routed:
            rows = {"placement": "as written: program qubit i on site i"}
        else:
            rows = {"routed at level": self.level, "two-qubit gates": f"{self.cx_before} → {self.cx_after}",
                    "initial layout (site of each program qubit)": list(self.initial_layout),
                    "final layout (where each is read)": list(self.final_layout)}
        return key_value_table(rows, caption="Placement") + self.circuit._repr_html_()

    def summary(self) -> dict:
        """What a job records about its routing: level, layouts, two-qubit gate counts, the routed circuit as OpenQASM 3."""
        if self._summary is None:
            summary = {"level": self.level, "initial_layout": list(self.initial_layout),
                       "final_layout": list(self.final_layout), "cx_before": self.cx_before, "cx_after": self.cx_after,
                       "circuit": self.circuit.to_qasm(3)}
            object.__setattr__(self, "_summary", summary)
        return dict(self._summary)

    @classmethod
    def from_summary(cls, summary: dict) -> Placement:
        """The routed placement a job recorded (:meth:`summary`)."""
        from ..circuit import load_qasm

        return cls(load_qasm(summary["circuit"]), tuple(summary["initial_layout"]), tuple(summary["final_layout"]),
                   True, summary["level"], summary["cx_before"], summary["cx_after"], dict(summary))


class Router(Protocol):
    """What the ``qlab.routers`` entry points load: route ``circuit`` for ``device``.

    A router returns a :class:`Placement` whose circuit the device can run as
    written (its native operations on coupled sites), measures program qubit
    ``i`` into the same classical bits as the program, and says where each
    program qubit starts and ends. It raises a :class:`~qlab.exceptions.QlabError`
    when it cannot.
    """

    def __call__(self, circuit: Circuit, device: DeviceDescription, *, level: int, seed: int) -> Placement: ...


@lru_cache(maxsize=None)
def find_router(name: str = "default") -> Router:
    """The router registered as ``name`` in the entry-point group :data:`ROUTER_GROUP`.

    Raises:
        RoutingError: no router of that name is installed.

    >>> find_router().__module__, find_router().__name__   # what qlab's pyproject.toml registers
    ('qlab.compiler.routing', 'route_for_device')
    """
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=ROUTER_GROUP)}
    if name not in found:
        have = ", ".join(sorted(found)) or "none"
        raise RoutingError(
            f"No router {name!r} is installed in the entry-point group {ROUTER_GROUP!r} (installed: {have}). qlab's "
            "compiler registers 'default' when qlab is installed (pip install -e . in a clone, or make test); "
            "or run the program with route=False."
        )
    return found[name].load()


def place(circuit: Circuit, device: DeviceDescription, options: RouteOptions = RouteOptions()) -> Placement:
    """``circuit`` as ``device`` runs it: as written when it fits, else routed (when ``options`` allow).

    Raises:
        DeviceProgramError: the program declares more qubits than the device has sites
            (routing cannot help), or does not fit as written and routing is off.
        UnsupportedProgramError: a gate the device cannot express, and routing is off.
        QubitLimitError: the program acts on more qubits than the device simulates.
        RoutingError: no router is installed, or the router could not route the program
            (the message gives both reasons).
    """
    try:
        return Placement.as_written(fit_circuit(circuit, device))
    except (DeviceProgramError, UnsupportedProgramError) as err:
        if not options.enabled or circuit.num_qubits > device.qubits_num:
            raise
        as_written = str(err).removesuffix(" " + ROUTING_HINT)
    router = find_router()
    try:
        placement = router(circuit, device, level=options.level, seed=ROUTING_SEED)
    except QlabError as err:
        raise RoutingError(
            f"Device {device.id!r} cannot run the program as written ({as_written}) and routing it at level "
            f"{options.level} failed: {err}"
        ) from err
    if not isinstance(placement, Placement):
        raise RoutingError(f"The router {router!r} returned {type(placement).__name__}, not a qlab.devices.routing.Placement.")
    return placement
