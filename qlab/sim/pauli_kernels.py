"""The numba kernels of the fast Pauli <-> density-matrix transforms (see :mod:`qlab.sim.pauli`).

Imported on first use of a large transform, so that importing qlab does not
load numba. Every kernel is cached on disk (``cache=True``): a new process
loads the compiled code instead of compiling it again.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

__all__ = ["run"]


@numba.njit(cache=True, inline="always")
def _wht(g):
    d = g.shape[0]
    h = 1
    while h < d:
        for i in range(0, d, 2 * h):
            for j in range(i, i + h):
                u = g[j]
                v = g[j + h]
                g[j] = u + v
                g[j + h] = u - v
        h *= 2


def _pauli_to_dm(x, spread, pop, ipow, out):
    d = spread.shape[0]
    scale = 1.0 / d
    for a in numba.prange(d):
        g = np.empty(d, dtype=np.complex128)
        sa = spread[a]
        for b in range(d):
            g[b] = x[sa + 2 * spread[b]] * ipow[pop[a & b] & 3]
        _wht(g)
        for c in range(d):
            out[c ^ a, c] = g[c] * scale


def _dm_to_pauli(rho, spread, pop, ipow, out):
    d = spread.shape[0]
    for a in numba.prange(d):
        h = np.empty(d, dtype=np.complex128)
        for r in range(d):
            h[r] = rho[r, r ^ a]
        _wht(h)
        sa = spread[a]
        for b in range(d):
            out[sa + 2 * spread[b]] = (h[b] * ipow[pop[a & b] & 3]).real


# Numba's default threading layer must not be entered by two threads at once, hence the lock.
_PARALLEL_LOCK = threading.Lock()
_KERNELS = {
    name: numba.njit(cache=True, parallel=True)(fn) for name, fn in (("to_dm", _pauli_to_dm), ("to_pauli", _dm_to_pauli))
}


def run(name: str, *args) -> None:
    """Run kernel ``name`` (``"to_dm"`` or ``"to_pauli"``) on its arrays, in parallel."""
    with _PARALLEL_LOCK:
        _KERNELS[name](*args)


def warm() -> None:
    """Compile (or load from the disk cache) both kernels, for example while building an image.

    >>> warm()
    """
    from .pauli import density_to_pauli_vector, pauli_vector_to_density

    n = 7
    zero = np.zeros(4**n)
    zero[0] = 1.0
    density_to_pauli_vector(pauli_vector_to_density(zero, n), n)
