"""Observables as real sums of Pauli strings, their exact values, and measuring them by sampling.

An :class:`Observable` on ``n`` qubits is ``constant * I + sum_P c_P P`` with
real coefficients; character ``i`` of a Pauli string acts on qubit ``i``.

Sampling an observable groups its terms into qubit-wise commuting sets
(:meth:`Observable.groups`): one circuit per group, rotated so that every
term of the group is diagonal (``X``: H; ``Y``: S† then H), measured on the
group's qubits. Each shot gives the value ``f(b) = sum_P c_P (-1)^{parity of
b on P}``; a group contributes the mean of ``f`` and the variance of that
mean (the sample variance over ``N - 1``, divided by ``N``); groups are
independent, so their means and variances add (:func:`recombine`).

>>> obs = Observable(2, {"ZZ": 1.0, "XX": 0.5}, constant=0.25)
>>> obs
Observable(2, {'XX': 0.5, 'ZZ': 1.0}, constant=0.25)
>>> [g.basis for g in obs.groups()]
['XX', 'ZZ']
>>> Observable(2, {"ZQ": 1.0})
Traceback (most recent call last):
...
qlab.exceptions.QPUDataError: Invalid observable: term 'ZQ' must be 2 characters from I, X, Y, Z.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..circuit import Circuit
from ..exceptions import QPUDataError
from .schema import field, mapping

__all__ = ["Observable", "MeasurementGroup", "pauli_expectation", "group_estimate", "recombine"]

_PAULIS = frozenset("IXYZ")


class Observable:
    """A Hermitian observable: a real linear combination of Pauli strings.

    Args:
        nqbits: how many qubits it acts on.
        terms: Pauli string (``len == nqbits``, over ``I, X, Y, Z``) -> real coefficient.
            Repeated strings add; the all-``I`` string joins the constant.
        constant: the coefficient of the identity.

    Raises:
        QPUDataError: a string of the wrong length or alphabet, a non-finite or complex coefficient.
    """

    __slots__ = ("nqbits", "terms", "constant")

    def __init__(self, nqbits: int, terms: Mapping[str, float] | None = None, constant: float = 0.0):
        if isinstance(nqbits, bool) or not isinstance(nqbits, int) or nqbits < 1:
            raise QPUDataError(f"Invalid observable: nqbits must be an int >= 1, got {nqbits!r}.")
        constant = _coefficient(constant, "constant")
        merged: dict[str, float] = {}
        for pauli, coeff in (terms or {}).items():
            if not isinstance(pauli, str) or len(pauli) != nqbits or set(pauli.upper()) - _PAULIS:
                raise QPUDataError(f"Invalid observable: term {pauli!r} must be {nqbits} characters from I, X, Y, Z.")
            pauli = pauli.upper()
            coeff = _coefficient(coeff, f"the coefficient of {pauli!r}")
            if set(pauli) == {"I"}:
                constant += coeff
            else:
                merged[pauli] = merged.get(pauli, 0.0) + coeff
        self.nqbits = nqbits
        """The number of qubits."""
        self.terms = {p: c for p, c in sorted(merged.items()) if c != 0.0}
        """Non-identity Pauli string -> coefficient, sorted by string."""
        self.constant = constant
        """The coefficient of the identity."""

    def __add__(self, other: Observable) -> Observable:
        if not isinstance(other, Observable) or other.nqbits != self.nqbits:
            return NotImplemented
        terms = dict(self.terms)
        for p, c in other.terms.items():
            terms[p] = terms.get(p, 0.0) + c
        return Observable(self.nqbits, terms, self.constant + other.constant)

    def __mul__(self, scalar: float) -> Observable:
        if isinstance(scalar, bool) or not isinstance(scalar, (int, float)):
            return NotImplemented
        return Observable(self.nqbits, {p: c * scalar for p, c in self.terms.items()}, self.constant * scalar)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Observable) and other.nqbits == self.nqbits and other.terms == self.terms
                and other.constant == self.constant)

    __hash__ = None

    def __repr__(self) -> str:
        constant = f", constant={self.constant!r}" if self.constant else ""
        return f"Observable({self.nqbits}, {self.terms!r}{constant})"

    def to_dict(self) -> dict:
        """JSON-ready data: ``{"nqbits", "terms": [[pauli, coeff], ...], "constant"}``."""
        return {"nqbits": self.nqbits, "terms": [[p, c] for p, c in self.terms.items()], "constant": self.constant}

    @classmethod
    def from_dict(cls, data: object) -> Observable:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "observable")
        terms: dict[str, float] = {}
        for item in field(data, "terms", list, "observable"):
            if not isinstance(item, list) or len(item) != 2:
                raise QPUDataError(f"Cannot read observable: each term must be [pauli, coefficient], got {item!r:.80}.")
            terms[item[0]] = terms.get(item[0], 0.0) + _coefficient(item[1], f"the coefficient of {item[0]!r}")
        return cls(field(data, "nqbits", int, "observable"), terms, field(data, "constant", (int, float), "observable", 0.0))

    def exact_value(self, matrix: np.ndarray) -> float:
        """``Tr(O rho)`` for a ``2**nqbits`` square density matrix (qubit 0 most significant)."""
        return self.constant + sum(c * pauli_expectation(matrix, p) for p, c in self.terms.items())

    def groups(self) -> list[MeasurementGroup]:
        """The terms in qubit-wise commuting groups (greedy, largest weight first), each with its basis."""
        groups: list[tuple[list[str], dict[str, float]]] = []
        for pauli in sorted(self.terms, key=lambda p: (-sum(ch != "I" for ch in p), p)):
            for basis, members in groups:
                if all(a == "I" or b == "I" or a == b for a, b in zip(pauli, basis)):
                    basis[:] = [b if b != "I" else a for a, b in zip(pauli, basis)]
                    members[pauli] = self.terms[pauli]
                    break
            else:
                groups.append((list(pauli), {pauli: self.terms[pauli]}))
        return sorted((MeasurementGroup("".join(b), m) for b, m in groups), key=lambda g: g.basis)


@dataclass(frozen=True)
class MeasurementGroup:
    """Pauli terms that one measurement basis measures together."""

    basis: str
    """One character per qubit: the basis it is measured in (``I``: not measured)."""
    terms: dict
    """Pauli string -> coefficient (each diagonal in :attr:`basis`)."""

    @property
    def qubits(self) -> list[int]:
        """The measured qubits, in order."""
        return [q for q, b in enumerate(self.basis) if b != "I"]

    def rotated(self, circuit: Circuit) -> Circuit:
        """A copy of ``circuit`` followed by the rotations into this basis."""
        out = circuit.copy()
        for q, b in enumerate(self.basis):
            if b == "Y":
                out.sdg(q)
            if b in "XY":
                out.h(q)
        return out

    def values(self) -> np.ndarray:
        """``f(b)`` for every outcome index ``b`` over :attr:`qubits` (first qubit most significant)."""
        qubits = self.qubits
        k = len(qubits)
        outcomes = np.arange(2**k)
        bits = (outcomes[:, None] >> (k - 1 - np.arange(k))) & 1
        f = np.zeros(2**k)
        for pauli, coeff in self.terms.items():
            mask = np.array([pauli[q] != "I" for q in qubits])
            f += coeff * (1 - 2 * (bits[:, mask].sum(axis=1) % 2))
        return f


def group_estimate(f: np.ndarray, probabilities: np.ndarray, nbshots: int) -> tuple[float, float]:
    """The mean of the per-outcome values ``f`` and the variance of that mean, from outcome
    frequencies of ``nbshots`` shots (``nbshots == 0``: exact probabilities, variance 0)."""
    mean = float(probabilities @ f)
    if nbshots == 0:
        return mean, 0.0
    spread = float(probabilities @ (f - mean) ** 2)
    return mean, spread * nbshots / max(nbshots - 1, 1) / nbshots


def recombine(observable: Observable, estimates: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The observable's value and its standard error from the ``(mean, variance)`` of every group."""
    value = observable.constant + sum(m for m, _ in estimates)
    return value, math.sqrt(sum(v for _, v in estimates))


