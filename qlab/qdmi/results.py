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
=======================  ====================================================

Keys are bitstrings whose first character is bit 0 (or qubit ``qubits[0]``);
a dense index reads the same bitstring as a binary number, so qubit
``qubits[0]`` is the most significant bit (QuTiP's order). The state results
describe the state after the last gate, before terminal measurements and
without readout errors; shots and histograms include readout errors.

>>> import threading

import numpy as np
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

__all__ = ["simulation_results", "result_value", "STATE_MAX_QUBITS", "DENSE_MAX_QUBITS"]

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
    if kind is JobResult.SHOTS:
        return ",".join(np.asarray(results["keys"], dtype=object)[np.asarray(results["shots"], dtype=np.intp)])
    if kind in (JobResult.HIST_KEYS, JobResult.HIST_VALUES):
        counts = np.bincount(np.asarray(results["shots"], dtype=np.intp), minlength=len(results["keys"]))
        seen = np.flatnonzero(counts)
        if kind is JobResult.HIST_KEYS:
            return ",".join(results["keys"][i] for i in seen)
        return counts[seen].astype(np.uint64)
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
