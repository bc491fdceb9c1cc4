"""The gate library: names, arities, parameter counts and unitary matrices.

Matrices use the tensor order of QuTiP: the first qubit an instruction names
is the most significant (leftmost) factor. ``cx(0, 1)`` is therefore the
textbook ``[[1,0,0,0],[0,1,0,0],[0,0,0,1],[0,0,1,0]]``.

>>> gate_matrix("h").round(3).tolist()
[[(0.707+0j), (0.707+0j)], [(0.707+0j), (-0.707+0j)]]
>>> GATES["u3"].num_params, GATES["rzz"].num_qubits
(3, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..exceptions import CircuitError

__all__ = ["GateDef", "GATES", "gate_matrix", "is_unitary", "controlled", "ALIASES"]

_SQ2 = 1 / np.sqrt(2)
_I2 = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)


@dataclass(frozen=True)
class GateDef:
    """A named gate of the library.

    Attributes:
        name: the canonical (OpenQASM 3 ``stdgates.inc``) name.
        num_qubits: how many qubits the gate acts on.
        num_params: how many real angle parameters it takes.
        matrix_fn: builds the unitary from the parameters.
        self_inverse: whether the gate is its own inverse.
        inverse_name: the library gate that undoes this one with the same
            parameters negated, or ``None`` when the inverse is computed
            from parameters by :func:`inverse_params`.
        param_names: the names of the angle parameters, in order.
        qubit_names: the names of the qubit arguments, in order (controls first).
        summary: what the gate does, in one line.
    """

    name: str
    num_qubits: int
    num_params: int
    matrix_fn: Callable[..., np.ndarray] = field(repr=False, compare=False)
    self_inverse: bool = False
    inverse_name: str | None = None
    param_names: tuple[str, ...] = field(default=(), repr=False)
    qubit_names: tuple[str, ...] = field(default=("qubit",), repr=False)
    summary: str = field(default="", repr=False, compare=False)

    def __post_init__(self):
        if (len(self.param_names), len(self.qubit_names)) != (self.num_params, self.num_qubits):
            raise ValueError(f"Gate {self.name!r}: the argument names do not match its arity.")


def controlled(u: np.ndarray, num_controls: int = 1) -> np.ndarray:
    """Return the unitary ``u`` controlled on ``num_controls`` leading qubits.

    >>> controlled(np.array([[0, 1], [1, 0]])).real.astype(int).tolist()[3]
    [0, 0, 1, 0]
    """
    d = u.shape[0]
    full = np.eye(d * 2**num_controls, dtype=complex)
    full[-d:, -d:] = u
    return full


def _rx(t):
    c, s = np.cos(t / 2), np.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def _ry(t):
    c, s = np.cos(t / 2), np.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def _p(lam):
    return np.diag([1, np.exp(1j * lam)])


def _u3(theta, phi, lam):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array(
        [
            [c, -np.exp(1j * lam) * s],
            [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c],
        ]
    )


def _rxy(theta, phi):
    """Phased X rotation exp(-i theta/2 (cos(phi) X + sin(phi) Y))."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array(
        [[c, -1j * np.exp(-1j * phi) * s], [-1j * np.exp(1j * phi) * s, c]]
    )


def _two_axis(pauli: np.ndarray) -> Callable[[float], np.ndarray]:
    pp = np.kron(pauli, pauli)

    def matrix(theta):
        return np.cos(theta / 2) * np.eye(4) - 1j * np.sin(theta / 2) * pp

    return matrix


def _const(m) -> Callable[[], np.ndarray]:
    m = np.asarray(m, dtype=complex)
    return lambda: m


_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
_H = _SQ2 * np.array([[1, 1], [1, -1]], dtype=complex)
_SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])


_ONE = ("qubit",)
_PAIR = ("qubit1", "qubit2")
_CTRL = ("control", "target")


