"""What a finished job stores, and how each :class:`~qlab.qdmi.enums.JobResult` is read from it.

Every device (simulated or adapted) stores the same results dict in the job store:

=======================  ====================================================
``keys``                 the distinct measurement outcomes, classical bit 0 first
``shots``                per shot, the index of its outcome in ``keys``
``qubits``               the qubits the state results describe, in order
``probability_keys``     basis states with non-zero probability (qubit ``qubits[0]`` first)
``probability_values``   their probabilities
``statevector_keys``     (pure simulators) basis states with non-zero amplitude
``statevector_values``   (pure simulators) their amplitudes
``density_matrix``       (up to :data:`STATE_MAX_QUBITS` qubits) the final density matrix
``outcome_probabilities``  (simulated jobs) the exact probability of each of ``keys``
=======================  ====================================================

A program without classical bits has the one empty outcome key; its shots
and histograms raise :class:`~qlab.qdmi.errors.NotSupported` saying so
(its probabilities and state are still there). :func:`to_result` turns a
results dict into the :class:`qlab.Result` that :func:`qlab.simulate` returns.

Keys are bitstrings whose first character is bit 0 (or qubit ``qubits[0]``);
a dense index reads the same bitstring as a binary number, so qubit
``qubits[0]`` is the most significant bit (QuTiP's order). The state results
describe the state after the last gate, before terminal measurements and
without readout errors; shots and histograms include readout errors.

>>> results = {"keys": ["00", "11"], "shots": np.array([0, 1, 1]), "qubits": [0, 1],
...            "probability_keys": ["00", "11"], "probability_values": np.array([0.5, 0.5])}
>>> result_value(results, JobResult.SHOTS)
'00,11,11'
>>> result_value(results, JobResult.PROBABILITIES_DENSE).tolist()
[0.5, 0.0, 0.0, 0.5]
"""

from __future__ import annotations

import threading

import numpy as np

from ..circuit import Circuit
from ..sim.density_matrix import DensityMatrix
from ..sim.engine import run_program
from ..sim.program import Program
from ..sim.result import Result, outcome_weights
from .enums import JobResult
from .errors import NotSupported

__all__ = ["simulation_results", "result_value", "to_result", "STATE_MAX_QUBITS", "DENSE_MAX_QUBITS"]

STATE_MAX_QUBITS = 8
"""Jobs on at most this many qubits keep their final density matrix (a 256 x 256 matrix at 8)."""

DENSE_MAX_QUBITS = 24
"""Dense results (2**n entries) are given for at most this many qubits."""

_PURE = 1e-9
_TINY = 1e-15


def simulation_results(
    circuit: Circuit, program: Program, shots: int, seed: int | None, stop: threading.Event | None = None
) -> dict:
    """Run a lowered program (until ``stop`` is set) and collect the stored results of a job."""
    branches = run_program(program, stop)
    qubits = sorted([*program.qubits, *program.product])
    weights = sum(outcome_weights(state, program, qubits) for state in branches.values())
    weights /= weights.sum()
    nonzero = np.flatnonzero(weights > _TINY)
    result = Result.from_branches(circuit, program, branches, None, None, 0.0)
    keys = [k.replace(" ", "") for k in result.probabilities]
    p = np.fromiter(result.probabilities.values(), dtype=float, count=len(keys))
    sampled = np.random.default_rng(seed).choice(len(keys), size=shots, p=p / p.sum())
    out = {
        "keys": keys,
        "shots": sampled.astype(np.uint32),
        "qubits": list(qubits),
        "probability_keys": [format(int(i), f"0{len(qubits)}b") if qubits else "" for i in nonzero],
        "probability_values": weights[nonzero],
        "outcome_probabilities": p / p.sum(),
    }
    if len(qubits) <= STATE_MAX_QUBITS:
        out["density_matrix"] = result.state_of(qubits).matrix
    return out


