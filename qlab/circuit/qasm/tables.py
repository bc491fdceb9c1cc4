"""OpenQASM names of the qlab gate library, and definitions of the gates the includes lack."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..gates import ALIASES, GATES

QASM_ALIASES = {**ALIASES, "U": "u3", "CX": "cx"}
"""OpenQASM spellings of library gates with the same parameters."""

LIBRARY_CALLS = frozenset(GATES) | frozenset(QASM_ALIASES) | {"cu3"}
"""Gate names read as library gates (kept as calls when pyqasm unrolls)."""

CONTROLLED = {
    ("x", 1): "cx", ("x", 2): "ccx", ("cx", 1): "ccx", ("y", 1): "cy", ("z", 1): "cz",
    ("h", 1): "ch", ("swap", 1): "cswap", ("rx", 1): "crx", ("ry", 1): "cry",
    ("rz", 1): "crz", ("p", 1): "cp",
}
"""``ctrl(n) @ gate`` that is a library gate with the same parameters."""

PHASE_CONTROLLED = {"s": np.pi / 2, "sdg": -np.pi / 2, "t": np.pi / 4, "tdg": -np.pi / 4}
"""``ctrl @ gate`` that is ``cp(angle)``."""

QELIB1 = frozenset(
    {"u3", "u2", "u1", "cx", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry", "rz",
     "cz", "cy", "ch", "ccx", "crz", "cu1", "cu3"}
)
"""The gates of ``qelib1.inc`` as published with OpenQASM 2.0."""

STDGATES = frozenset(
    {"p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
     "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase",
     "id", "u1", "u2", "u3"}
)
"""The gates of the OpenQASM 3 ``stdgates.inc``."""

QASM2_NAMES = {"p": "u1", "cp": "cu1"}
"""Library gates that OpenQASM 2 spells differently."""

DEFINITIONS = {
    "sx": "gate sx a { sdg a; h a; sdg a; }",
    "sxdg": "gate sxdg a { s a; h a; s a; }",
    "rxy": "gate rxy(theta, phi) a { rz(-phi) a; rx(theta) a; rz(phi) a; }",
    "swap": "gate swap a, b { cx a, b; cx b, a; cx a, b; }",
    "iswap": "gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }",
    "crx": "gate crx(theta) a, b { u1(pi/2) b; cx a, b; u3(-theta/2, 0, 0) b; cx a, b; "
           "u3(theta/2, -pi/2, 0) b; }",
    "cry": "gate cry(theta) a, b { ry(theta/2) b; cx a, b; ry(-theta/2) b; cx a, b; }",
    "cu": "gate cu(theta, phi, lam, gamma) c, t { u1(gamma) c; u1((lam+phi)/2) c; "
          "u1((lam-phi)/2) t; cx c, t; u3(-theta/2, 0, -(phi+lam)/2) t; cx c, t; "
          "u3(theta/2, phi, 0) t; }",
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; "
           "rx(-pi/2) a; rx(-pi/2) b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "cswap": "gate cswap a, b, c { cx c, b; ccx a, b, c; cx c, b; }",
}
"""Definitions, from gates of both includes, for library gates an include lacks."""

RESERVED = frozenset(
    "OPENQASM include defcalgrammar def cal defcal gate extern box let break continue if else "
    "end return for while in switch case default input output const readonly mutable qreg "
    "qubit creg bool bit int uint float angle complex array void duration stretch gphase inv "
    "pow ctrl negctrl durationof sizeof delay reset measure barrier opaque true false pi tau "
    "euler U CX".split()
) | LIBRARY_CALLS
"""Names a register cannot have in OpenQASM text."""

PYQASM_SPELLING = {"phase": "p", "cphase": "cp"}
"""``stdgates.inc`` names pyqasm does not know, with the name it knows."""

TIME_UNITS = {"us": "us", "µs": "us", "ns": "ns", "ms": "ms", "s": "s"}
"""qlab delay units that OpenQASM 3 writes, with their OpenQASM spelling."""


def library_call(name: str, params: Sequence[float]) -> tuple[str, tuple[float, ...]]:
    """The library gate and parameters an OpenQASM gate name stands for.

    ``cu3(θ, φ, λ)`` of the published ``qelib1.inc`` controls the OpenQASM 2
    ``U``, ``Rz(φ) Ry(θ) Rz(λ)``: it is ``cu(θ, φ, λ, -(φ+λ)/2)``.

    >>> library_call("cu3", (0.1, 0.2, 0.4))
    ('cu', (0.1, 0.2, 0.4, -0.30000000000000004))
    """
    if name == "cu3":
        return "cu", (*params, control_phase("u3", params))
    return QASM_ALIASES.get(name, name), tuple(params)


def control_phase(spelling: str, params: Sequence[float]) -> float:
    """The phase ``stdgates.inc`` puts on a gate that the library's matrix lacks.

    It is global for the gate alone and becomes a relative phase under
    ``ctrl @``. ``params`` are the library ``u3`` parameters of the call (after
    any ``inv @``); other gates of the library carry no extra phase.

    * ``U(θ, φ, λ)``, the OpenQASM 3 built-in, is ``e^(iθ/2) u3(θ, φ, λ)``.
    * ``u3(θ, φ, λ) q { gphase(-(φ+λ+θ)/2); U(θ, φ, λ) q; }`` is
      ``e^(-i(φ+λ)/2) u3(θ, φ, λ)``, and ``u2(φ, λ)`` is ``u3(π/2, φ, λ)``
      of that gate (``u`` is read as ``u3``).

    >>> control_phase("u3", (0.1, 0.2, 0.4))
    -0.30000000000000004
    """
    if spelling == "U":
        return params[0] / 2
    if spelling in ("u3", "u2", "u"):
        return -(params[1] + params[2]) / 2
    return 0.0


def source_arity(name: str) -> tuple[int, int]:
    """(qubits, parameters) of an OpenQASM spelling of a library gate."""
    if name == "cu3":
        return 2, 3
    d = GATES[QASM_ALIASES.get(name, name)]
    return d.num_qubits, d.num_params
