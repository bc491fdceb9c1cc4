"""Assertions and generators for testing code built on qlab.

Plugins (simulators, error models, devices) use these in their own test
suites; qlab's suite uses them too. Every assertion raises ``AssertionError``
with a message that says what differs.

>>> from qlab.sim import amplitude_damping
>>> assert_consistent_channel(amplitude_damping(0.3))
>>> random_circuit(3, depth=2, seed=1) == random_circuit(3, depth=2, seed=1)
True
"""

from __future__ import annotations

from itertools import product

import numpy as np
import qutip

from .circuit import Circuit
from .circuit.gates import GATES, canonical_name
from .sim import Channel, DensityMatrix

__all__ = [
    "assert_consistent_channel",
    "assert_allclose_up_to_global_phase",
    "assert_states_close",
    "random_circuit",
]

_SINGLE = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
}


def _paulis(k: int) -> list[np.ndarray]:
    """Pauli strings on ``k`` qubits in qlab's order (``I, X, Z, Y`` per qubit, qubit 0 first)."""
    out = []
    for labels in product("IXZY", repeat=k):
        m = np.ones((1, 1), dtype=complex)
        for c in labels:
            m = np.kron(m, _SINGLE[c])
        out.append(m)
    return out


def _choi(superop: np.ndarray) -> np.ndarray:
    """``sum_ij |i><j| (x) E(|i><j|)`` of a column-stacking superoperator."""
    d = int(round(np.sqrt(superop.shape[0])))
    choi = np.zeros((d * d, d * d), dtype=complex)
    for i, j in product(range(d), repeat=2):
        image = superop[:, i + d * j].reshape(d, d, order="F")
        choi[i * d:(i + 1) * d, j * d:(j + 1) * d] = image
    return choi


def _close(a, b, atol: float) -> bool:
    return bool(np.allclose(a, b, rtol=0, atol=atol))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def assert_consistent_channel(channel: Channel, atol: float = 1e-9) -> None:
    """Check that a channel is CPTP and that all its representations agree.

    Checks: the Pauli transfer matrix is real and trace preserving; the Choi
    matrix is Hermitian, positive semi-definite and traces to the identity
    over the output; ``to_kraus`` gives operators with ``sum K^dagger K = I``
    whose superoperator is ``to_superop()`` and whose PTM is ``ptm``; and
    ``to_qobj`` holds the same superoperator.

    Args:
        channel: the :class:`~qlab.sim.Channel` to check.
        atol: absolute tolerance of every comparison.

    Raises:
        AssertionError: naming the first check that fails.

    >>> from qlab.sim import depolarizing, thermal_relaxation
    >>> assert_consistent_channel(depolarizing(0.05, 2))
    >>> assert_consistent_channel(thermal_relaxation(50e-6, 70e-6, 1e-6, excited_population=0.1))
    """
    _check(isinstance(channel, Channel), f"expected a qlab Channel, got {type(channel).__name__}")
    k = channel.num_qubits
    d = 2**k
    ptm = np.asarray(channel.ptm)
    _check(ptm.shape == (d * d, d * d), f"the PTM of {channel!r} has shape {ptm.shape}, expected {(d * d, d * d)}")
    _check(np.isrealobj(ptm), f"the PTM of {channel!r} is not real (dtype {ptm.dtype})")
    _check(_close(ptm[0], np.eye(d * d)[0], atol=atol), f"{channel!r} is not trace preserving: PTM row 0 is {ptm[0]}")
    superop = channel.to_superop()
    choi = _choi(superop)
    _check(_close(choi, choi.conj().T, atol=atol), f"the Choi matrix of {channel!r} is not Hermitian")
    lowest = np.linalg.eigvalsh((choi + choi.conj().T) / 2).min()
    _check(lowest >= -atol, f"{channel!r} is not completely positive: its Choi matrix has eigenvalue {lowest:.3g}")
    out_trace = np.einsum("iaja->ij", choi.reshape(d, d, d, d))
    _check(_close(out_trace, np.eye(d), atol=atol), f"{channel!r} is not trace preserving: Tr_out(Choi) != I")
    ops = [np.asarray(op) for op in channel.to_kraus()]
    total = sum(op.conj().T @ op for op in ops)
    _check(_close(total, np.eye(d), atol=atol), f"the Kraus operators of {channel!r} do not sum to the identity")
    from_kraus = sum(np.kron(op.conj(), op) for op in ops)
    _check(_close(from_kraus, superop, atol=atol), f"the Kraus operators and the superoperator of {channel!r} differ")
    basis = _paulis(k)
    images = [sum(op @ q @ op.conj().T for op in ops) for q in basis]
    kraus_ptm = np.array([[np.trace(p @ e) for e in images] for p in basis]) / d
    _check(_close(kraus_ptm, ptm, atol=atol), f"the Kraus operators and the PTM of {channel!r} differ")
    qobj = channel.to_qobj()
    _check(_close(qutip.to_super(qobj).full(), superop, atol=atol), f"to_qobj() of {channel!r} is not its superoperator")