def result_value(results: dict, kind: JobResult):
    """The value of one result kind (QDMI types: strings are comma-separated, lists are NumPy arrays).

    Raises:
        NotSupported: the result does not exist for this job (a mixed state has no
            state vector; big states are not kept); the message says why.
    """
    kind = JobResult(kind)
    if kind in (JobResult.SHOTS, JobResult.HIST_KEYS, JobResult.HIST_VALUES) and list(results["keys"]) == [""]:
        raise NotSupported(
            f"The program has no classical bits, so its job has no {kind.name}: add measurements (measure q -> c, "
            "or Circuit.measure_all()), or read PROBABILITIES_SPARSE_KEYS / DENSITY_MATRIX for the final state."
        )
    if kind is JobResult.SHOTS:
        return ",".join(np.asarray(results["keys"], dtype=object)[np.asarray(results["shots"], dtype=np.intp)])
    if kind in (JobResult.HIST_KEYS, JobResult.HIST_VALUES):
        counts = np.bincount(np.asarray(results["shots"], dtype=np.intp), minlength=len(results["keys"]))
        seen = np.flatnonzero(counts)
        if kind is JobResult.HIST_KEYS:
            return ",".join(results["keys"][i] for i in seen)
        return counts[seen].astype(np.uint64)
    if kind.name.startswith("PROBABILITIES") and "probability_keys" not in results:
        raise NotSupported(
            f"This job has no {kind.name}: the device reports no state for it (a program with mid-circuit "
            "measurements gives shots and histograms only)."
        )
    if kind is JobResult.PROBABILITIES_SPARSE_KEYS:
        return ",".join(results["probability_keys"])
    if kind is JobResult.PROBABILITIES_SPARSE_VALUES:
        return np.asarray(results["probability_values"], dtype=float)
    if kind is JobResult.PROBABILITIES_DENSE:
        return _dense(results["probability_keys"], results["probability_values"], len(results["qubits"]), float)
    if kind is JobResult.DENSITY_MATRIX:
        return _density_matrix(results)
    if kind in (JobResult.STATEVECTOR_DENSE, JobResult.STATEVECTOR_SPARSE_KEYS, JobResult.STATEVECTOR_SPARSE_VALUES):
        keys, values = _statevector(results)
        if kind is JobResult.STATEVECTOR_SPARSE_KEYS:
            return ",".join(keys)
        if kind is JobResult.STATEVECTOR_SPARSE_VALUES:
            return values
        return _dense(keys, values, len(results["qubits"]), complex)
    given = ", ".join(r.name for r in JobResult if r.value < JobResult.CUSTOM1)
    raise NotSupported(f"{kind!r} has no meaning here; jobs give {given} and DENSITY_MATRIX (CUSTOM1).")


def _dense(keys, values, n: int, dtype) -> np.ndarray:
    if n > DENSE_MAX_QUBITS:
        raise NotSupported(
            f"A dense result on {n} qubits would have 2**{n} entries; dense results exist up to {DENSE_MAX_QUBITS} "
            "qubits, read the sparse one instead."
        )
    out = np.zeros(2**n, dtype=dtype)
    if n:
        out[[int(k, 2) for k in keys]] = values
    else:
        out[0] = values[0]
    return out


def _density_matrix(results: dict) -> DensityMatrix:
    if "density_matrix" in results:
        return DensityMatrix(results["density_matrix"], validate=False)
    n = len(results["qubits"])
    if "statevector_keys" in results and n <= STATE_MAX_QUBITS:
        psi = _dense(results["statevector_keys"], results["statevector_values"], n, complex)
        return DensityMatrix(np.outer(psi, psi.conj()), validate=False)
    raise NotSupported(
        f"The job acts on {n} qubits; the final density matrix is kept for jobs on up to {STATE_MAX_QUBITS} qubits."
    )