def _defs() -> list[GateDef]:
    def g(name, num_qubits, num_params, fn, summary, params=(), qubits=_ONE, **kw):
        return GateDef(name, num_qubits, num_params, fn, param_names=params, qubit_names=qubits, summary=summary, **kw)

    theta, lam = ("theta",), ("lam",)
    return [
        g("id", 1, 0, _const(_I2), "the identity (an idle step)", self_inverse=True),
        g("x", 1, 0, _const(_X), "Pauli X, the bit flip", self_inverse=True),
        g("y", 1, 0, _const(_Y), "Pauli Y, [[0, -i], [i, 0]]", self_inverse=True),
        g("z", 1, 0, _const(_Z), "Pauli Z, the phase flip", self_inverse=True),
        g("h", 1, 0, _const(_H), "the Hadamard gate, [[1, 1], [1, -1]]/sqrt(2)", self_inverse=True),
        g("s", 1, 0, _const(np.diag([1, 1j])), "S = sqrt(Z) = diag(1, i)", inverse_name="sdg"),
        g("sdg", 1, 0, _const(np.diag([1, -1j])), "S dagger = diag(1, -i)", inverse_name="s"),
        g("t", 1, 0, _const(np.diag([1, np.exp(0.25j * np.pi)])), "T = sqrt(S) = diag(1, e^(i pi/4))", inverse_name="tdg"),
        g("tdg", 1, 0, _const(np.diag([1, np.exp(-0.25j * np.pi)])), "T dagger = diag(1, e^(-i pi/4))", inverse_name="t"),
        g("sx", 1, 0, _const(_SX), "SX = sqrt(X) = [[1+i, 1-i], [1-i, 1+i]]/2", inverse_name="sxdg"),
        g("sxdg", 1, 0, _const(_SX.conj().T), "SX dagger, the inverse of sqrt(X)", inverse_name="sx"),
        g("rx", 1, 1, _rx, "rotation about X, exp(-i theta X/2)", theta),
        g("ry", 1, 1, _ry, "rotation about Y, exp(-i theta Y/2)", theta),
        g("rz", 1, 1, _rz, "rotation about Z, exp(-i theta Z/2)", theta),
        g("p", 1, 1, _p, "the phase gate diag(1, e^(i lam))", lam),
        g("u2", 1, 2, lambda phi, lam: _u3(np.pi / 2, phi, lam), "u3(pi/2, phi, lam)", ("phi", "lam")),
        g("u3", 1, 3, _u3, "the Euler rotation [[cos(theta/2), -e^(i lam) sin(theta/2)], "
          "[e^(i phi) sin(theta/2), e^(i(phi+lam)) cos(theta/2)]]", ("theta", "phi", "lam")),
        g("rxy", 1, 2, _rxy, "rotation about the equator axis at angle phi, exp(-i theta (cos(phi) X + sin(phi) Y)/2)",
          ("theta", "phi")),
        g("cx", 2, 0, _const(controlled(_X)), "controlled X (CNOT)", qubits=_CTRL, self_inverse=True),
        g("cy", 2, 0, _const(controlled(_Y)), "controlled Y", qubits=_CTRL, self_inverse=True),
        g("cz", 2, 0, _const(controlled(_Z)), "controlled Z (symmetric in its qubits)", qubits=_CTRL, self_inverse=True),
        g("ch", 2, 0, _const(controlled(_H)), "controlled Hadamard", qubits=_CTRL, self_inverse=True),
        g("swap", 2, 0, _const(_SWAP), "exchanges the states of two qubits", qubits=_PAIR, self_inverse=True),
        g("iswap", 2, 0, _const(_ISWAP), "swap with a phase i on |01> and |10>", qubits=_PAIR),
        g("crx", 2, 1, lambda t: controlled(_rx(t)), "controlled rx(theta)", theta, _CTRL),
        g("cry", 2, 1, lambda t: controlled(_ry(t)), "controlled ry(theta)", theta, _CTRL),
        g("crz", 2, 1, lambda t: controlled(_rz(t)), "controlled rz(theta)", theta, _CTRL),
        g("cp", 2, 1, lambda lam: controlled(_p(lam)), "controlled phase, diag(1, 1, 1, e^(i lam))", lam, _CTRL),
        g(
            "cu",
            2,
            4,
            lambda theta, phi, lam, gamma: controlled(np.exp(1j * gamma) * _u3(theta, phi, lam)),
            "controlled e^(i gamma) u3(theta, phi, lam)",
            ("theta", "phi", "lam", "gamma"),
            _CTRL,
        ),
        g("rxx", 2, 1, _two_axis(_X), "the XX interaction exp(-i theta X⊗X/2)", theta, _PAIR),
        g("ryy", 2, 1, _two_axis(_Y), "the YY interaction exp(-i theta Y⊗Y/2)", theta, _PAIR),
        g("rzz", 2, 1, _two_axis(_Z), "the ZZ interaction exp(-i theta Z⊗Z/2)", theta, _PAIR),
        g("ccx", 3, 0, _const(controlled(_X, 2)), "the Toffoli gate, X controlled by two qubits",
          qubits=("control1", "control2", "target"), self_inverse=True),
        g("cswap", 3, 0, _const(controlled(_SWAP)), "the Fredkin gate, a swap controlled by one qubit",
          qubits=("control", "target1", "target2"), self_inverse=True),
    ]


