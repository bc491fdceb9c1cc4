"""What a compilation aims at: qubit count, coupling map and native gates.

>>> from qlab.devices import load_device
>>> sc20 = Target.from_device(load_device("sc20"))
>>> sc20.num_qubits, sorted(sc20.native_gates), sc20.is_coupled(0, 1), sc20.is_coupled(0, 7)
(20, ['cz', 'measure', 'reset', 'rz', 'sx', 'x'], True, False)
>>> Target.line(3)
Target(3, coupling_map=((0, 1), (1, 2)), name='line-3')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..devices import DeviceDescription
from ..exceptions import CompilerError, QlabTypeError

__all__ = ["Target", "DEFAULT_NATIVES"]

DEFAULT_NATIVES = frozenset({"u3", "cx"})
"""The gate set used when a target names no natives."""


@dataclass(frozen=True)
class Target:
    """A compilation target.

    Attributes:
        num_qubits: how many physical qubits there are.
        coupling_map: coupled pairs (undirected), or ``None`` for all-to-all.
        native_gates: gate names the output may use (plus measure, reset, barrier, delay).
        name: a display name.
        description: the device description, when the target is a qlab device
            (then the output is also fitted to it: calibrated orientations, sites).
    """

    num_qubits: int
    coupling_map: tuple[tuple[int, int], ...] | None = None
    native_gates: frozenset[str] = DEFAULT_NATIVES
    name: str = ""
    description: DeviceDescription | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.num_qubits, bool) or not isinstance(self.num_qubits, (int, np.integer)) or self.num_qubits < 1:
            raise CompilerError(f"Cannot build a Target: num_qubits must be a positive int, got {self.num_qubits!r}.")
        if self.coupling_map is not None:
            pairs = []
            for pair in self.coupling_map:
                a, b = (int(x) for x in pair)
                if a == b or not (0 <= a < self.num_qubits and 0 <= b < self.num_qubits):
                    raise CompilerError(
                        f"Cannot build a Target: coupling {tuple(pair)} must join two different qubits in "
                        f"0..{self.num_qubits - 1}."
                    )
                pairs.append((a, b))
            object.__setattr__(self, "coupling_map", tuple(pairs))
            if not self._connected():
                raise CompilerError(
                    f"Cannot build a Target: the coupling map {self.coupling_map} does not connect all "
                    f"{self.num_qubits} qubits, so some pairs could never interact."
                )
        object.__setattr__(self, "native_gates", frozenset(self.native_gates))
        if not self.name:
            object.__setattr__(self, "name", "all-to-all" if self.coupling_map is None else f"coupled-{self.num_qubits}")

    def __repr__(self) -> str:
        parts = [str(self.num_qubits)]
        if self.coupling_map is not None:
            parts.append(f"coupling_map={self.coupling_map}")
        if self.native_gates != DEFAULT_NATIVES:
            parts.append(f"native_gates={sorted(self.native_gates)}")
        parts.append(f"name={self.name!r}")
        return f"Target({', '.join(parts)})"

    @classmethod
    def from_device(cls, device) -> Target:
        """The target of a qlab device: a :class:`~qlab.devices.DeviceDescription`, or a device that has one.

        Raises:
            QlabTypeError: ``device`` is neither.
        """
        description = getattr(device, "description", device)
        if not isinstance(description, DeviceDescription):
            raise QlabTypeError(
                f"Cannot compile for {device!r}: expected a DeviceDescription or a device with a .description "
                "(a catalog or QDMI device), a Target, or a coupling map."
            )
        coupling = None if description.all_to_all else description.coupling_map
        return cls(description.qubits_num, coupling, description.native_gates, description.id, description)

    @classmethod
    def line(cls, n: int) -> Target:
        """``n`` qubits in a line."""
        return cls(n, tuple((i, i + 1) for i in range(n - 1)), name=f"line-{n}")

    @classmethod
    def grid(cls, rows: int, cols: int) -> Target:
        """A ``rows`` x ``cols`` square lattice, qubit ``r * cols + c``.

        >>> Target.grid(2, 2).coupling_map
        ((0, 1), (0, 2), (1, 3), (2, 3))
        """
        pairs = []
        for r in range(rows):
            for c in range(cols):
                q = r * cols + c
                if c + 1 < cols:
                    pairs.append((q, q + 1))
                if r + 1 < rows:
                    pairs.append((q, q + cols))
        return cls(rows * cols, tuple(pairs), name=f"grid-{rows}x{cols}")

    def is_coupled(self, a: int, b: int) -> bool:
        """Whether a two-qubit gate may act on ``a`` and ``b``."""
        return self.coupling_map is None or frozenset((a, b)) in self._pairs

    @cached_property
    def _pairs(self) -> frozenset[frozenset[int]]:
        return frozenset(frozenset(p) for p in self.coupling_map or ())

    def _connected(self) -> bool:
        seen, todo = {0}, [0]
        neighbours: dict[int, set[int]] = {}
        for a, b in self.coupling_map or ():
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
        while todo:
            for n in neighbours.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return len(seen) == self.num_qubits

    @cached_property
    def distances(self) -> np.ndarray:
        """Shortest-path distances between qubits over the coupling map (all 1 off the diagonal when all-to-all)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import shortest_path

        n = self.num_qubits
        if self.coupling_map is None:
            return np.ones((n, n)) - np.eye(n)
        a = np.zeros((n, n))
        for p, q in self.coupling_map:
            a[p, q] = a[q, p] = 1
        return shortest_path(csr_matrix(a), unweighted=True)


def as_target(target, num_qubits: int) -> Target:
    """A :class:`Target` from a Target, a device, a coupling map, or ``None`` (all-to-all on ``num_qubits``)."""
    if target is None:
        return Target(max(num_qubits, 1))
    if isinstance(target, Target):
        return target
    if isinstance(target, (list, tuple)):
        pairs = [tuple(p) if isinstance(p, (list, tuple)) else p for p in target]
        bad = [p for p in pairs if not (isinstance(p, tuple) and len(p) == 2
                                        and all(isinstance(q, (int, np.integer)) and not isinstance(q, bool) for q in p))]
        if bad:
            raise QlabTypeError(f"A coupling map is a list of (int, int) pairs; entry {bad[0]!r} of {target!r} is not one.")
        n = max(max(p) for p in pairs) + 1 if pairs else num_qubits
        return Target(max(n, num_qubits), tuple(pairs))
    return Target.from_device(target)
