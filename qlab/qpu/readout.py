"""Per-qubit confusion matrices acting on outcome distributions.

>>> import numpy as np
>>> flip = np.array([[0.0, 1.0], [1.0, 0.0]])
>>> apply_per_qubit(np.array([1.0, 0.0, 0.0, 0.0]), [np.eye(2), flip]).tolist()
[0.0, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["apply_per_qubit"]


def apply_per_qubit(p: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """``(M_0 (x) M_1 (x) ...) p`` for a vector over ``len(matrices)`` qubits (first qubit most significant)."""
    k = len(matrices)
    t = p.reshape((2,) * k) if k else p
    for axis, m in enumerate(matrices):
        t = np.moveaxis(np.tensordot(m, t, axes=([1], [axis])), 0, axis)
    return t.reshape(-1)