GATES: dict[str, GateDef] = {d.name: d for d in _defs()}
"""The library, by canonical name."""

ALIASES: dict[str, str] = {
    "u1": "p", "u": "u3", "cnot": "cx", "phase": "p", "cphase": "cp", "i": "id", "cu1": "cp",
}
"""Other names users write for library gates (OpenQASM 2 and common SDKs)."""


def canonical_name(name: str) -> str:
    """Resolve an alias to the library name; raise on unknown names.

    >>> canonical_name("u1")
    'p'
    """
    name = ALIASES.get(name, name)
    if name not in GATES:
        raise CircuitError(
            f"Unknown gate {name!r}: the library has {', '.join(sorted(GATES))} "
            f"(aliases: {', '.join(sorted(ALIASES))}); use Circuit.unitary() for other gates."
        )
    return name


def inverse_params(name: str, params: Sequence[float]) -> tuple[str, tuple[float, ...]]:
    """Return the (name, params) of the library gate that undoes ``name(params)``.

    >>> inverse_params("u3", (0.1, 0.2, 0.3))
    ('u3', (-0.1, -0.3, -0.2))
    """
    d = GATES[name]
    if d.self_inverse:
        return name, tuple(params)
    if d.inverse_name is not None:
        return d.inverse_name, tuple(params)
    if name == "iswap":
        raise CircuitError("Cannot invert 'iswap' inside the library; its inverse is not a library gate.")
    if name == "u3":
        theta, phi, lam = params
        return "u3", (-theta, -lam, -phi)
    if name == "u2":
        phi, lam = params
        return "u3", (-np.pi / 2, -lam, -phi)
    if name == "cu":
        theta, phi, lam, gamma = params
        return "cu", (-theta, -lam, -phi, -gamma)
    if name == "rxy":
        theta, phi = params
        return "rxy", (-theta, phi)
    return name, tuple(-p for p in params)


@lru_cache(maxsize=4096)
def _cached_matrix(name: str, params: tuple[float, ...]) -> np.ndarray:
    m = np.asarray(GATES[name].matrix_fn(*params), dtype=complex)
    m.setflags(write=False)
    return m


def gate_matrix(name: str, params: Sequence[float] = ()) -> np.ndarray:
    """The unitary of a library gate (read-only, cached per parameters).

    Raises:
        CircuitError: for an unknown name or a wrong number of parameters.
    """
    name = canonical_name(name)
    d = GATES[name]
    params = tuple(float(p) for p in params)
    if len(params) != d.num_params:
        raise CircuitError(
            f"Gate {name!r} takes {d.num_params} parameter(s), got {len(params)}: {params}."
        )
    return _cached_matrix(name, params)


def is_unitary(matrix: np.ndarray, atol: float = 1e-10) -> bool:
    """Whether ``matrix`` is square and unitary to ``atol``.

    >>> is_unitary(np.eye(2)), is_unitary(np.ones((2, 2)))
    (True, False)
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        return False
    return bool(np.allclose(m.conj().T @ m, np.eye(m.shape[0]), rtol=0, atol=atol))