def _statevector(results: dict) -> tuple[list[str], np.ndarray]:
    if "statevector_keys" in results:
        return list(results["statevector_keys"]), np.asarray(results["statevector_values"], dtype=complex)
    if "density_matrix" not in results:
        raise NotSupported(
            f"The job acts on {len(results['qubits'])} qubits; its final state is kept for jobs on up to "
            f"{STATE_MAX_QUBITS} qubits, so there is no state vector; read the probabilities instead."
        )
    rho = np.asarray(results["density_matrix"])
    vals, vecs = np.linalg.eigh(rho)
    purity = float(np.real(np.vdot(rho, rho)))
    if 1 - purity > _PURE:
        raise NotSupported(
            f"The final state is mixed (purity {purity:.6f}), so it has no state vector; read "
            "JobResult.DENSITY_MATRIX instead (noise-free devices such as 'ideal' give pure states)."
        )
    psi = vecs[:, -1]
    first = np.flatnonzero(np.abs(psi) > 1e-9 * np.abs(psi).max())[0]
    psi = psi * np.exp(-1j * np.angle(psi[first]))
    nonzero = np.flatnonzero(np.abs(psi) > 1e-12)
    n = len(results["qubits"])
    return [format(int(i), f"0{n}b") if n else "" for i in nonzero], psi[nonzero]


def _register_key(key: str, sizes: list[int]) -> str:
    """A key without spaces split into classical registers, as :class:`qlab.Result` writes it."""
    parts, start = [], 0
    for size in sizes:
        parts.append(key[start : start + size])
        start += size
    return " ".join(parts)


class _StoredState:
    """A job's stored final state, read the way :class:`qlab.Result` reads a simulation's.

    Qubits the job's state does not describe were untouched, so in ``|0>``.
    """

    def __init__(self, results: dict):
        self._results = results

    def of(self, qubits) -> DensityMatrix:
        qubits = [int(q) for q in qubits]
        stored = [int(q) for q in self._results["qubits"]]
        kept = [q for q in qubits if q in stored]
        matrix = np.ones((1, 1), dtype=complex)
        if kept:
            matrix = _density_matrix(self._results).partial_trace([stored.index(q) for q in kept]).matrix
        order = kept + [q for q in qubits if q not in stored]
        for _ in range(len(order) - len(kept)):
            matrix = np.kron(matrix, np.diag([1.0, 0.0]))
        n = len(qubits)
        perm = [order.index(q) for q in qubits]
        matrix = matrix.reshape((2,) * 2 * n).transpose(perm + [p + n for p in perm]).reshape(2**n, 2**n)
        return DensityMatrix(matrix, validate=False)


def to_result(circuit: Circuit | None, results: dict, shots: int, seed: int | None, time_taken: float) -> Result:
    """The :class:`qlab.Result` of a finished job from its stored results dict.

    ``circuit`` is the circuit the device ran (``None`` for a program qlab does
    not read, such as QIR: one register ``c`` then holds every bit). The
    counts are the job's own shots. Devices that report no exact outcome
    distribution get the sampled frequencies as ``probabilities``. The
    state (``result.state``, ``state_of``) is there when the job kept it (up
    to :data:`STATE_MAX_QUBITS` qubits).

    >>> results = {"keys": ["00", "11"], "shots": np.array([0, 1, 1, 0]), "qubits": [0, 1]}
    >>> to_result(None, results, 4, None, 0.0).counts
    {'00': 2, '11': 2}
    """
    keys = list(results["keys"])
    index = np.asarray(results["shots"], dtype=np.intp)
    if circuit is None:
        width = len(keys[0]) if keys else 0
        circuit = Circuit(len(results["qubits"]), width)
    sizes = [len(register) for register in circuit.cregs]
    spaced = [_register_key(k, sizes) if sum(sizes) == len(k) else k for k in keys]
    frequencies = np.bincount(index, minlength=len(keys))
    if "outcome_probabilities" in results:
        weights = np.asarray(results["outcome_probabilities"], dtype=float)
    else:
        weights = frequencies / max(len(index), 1)
    probabilities = {k: float(w) for k, w in sorted(zip(spaced, weights)) if w > 0}
    counts = {k: int(c) for k, c in sorted(zip(spaced, frequencies)) if c}
    return Result(circuit, results["qubits"], probabilities, _StoredState(results), shots, seed, time_taken, counts=counts)