def pauli_expectation(matrix: np.ndarray, pauli: str) -> float:
    """``Tr(P rho)`` in O(2**n): ``P`` maps ``|j>`` to a phase times ``|j xor x>``.

    >>> rho = np.diag([1.0, 0.0]).astype(complex)
    >>> pauli_expectation(rho, "Z"), pauli_expectation(rho, "X")
    (1.0, 0.0)
    """
    n = len(pauli)
    x = sum(1 << (n - 1 - q) for q, ch in enumerate(pauli) if ch in "XY")
    z = sum(1 << (n - 1 - q) for q, ch in enumerate(pauli) if ch in "ZY")
    ny = pauli.count("Y")
    j = np.arange(2**n)
    # P|k> = i^ny (-1)^{popcount(k & z)} |k xor x>; Tr(P rho) = sum_k <k xor x|... = sum_k P[k^x, k] rho[k, k^x]
    signs = 1 - 2 * (_popcount(j & z) % 2)
    return float(((1j**ny) * signs * matrix[j, j ^ x]).sum().real)


def _popcount(a: np.ndarray) -> np.ndarray:
    count = np.zeros_like(a)
    while np.any(a):
        count += a & 1
        a = a >> 1
    return count


def _coefficient(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise QPUDataError(f"Invalid observable: {what} must be a finite real number, got {value!r}.")
    return float(value)
