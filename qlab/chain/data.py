"""The values that travel along a plugin chain: arbitrary data, commands, gates, measurements.

Everything here is plain data with no behaviour beyond checking itself, so it
crosses thread and process boundaries unchanged (see :mod:`qlab.chain.wire`).

>>> cmd = ArbCmd("noise", "set_rate", ArbData({"p": 0.01}))
>>> cmd
ArbCmd('noise', 'set_rate', ArbData({'p': 0.01}))
>>> Gate.library("h", 1).name, Measurement(1, None).value is None
('h', True)
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..circuit.gates import GATES, canonical_name, gate_matrix, is_unitary
from ..exceptions import ChainDefinitionError, CircuitError, QlabTypeError

__all__ = ["ArbCmd", "ArbData", "Gate", "GateKind", "Measurement", "QubitRef", "EMPTY"]

_IDENTIFIER = re.compile(r"[a-zA-Z0-9_]+\Z")


class QubitRef(int):
    """A reference to a qubit on one link of the chain: a positive integer.

    A frontend's ``allocate`` hands out fresh references (1, 2, 3, ...); the
    same reference names the same qubit for every plugin downstream, unless
    an operator remaps it.

    >>> QubitRef(3)
    QubitRef(3)
    >>> QubitRef(0)
    Traceback (most recent call last):
    ...
    qlab.exceptions.ChainDefinitionError: A qubit reference must be a positive integer, got 0.
    """

    __slots__ = ()

    def __new__(cls, value: int):
        return int.__new__(cls, _ref(value, "A qubit reference"))

    def __repr__(self) -> str:
        return f"QubitRef({int(self)})"

    __str__ = int.__repr__


def _ref(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise QlabTypeError(f"{what} must be a positive integer, got {value!r} ({type(value).__name__}).")
    if value < 1:
        raise ChainDefinitionError(f"{what} must be a positive integer, got {value}.")
    return int(value)


def _refs(values, what: str) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
        refs = tuple(_ref(v, f"{what}: a qubit reference") for v in values)
    except TypeError as err:
        if isinstance(err, QlabTypeError):
            raise
        raise QlabTypeError(f"{what} must be a sequence of qubit references, got {values!r}.") from err
    if len(set(refs)) != len(refs):
        raise ChainDefinitionError(f"{what} name a qubit more than once: {refs}.")
    return refs


def _check_json_object(value, where: str) -> dict:
    if not isinstance(value, Mapping):
        raise QlabTypeError(f"{where} must be a JSON object (a dict with str keys), got {type(value).__name__}.")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ChainDefinitionError(f"{where} must hold only JSON values (dict, list, str, int, float, bool, None): {err}.") from err
    if not all(isinstance(k, str) for k in value):
        raise ChainDefinitionError(f"{where} must have str keys, got {list(value)}.")
    return dict(value)


class ArbData:
    """Arbitrary data: a JSON object plus a list of binary strings.

    Args:
        json: a JSON-serialisable ``dict`` (default empty).
        args: binary strings (``bytes``).

    >>> data = ArbData({"shots": 10}, [b"\\x01"])
    >>> data.json["shots"], data.args
    (10, [b'\\x01'])
    >>> ArbData() == ArbData({}, [])
    True
    """

    __slots__ = ("json", "args")

    def __init__(self, json: Mapping | None = None, args: Sequence[bytes] = ()):
        self.json = {} if json is None else _check_json_object(json, "ArbData.json")
        if isinstance(args, (bytes, str)):
            raise QlabTypeError(f"ArbData.args must be a list of bytes, got a single {type(args).__name__}.")
        args = list(args)
        for i, a in enumerate(args):
            if not isinstance(a, (bytes, bytearray, memoryview)):
                raise QlabTypeError(f"ArbData.args[{i}] must be bytes, got {type(a).__name__} {a!r}.")
        self.args = [bytes(a) for a in args]

    @classmethod
    def _trusted(cls, json: dict, args: list) -> ArbData:
        data = cls.__new__(cls)
        data.json, data.args = json, args
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArbData) and self.json == other.json and self.args == other.args

    def __hash__(self) -> int:  # mutable contents: identity hash would mislead
        raise TypeError("ArbData is not hashable")

    def __bool__(self) -> bool:
        return bool(self.json or self.args)

    def __repr__(self) -> str:
        if not self.args:
            return f"ArbData({self.json!r})" if self.json else "ArbData()"
        return f"ArbData({self.json!r}, {self.args!r})"

    def to_dict(self) -> dict:
        """A JSON-able dict (binary args as hex strings), the form stored in reproduction files."""
        return {"json": self.json, "args": [a.hex() for a in self.args]}

    @classmethod
    def from_dict(cls, d: Mapping) -> ArbData:
        """The inverse of :meth:`to_dict`."""
        return cls(d.get("json") or {}, [bytes.fromhex(a) for a in d.get("args", ())])


EMPTY = ArbData()
"""A shared empty :class:`ArbData` (never mutate it)."""


def as_arb_data(value, where: str) -> ArbData:
    """``value`` as ArbData: ArbData itself, ``None`` (empty) or a JSON dict."""
    if value is None:
        return ArbData()
    if isinstance(value, ArbData):
        return value
    if isinstance(value, Mapping):
        return ArbData(value)
    raise QlabTypeError(f"{where} must be ArbData, a JSON dict or None, got {type(value).__name__} {value!r}.")


class ArbCmd:
    """An arbitrary command: an interface id, an operation id and :class:`ArbData`.

    Both ids must match ``[a-zA-Z0-9_]+``. A plugin that does not know the
    interface passes the command on (operators) or ignores it (backends).

    >>> ArbCmd("my-iface", "op")
    Traceback (most recent call last):
    ...
    qlab.exceptions.ChainDefinitionError: ArbCmd interface_id 'my-iface' is not an identifier: it must match [a-zA-Z0-9_]+.
    """

    __slots__ = ("interface_id", "operation_id", "data")

    def __init__(self, interface_id: str, operation_id: str, data: ArbData | Mapping | None = None):
        for what, value in (("interface_id", interface_id), ("operation_id", operation_id)):
            if not isinstance(value, str):
                raise QlabTypeError(f"ArbCmd {what} must be a str, got {type(value).__name__} {value!r}.")
            if not _IDENTIFIER.match(value):
                raise ChainDefinitionError(f"ArbCmd {what} {value!r} is not an identifier: it must match [a-zA-Z0-9_]+.")
        self.interface_id = interface_id
        self.operation_id = operation_id
        self.data = as_arb_data(data, "ArbCmd data")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ArbCmd)
            and (self.interface_id, self.operation_id) == (other.interface_id, other.operation_id)
            and self.data == other.data
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        tail = f", {self.data!r}" if self.data else ""
        return f"ArbCmd({self.interface_id!r}, {self.operation_id!r}{tail})"

    def to_dict(self) -> dict:
        """A JSON-able dict."""
        return {"interface_id": self.interface_id, "operation_id": self.operation_id, "data": self.data.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping) -> ArbCmd:
        """The inverse of :meth:`to_dict`."""
        return cls(d["interface_id"], d["operation_id"], ArbData.from_dict(d.get("data", {})))


class GateKind(str, enum.Enum):
    """What a :class:`Gate` does."""

    UNITARY = "unitary"
    """A unitary matrix on the targets, controlled by the controls."""
    MEASUREMENT = "measurement"
    """Measure the qubits in a basis (apply U†, measure Z, apply U)."""
    PREPARATION = "preparation"
    """Put the targets in the basis state U|0> (reset, then apply U)."""
    CUSTOM = "custom"
    """A named gate that only plugins that know the name understand."""

    def __str__(self) -> str:
        return self.value


def _matrix(matrix, size: int, what: str, check_unitary: bool = True) -> np.ndarray:
    try:
        m = np.array(matrix, dtype=complex)
    except (TypeError, ValueError) as err:
        raise QlabTypeError(f"{what} must be a complex matrix, got {matrix!r}.") from err
    if m.shape != (size, size):
        raise ChainDefinitionError(f"{what} must be a {size}x{size} matrix, got shape {m.shape}.")
    if not np.isfinite(m).all():
        raise ChainDefinitionError(f"{what} has non-finite entries.")
    if check_unitary and not is_unitary(m):
        raise ChainDefinitionError(f"{what} is not unitary (U U^dagger != I to 1e-10).")
    m.flags.writeable = False
    return m


class Gate:
    """One operation of the gate stream.

    Build gates with the class methods: :meth:`unitary`, :meth:`library`,
    :meth:`measure`, :meth:`prepare` and :meth:`custom`. A gate's matrix acts
    on its qubits with the first one as the most significant factor (as in
    QuTiP and everywhere in qlab); for a controlled unitary the controls come
    before the targets.

    >>> g = Gate.library("cx", 1, 2)
    >>> g.kind, g.targets, g.matrix.shape
    (<GateKind.UNITARY: 'unitary'>, (1, 2), (4, 4))
    >>> Gate.measure(1, 2).measures
    (1, 2)
    """

    __slots__ = ("kind", "targets", "controls", "measures", "matrix", "name", "params", "data", "_wire")

    kind: GateKind
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    measures: tuple[int, ...]
    matrix: np.ndarray | None
    name: str | None
    params: tuple[float, ...]
    data: ArbData

    @classmethod
    def _make(cls, kind, targets=(), controls=(), measures=(), matrix=None, name=None, params=(), data=EMPTY) -> Gate:
        g = cls.__new__(cls)
        g.kind, g.targets, g.controls, g.measures = kind, targets, controls, measures
        g.matrix, g.name, g.params, g.data = matrix, name, params, data
        g._wire = None  # its encoded form, once it has crossed a process boundary
        return g

    def __init__(self, *args, **kwargs):
        raise QlabTypeError("Build a Gate with Gate.unitary, Gate.library, Gate.measure, Gate.prepare or Gate.custom.")

    @classmethod
    def unitary(cls, targets, matrix, controls=(), *, name: str | None = None, params: Sequence[float] = (), data=None) -> Gate:
        """A unitary ``matrix`` on ``targets``, optionally controlled by ``controls``.

        Args:
            targets: the qubits the matrix acts on (first = most significant).
            matrix: a 2^k x 2^k unitary, k = number of targets.
            controls: control qubits (the matrix acts when all are 1).
            name: the qlab library name of the gate, when it is one (noise models key on it).
            params: the library gate's parameters.
            data: extra :class:`ArbData`.
        """
        targets = _refs(targets, "Gate.unitary targets")
        controls = _refs(controls, "Gate.unitary controls")
        if not targets:
            raise ChainDefinitionError("Gate.unitary needs at least one target qubit.")
        if set(targets) & set(controls):
            raise ChainDefinitionError(f"Gate.unitary: qubits {sorted(set(targets) & set(controls))} are both target and control.")
        m = _matrix(matrix, 2 ** len(targets), "Gate.unitary matrix")
        return cls._make(GateKind.UNITARY, targets, controls, (), m, name, tuple(float(p) for p in params), as_arb_data(data, "Gate data"))

    @classmethod
    def library(cls, name: str, *qubits: int, params: Sequence[float] = ()) -> Gate:
        """A gate of qlab's library (``"h"``, ``"cx"``, ``"rz"``, ...) on ``qubits``.

        >>> Gate.library("rz", 3, params=[0.5]).params
        (0.5,)
        >>> Gate.library("cx", 1)
        Traceback (most recent call last):
        ...
        qlab.exceptions.ChainDefinitionError: Gate.library: 'cx' acts on 2 qubit(s), got 1: (1,).
        """
        try:
            canonical = canonical_name(name)
        except CircuitError as err:
            raise ChainDefinitionError(f"Gate.library: {err}") from err
        spec = GATES.get(canonical)
        if spec is None or spec.num_qubits == 0 or not spec.num_qubits:
            raise ChainDefinitionError(f"Gate.library: {name!r} is not a library gate.")
        refs = _refs(qubits, "Gate.library qubits")
        if len(refs) != spec.num_qubits:
            raise ChainDefinitionError(f"Gate.library: {canonical!r} acts on {spec.num_qubits} qubit(s), got {len(refs)}: {refs}.")
        values = tuple(float(p) for p in params)
        if not all(math.isfinite(p) for p in values):
            raise ChainDefinitionError(f"Gate.library: parameters of {canonical!r} must be finite, got {values}.")
        try:
            m = gate_matrix(canonical, values)
        except CircuitError as err:
            raise ChainDefinitionError(f"Gate.library: {err}") from err
        return cls._make(GateKind.UNITARY, refs, (), (), m, canonical, values, EMPTY)

    @classmethod
    def measure(cls, *qubits: int, basis=None, data=None) -> Gate:
        """Measure ``qubits`` in ``basis`` (a 2x2 unitary; default Z: the identity)."""
        refs, m, data = cls._basis_gate("measure", qubits, basis, data)
        return cls._make(GateKind.MEASUREMENT, (), (), refs, m, None, (), data)

    @classmethod
    def prepare(cls, *qubits: int, basis=None, data=None) -> Gate:
        """Prepare ``qubits`` in ``basis @ |0>`` (default: ``|0>``)."""
        refs, m, data = cls._basis_gate("prepare", qubits, basis, data)
        return cls._make(GateKind.PREPARATION, refs, (), (), m, None, (), data)

    @staticmethod
    def _basis_gate(what: str, qubits, basis, data) -> tuple[tuple[int, ...], np.ndarray | None, ArbData]:
        refs = _refs(qubits, f"Gate.{what} qubits")
        if not refs:
            raise ChainDefinitionError(f"Gate.{what} needs at least one qubit.")
        m = None if basis is None else _matrix(basis, 2, f"Gate.{what} basis")
        return refs, m, as_arb_data(data, "Gate data")

    @classmethod
    def custom(cls, name: str, targets=(), controls=(), measures=(), matrix=None, data=None) -> Gate:
        """A named gate that plugins recognise by ``name`` (an identifier), with optional matrix and data.

        >>> Gate.custom("channel", [1], data={"kind": "kraus"}).name
        'channel'
        """
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise ChainDefinitionError(f"Gate.custom: name {name!r} must match [a-zA-Z0-9_]+.")
        targets = _refs(targets, "Gate.custom targets")
        controls = _refs(controls, "Gate.custom controls")
        measures = _refs(measures, "Gate.custom measures")
        m = None if matrix is None else _matrix(matrix, 2 ** len(targets), "Gate.custom matrix", check_unitary=False)
        return cls._make(GateKind.CUSTOM, targets, controls, measures, m, name, (), as_arb_data(data, "Gate data"))

    # ----------------------------------------------------------------- reading
    @property
    def qubits(self) -> tuple[int, ...]:
        """Every qubit the gate touches: controls, targets, then measured qubits."""
        return self.controls + self.targets + tuple(q for q in self.measures if q not in self.targets)

    def with_qubits(self, mapping: Mapping[int, int]) -> Gate:
        """The same gate with every qubit reference ``q`` replaced by ``mapping[q]``."""
        def remap(refs):
            return tuple(mapping[q] for q in refs)
        return Gate._make(self.kind, remap(self.targets), remap(self.controls), remap(self.measures),
                          self.matrix, self.name, self.params, self.data)

    def full_matrix(self) -> np.ndarray | None:
        """The unitary on ``controls + targets`` (the controlled matrix), or ``None``."""
        if self.matrix is None or not self.controls:
            return self.matrix
        n = 2 ** (len(self.controls) + len(self.targets))
        full = np.eye(n, dtype=complex)
        k = self.matrix.shape[0]
        full[n - k:, n - k:] = self.matrix
        return full

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Gate):
            return NotImplemented
        same_matrix = (self.matrix is None and other.matrix is None) or (
            self.matrix is not None and other.matrix is not None and np.array_equal(self.matrix, other.matrix)
        )
        return same_matrix and all(
            getattr(self, f) == getattr(other, f) for f in ("kind", "targets", "controls", "measures", "name", "params", "data")
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.kind is GateKind.MEASUREMENT:
            return f"Gate.measure({', '.join(map(str, self.measures))})"
        if self.kind is GateKind.PREPARATION:
            return f"Gate.prepare({', '.join(map(str, self.targets))})"
        if self.kind is GateKind.CUSTOM:
            return f"Gate.custom({self.name!r}, targets={list(self.targets)})"
        if self.name is not None and not self.controls:
            tail = f", params={list(self.params)}" if self.params else ""
            return f"Gate.library({self.name!r}, {', '.join(map(str, self.targets))}{tail})"
        return f"Gate.unitary({list(self.targets)}, <{self.matrix.shape[0]}x{self.matrix.shape[0]}>, controls={list(self.controls)})"


class Measurement:
    """The result of measuring one qubit: 0, 1 or undefined (``None``), plus data.

    >>> Measurement(2, 1)
    Measurement(2, 1)
    >>> Measurement(2, 3)
    Traceback (most recent call last):
    ...
    qlab.exceptions.ChainDefinitionError: Measurement value must be 0, 1 or None (undefined), got 3.
    """

    __slots__ = ("qubit", "value", "data")

    def __init__(self, qubit: int, value: int | None, data=None):
        self.qubit = _ref(qubit, "Measurement qubit")
        if value is not None and (isinstance(value, bool) or value not in (0, 1)):
            raise ChainDefinitionError(f"Measurement value must be 0, 1 or None (undefined), got {value!r}.")
        self.value = None if value is None else int(value)
        self.data = as_arb_data(data, "Measurement data")

    @classmethod
    def _trusted(cls, qubit: int, value: int | None, data: ArbData = EMPTY) -> Measurement:
        m = cls.__new__(cls)
        m.qubit, m.value, m.data = qubit, value, data
        return m

    def replace(self, *, qubit: int | None = None, value: int | None | type(...) = ..., data=None) -> Measurement:
        """A copy with some fields changed (``value=None`` makes it undefined)."""
        return Measurement(
            self.qubit if qubit is None else qubit,
            self.value if value is ... else value,
            self.data if data is None else data,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Measurement) and (self.qubit, self.value) == (other.qubit, other.value) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        tail = f", {self.data!r}" if self.data else ""
        return f"Measurement({self.qubit}, {self.value}{tail})"
