"""Unrolling circuits into a device's native gates: a basic, exact decomposition.

:func:`unroll` rewrites every gate outside a native gate set, in three steps:

1. Multi-qubit library gates become ``cx`` plus one-qubit gates by textbook
   identities: ``cz = H.CX.H``, ``cy = Sdg.CX.S``, ``swap`` = three CX,
   ``iswap``, ``rxx``/``ryy``/``rzz`` by basis change around ``CX.Rz.CX``,
   every controlled one-qubit gate (``ch``, ``crx``, ``cry``, ``crz``, ``cp``,
   ``cu``) by the ``A.CX.B.CX.C`` construction (Nielsen & Chuang 4.2),
   ``ccx`` by its 6-CX circuit and ``cswap`` as ``CX.CCX.CX``.
2. ``cx`` becomes the native entangler: ``cx`` itself, ``CX = H.CZ.H``, or
   ``CX = H.(Rz(pi/2) x Rz(pi/2)).Rzz(-pi/2).H``.
3. Runs of one-qubit gates on a qubit (that contain a non-native gate) are
   multiplied into one 2x2 unitary and written with exact Euler angles
   ``U = e^{ia} Rz(alpha) Ry(beta) Rz(gamma)`` (:func:`euler_zyz`) in the
   natives: ``u3``; ``rz, ry``; ``rz, sx`` (``Rz.SX.Rz.SX.Rz``); ``rz, rx``;
   or ``rxy`` (``Rxy(beta, pi/2 - gamma)`` then ``Rz(alpha + gamma)``, where a
   missing ``rz`` is two ``rxy`` pi pulses).

The result equals the input up to a global phase. Nothing is routed: qubits
keep their indices, so a two-qubit gate stays on the pair it was written for.
Multi-qubit ``unitary`` instructions are not decomposed.

>>> from qlab import Circuit
>>> unroll(Circuit(1).h(0), {"rz", "sx", "cz"})
Circuit(1).rz(1.5707963267948966, 0).sx(0).rz(1.5707963267948966, 0)
>>> unroll(Circuit(2).cx(0, 1), {"rxy", "rzz"}).count_ops()
{'rxy': 8, 'rzz': 1}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

import numpy as np

from ..circuit import Circuit
from ..circuit.gates import gate_matrix
from ..circuit.instruction import NON_GATE_OPS, Instruction
from ..exceptions import UnsupportedProgramError

__all__ = ["unroll", "euler_zyz", "one_qubit_gates", "empty_like", "ENTANGLERS"]

_PI = math.pi
_EPS = 1e-12

Gate = tuple[str, tuple[int, ...], tuple[float, ...]]


def euler_zyz(u: np.ndarray) -> tuple[float, float, float, float]:
    """Angles ``(alpha, beta, gamma, phase)`` with ``u = e^{i phase} Rz(alpha) Ry(beta) Rz(gamma)``.

    >>> from qlab.circuit import gate_matrix
    >>> [round(x, 6) for x in euler_zyz(gate_matrix("h"))]
    [0.0, 1.570796, 3.141593, 1.570796]
    """
    u = np.asarray(u, dtype=complex)
    v = u / np.sqrt(np.linalg.det(u))
    a, b = abs(v[0, 0]), abs(v[1, 0])
    beta = 2 * math.atan2(b, a)
    plus = -2 * float(np.angle(v[0, 0])) if a > _EPS else 0.0
    minus = 2 * float(np.angle(v[1, 0])) if b > _EPS else 0.0
    alpha, gamma = (plus + minus) / 2, (plus - minus) / 2
    ref = gate_matrix("rz", (alpha,)) @ gate_matrix("ry", (beta,)) @ gate_matrix("rz", (gamma,))
    i, j = (0, 0) if a >= b else (1, 0)
    phase = float(np.angle(u[i, j] / ref[i, j]))
    return alpha, beta, gamma, phase


def _wrap(angle: float) -> float:
    """The angle in ``(-pi, pi]``."""
    w = math.remainder(angle, 2 * _PI)
    return _PI if w == -_PI else w


def _rot(name: str, angle: float, q: int) -> list[Gate]:
    """A rotation, dropped when it is the identity up to a global phase."""
    angle = _wrap(angle)
    return [] if abs(angle) < _EPS else [(name, (q,), (angle,))]


def one_qubit_gates(u: np.ndarray, q: int, natives: Collection[str]) -> list[Gate]:
    """Native gates (in application order) that make the 2x2 unitary ``u`` on qubit ``q``.

    Raises:
        UnsupportedProgramError: when the natives cannot express one-qubit gates.

    >>> from qlab.circuit import gate_matrix
    >>> one_qubit_gates(gate_matrix("x"), 0, {"rxy", "rzz"})
    [('rxy', (0,), (3.141592653589793, 0.0))]
    >>> one_qubit_gates(gate_matrix("y"), 3, {"rz", "sx", "x"})
    [('rz', (3,), (-1.5707963267948966,)), ('x', (3,), ()), ('rz', (3,), (1.5707963267948966,))]
    """
    alpha, beta, gamma, _ = euler_zyz(u)
    if "u3" in natives:
        if abs(_wrap(alpha + gamma)) < _EPS and abs(_wrap(beta)) < _EPS:
            return []
        return [("u3", (q,), (_wrap(beta), _wrap(alpha), _wrap(gamma)))]
    if "rz" in natives:
        if abs(_wrap(beta)) < _EPS:
            return _rot("rz", alpha + gamma, q)
        if "ry" in natives:
            return _rot("rz", gamma, q) + _rot("ry", beta, q) + _rot("rz", alpha, q)
        if "sx" in natives and abs(beta - _PI / 2) < _EPS:
            return _rot("rz", gamma - _PI / 2, q) + [("sx", (q,), ())] + _rot("rz", alpha + _PI / 2, q)
        if "x" in natives and abs(beta - _PI) < _EPS:
            return _rot("rz", gamma - _PI / 2, q) + [("x", (q,), ())] + _rot("rz", alpha + _PI / 2, q)
        if "sx" in natives:
            return _rot("rz", gamma, q) + [("sx", (q,), ())] + _rot("rz", beta + _PI, q) + [("sx", (q,), ())] + _rot(
                "rz", alpha + _PI, q
            )
        if "rx" in natives:
            return _rot("rz", gamma - _PI / 2, q) + _rot("rx", beta, q) + _rot("rz", alpha + _PI / 2, q)
    if "rxy" in natives:
        out = [] if abs(_wrap(beta)) < _EPS else [("rxy", (q,), (_wrap(beta), _wrap(_PI / 2 - gamma)))]
        delta = _wrap(alpha + gamma)
        if abs(delta) < _EPS:
            return out
        if "rz" in natives:
            return out + [("rz", (q,), (delta,))]
        return out + [("rxy", (q,), (_PI, 0.0)), ("rxy", (q,), (_PI, _wrap(delta / 2)))]
    raise UnsupportedProgramError(
        f"Cannot unroll one-qubit gates into the natives {sorted(natives)}: qlab writes them with u3, "
        "rz with ry, sx or rx, or rxy."
    )


def _controlled(u: np.ndarray, c: int, t: int) -> list[Gate]:
    """Controlled-``u`` as ``P(phase) on c . A.CX.B.CX.C on t`` (Nielsen & Chuang, Corollary 4.2)."""
    alpha, beta, gamma, phase = euler_zyz(u)
    return [
        ("rz", (t,), ((gamma - alpha) / 2,)),
        ("cx", (c, t), ()),
        ("rz", (t,), (-(gamma + alpha) / 2,)),
        ("ry", (t,), (-beta / 2,)),
        ("cx", (c, t), ()),
        ("ry", (t,), (beta / 2,)),
        ("rz", (t,), (alpha,)),
        ("p", (c,), (phase,)),
    ]


def _ccx(a: int, b: int, c: int) -> list[Gate]:
    return [
        ("h", (c,), ()), ("cx", (b, c), ()), ("tdg", (c,), ()), ("cx", (a, c), ()), ("t", (c,), ()),
        ("cx", (b, c), ()), ("tdg", (c,), ()), ("cx", (a, c), ()), ("t", (b,), ()), ("t", (c,), ()),
        ("h", (c,), ()), ("cx", (a, b), ()), ("t", (a,), ()), ("tdg", (b,), ()), ("cx", (a, b), ()),
    ]


def _to_cx(name: str, qubits: tuple[int, ...], params: tuple[float, ...]) -> list[Gate]:
    """A multi-qubit library gate as ``cx`` plus one-qubit library gates."""
    if name == "cx":
        return [(name, qubits, params)]
    if name == "ccx":
        return _ccx(*qubits)
    if name == "cswap":
        a, b, c = qubits
        return [("cx", (c, b), ())] + _ccx(a, b, c) + [("cx", (c, b), ())]
    a, b = qubits
    if name == "cz":
        return [("h", (b,), ()), ("cx", (a, b), ()), ("h", (b,), ())]
    if name == "cy":
        return [("sdg", (b,), ()), ("cx", (a, b), ()), ("s", (b,), ())]
    if name == "swap":
        return [("cx", (a, b), ()), ("cx", (b, a), ()), ("cx", (a, b), ())]
    if name == "iswap":
        return [("s", (a,), ()), ("s", (b,), ()), ("h", (a,), ()), ("cx", (a, b), ()), ("cx", (b, a), ()), ("h", (b,), ())]
    if name == "rzz":
        return [("cx", (a, b), ()), ("rz", (b,), params), ("cx", (a, b), ())]
    if name == "rxx":
        basis, undo = [("h", (a,), ()), ("h", (b,), ())], [("h", (a,), ()), ("h", (b,), ())]
    elif name == "ryy":
        basis = [("rx", (a,), (_PI / 2,)), ("rx", (b,), (_PI / 2,))]
        undo = [("rx", (a,), (-_PI / 2,)), ("rx", (b,), (-_PI / 2,))]
    else:
        target = {"ch": "h", "crx": "rx", "cry": "ry", "crz": "rz", "cp": "p"}.get(name)
        if target is not None:
            return _controlled(gate_matrix(target, params), a, b)
        theta, phi, lam, gamma = params
        return _controlled(np.exp(1j * gamma) * gate_matrix("u3", (theta, phi, lam)), a, b)
    return basis + [("cx", (a, b), ()), ("rz", (b,), params), ("cx", (a, b), ())] + undo


def _cx_as_cz(c: int, t: int) -> list[Gate]:
    return [("h", (t,), ()), ("cz", (c, t), ()), ("h", (t,), ())]


def _cx_as_rzz(c: int, t: int) -> list[Gate]:
    return [
        ("h", (t,), ()), ("rzz", (c, t), (-_PI / 2,)), ("rz", (c,), (_PI / 2,)), ("rz", (t,), (_PI / 2,)), ("h", (t,), ()),
    ]


ENTANGLERS: dict[str, Callable[[int, int], list[Gate]]] = {
    "cx": lambda c, t: [("cx", (c, t), ())],
    "cz": _cx_as_cz,
    "rzz": _cx_as_rzz,
}
"""How ``cx(c, t)`` is written with each native entangler qlab can target, in order of preference."""


def unroll(circuit: Circuit, natives: Collection[str]) -> Circuit:
    """The circuit with every gate written in the ``natives`` (plus measure, reset, barrier, delay).

    Circuits that already use only native gates come back unchanged (the same object).
    Conditioned gates are decomposed with their condition on every piece.

    Raises:
        UnsupportedProgramError: for multi-qubit ``unitary`` instructions, or natives that
            cannot express what the circuit needs (the message names both).
    """
    natives = frozenset(natives)
    if all(ins.name in natives or ins.name in NON_GATE_OPS for ins in circuit):
        return circuit
    out = empty_like(circuit)
    runs = _Runs(natives, lambda gate: out.append(*gate))
    for ins in circuit:
        if ins.name in NON_GATE_OPS:
            runs.flush(ins.qubits)
            out.append(ins.name, ins.qubits, ins.params, clbits=ins.clbits, condition=ins.condition, unit=ins.unit)
        elif ins.condition is None:
            for gate, matrix in _pieces(ins, natives):
                runs.add(gate, matrix)
        else:
            runs.flush(ins.qubits)
            local = _Runs(natives, lambda gate, c=ins.condition: out.append(*gate, condition=c))
            for gate, matrix in _pieces(ins, natives):
                local.add(gate, matrix)
            local.flush(ins.qubits)
    runs.flush(list(runs.pending))
    return out


class _Runs:
    """Collects one-qubit gates per qubit; a run that is not all native is rewritten as one Euler sequence."""

    def __init__(self, natives: frozenset[str], emit: Callable[[Gate], None]):
        self.natives = natives
        self.emit = emit
        self.pending: dict[int, list[tuple[Gate, np.ndarray]]] = {}

    def add(self, gate: Gate, matrix: np.ndarray) -> None:
        qubits = gate[1]
        if len(qubits) == 1:
            self.pending.setdefault(qubits[0], []).append((gate, matrix))
        else:
            self.flush(qubits)
            self.emit(gate)

    def flush(self, qubits) -> None:
        for q in qubits:
            run = self.pending.pop(q, None)
            if not run:
                continue
            if all(gate[0] in self.natives for gate, _ in run):
                for gate, _ in run:
                    self.emit(gate)
                continue
            u = np.eye(2, dtype=complex)
            for _, matrix in run:
                u = matrix @ u
            for gate in one_qubit_gates(u, q, self.natives):
                self.emit(gate)


def _pieces(ins: Instruction, natives: frozenset[str]) -> list[tuple[Gate, np.ndarray | None]]:
    """One gate as native gates and one-qubit gates (with their matrices, ``None`` for multi-qubit ones)."""
    gate = (ins.name, ins.qubits, ins.params)
    if len(ins.qubits) == 1:
        return [(gate, ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params))]
    if ins.name in natives:
        return [(gate, None)]
    if ins.name == "unitary":
        raise UnsupportedProgramError(
            f"Cannot unroll the {len(ins.qubits)}-qubit user gate {ins.label!r} on qubits {ins.qubits}: qlab "
            "decomposes library gates only; write it with library gates."
        )
    entangler = next((ENTANGLERS[e] for e in ENTANGLERS if e in natives), None)
    if entangler is None:
        raise UnsupportedProgramError(
            f"Cannot unroll {ins.name!r} on qubits {ins.qubits}: the natives {sorted(natives)} have no two-qubit "
            f"gate qlab can target ({', '.join(ENTANGLERS)})."
        )
    out: list[tuple[Gate, np.ndarray | None]] = []
    for g in _to_cx(*gate):
        for name, qs, params in entangler(*g[1]) if g[0] == "cx" and "cx" not in natives else [g]:
            out.append(((name, qs, params), gate_matrix(name, params) if len(qs) == 1 else None))
    return out


def empty_like(circuit: Circuit) -> Circuit:
    """A circuit with the registers of ``circuit`` and no instructions."""
    out = Circuit(name=circuit.name)
    for reg in circuit.qregs:
        out.add_qreg(reg.name, reg.size)
    for reg in circuit.cregs:
        out.add_creg(reg.name, reg.size)
    return out