def assert_allclose_up_to_global_phase(actual, desired, atol: float = 1e-8) -> None:
    """Check that two arrays (unitaries or state vectors) agree up to a global phase.

    >>> import numpy as np
    >>> z = np.diag([1, -1])
    >>> assert_allclose_up_to_global_phase(1j * z, z)
    >>> assert_allclose_up_to_global_phase(np.eye(2), z)
    Traceback (most recent call last):
    ...
    AssertionError: the arrays differ by more than a global phase (largest deviation 2 > atol=1e-08)
    """
    a = np.asarray(actual, dtype=complex)
    b = np.asarray(desired, dtype=complex)
    _check(a.shape == b.shape, f"the shapes differ: {a.shape} vs {b.shape}")
    flat = np.argmax(np.abs(b))
    phase = 1.0 if abs(b.flat[flat]) == 0 or abs(a.flat[flat]) == 0 else a.flat[flat] / b.flat[flat]
    phase = phase / abs(phase)
    deviation = np.abs(a - phase * b).max(initial=0.0)
    _check(deviation <= atol, f"the arrays differ by more than a global phase (largest deviation {deviation:.3g} > atol={atol:g})")


def _density(state) -> np.ndarray:
    if isinstance(state, DensityMatrix):
        return state.matrix
    if isinstance(state, qutip.Qobj):
        return (qutip.ket2dm(state) if state.isket else state).full()
    m = np.asarray(state, dtype=complex)
    return np.outer(m, m.conj()) if m.ndim == 1 else m


def assert_states_close(actual, desired, atol: float = 1e-8) -> None:
    """Check that two states are within ``atol`` in trace distance.

    Each state may be a :class:`~qlab.sim.DensityMatrix`, a QuTiP ket or
    density matrix, or a NumPy state vector or density matrix.

    >>> import qutip
    >>> from qlab import Circuit, simulate
    >>> assert_states_close(simulate(Circuit(2).h(0).cx(0, 1)).state, qutip.bell_state("00"))
    """
    a, b = _density(actual), _density(desired)
    _check(a.shape == b.shape, f"the states have shapes {a.shape} and {b.shape}")
    diff = a - b
    distance = 0.5 * np.abs(np.linalg.eigvalsh((diff + diff.conj().T) / 2)).sum()
    _check(distance <= atol, f"the states are {distance:.3g} apart in trace distance (atol={atol:g})")


def random_circuit(num_qubits: int, depth: int, seed: int, gates=None, measure: bool = False) -> Circuit:
    """A reproducible random circuit of library gates with random angles.

    Each of the ``depth`` layers puts gates on disjoint, randomly ordered
    qubits (so multi-qubit gates act on non-adjacent and reversed qubits)
    until no gate of ``gates`` fits on the qubits left. With a one-qubit gate
    among ``gates`` every qubit is used in every layer, and
    ``circuit.depth() == depth``. Angles are uniform in ``[-pi, pi)``.

    Args:
        num_qubits: the width of the circuit (at least 1).
        depth: how many layers (at least 0).
        seed: the same seed gives the same circuit.
        gates: library gate names to draw from (default: the whole library).
        measure: end with ``measure_all()``.

    Raises:
        ValueError: if no gate of ``gates`` fits on ``num_qubits`` qubits.

    >>> random_circuit(2, depth=1, seed=0, gates=["h", "cx"])
    Circuit(2).cx(1, 0)
    >>> random_circuit(3, depth=4, seed=0).depth()
    4
    """
    names = sorted(GATES) if gates is None else [canonical_name(g) for g in gates]
    if not any(GATES[g].num_qubits <= num_qubits for g in names):
        raise ValueError(f"random_circuit: none of the gates {names} fits on {num_qubits} qubit(s).")
    rng = np.random.default_rng(seed)
    circuit = Circuit(num_qubits)
    for _ in range(depth):
        free = [int(q) for q in rng.permutation(num_qubits)]
        while True:
            fitting = [g for g in names if GATES[g].num_qubits <= len(free)]
            if not fitting:
                break
            gate = GATES[fitting[rng.integers(len(fitting))]]
            qubits = [free.pop() for _ in range(gate.num_qubits)]
            circuit.append(gate.name, qubits, [float(x) for x in rng.uniform(-np.pi, np.pi, gate.num_params)])
    if measure:
        circuit.measure_all()
    return circuit
