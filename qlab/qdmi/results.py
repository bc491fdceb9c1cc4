"""What a finished job stores, and how each :class:`~qlab.qdmi.enums.JobResult` is read from it.

Every device (simulated or adapted) stores the same results dict in the job store:

=========================  ====================================================
``keys``                   the distinct measurement outcomes, classical bit 0 first
``counts``                 how many shots gave each of ``keys`` (one multinomial draw)
``memory_seed``            the seed the SHOTS result orders ``counts`` with
``shots``                  (instead of ``counts``: devices that report every shot, and
                           older records) per shot, the index of its outcome in ``keys``
``qubits``                 all of the program's qubits, in order: the qubits of the
                           probability, state-vector and density-matrix results
``probability_keys``       basis states with non-zero probability (qubit ``qubits[0]`` first)
``probability_values``     their probabilities
``statevector_keys``       (pure simulators) basis states with non-zero amplitude
``statevector_values``     (pure simulators) their amplitudes
``state_qubits``           the qubits ``density_matrix`` describes (the others are in
                           ``|0>``); without it, ``qubits``
``density_matrix``         (up to :data:`STATE_MAX_QUBITS` state qubits) their final density matrix
``outcome_probabilities``  (simulated jobs) the exact probability of each of ``keys``
=========================  ====================================================

A job stores counts, not every shot: the SHOTS result is built when it is
asked for, a random order of the counts drawn from ``memory_seed`` (so the
same job gives the same SHOTS each time, and ``job.result().memory`` agrees).
A program without classical bits has the one empty outcome key; its shots
and histograms raise :class:`~qlab.qdmi.errors.NotSupported` saying so
(its probabilities and state are still there). :func:`to_result` turns a
results dict into the :class:`qlab.Result` that :func:`qlab.simulate` returns.

Keys are bitstrings whose first character is bit 0 (or qubit ``qubits[0]``);
a dense index reads the same bitstring as a binary number, so qubit
``qubits[0]`` is the most significant bit (QuTiP's order). The state results
describe the state after the last gate, before terminal measurements and
without readout errors; shots and histograms include readout errors.

>>> results = {"keys": ["00", "11"], "counts": np.array([1, 2]), "memory_seed": 7, "qubits": [0, 1],
...            "probability_keys": ["00", "11"], "probability_values": np.array([0.5, 0.5])}
>>> sorted(result_value(results, JobResult.SHOTS).split(","))
['00', '11', '11']
>>> result_value(results, JobResult.HIST_VALUES).tolist()
[1, 2]
>>> result_value(results, JobResult.PROBABILITIES_DENSE).tolist()
[0.5, 0.0, 0.0, 0.5]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..circuit import Circuit
from ..sim.density_matrix import DensityMatrix
from ..sim.engine import run_program
from ..sim.program import Program
from ..sim.result import Result, outcome_weights, shot_order
from .enums import JobResult
from .errors import NotSupported

__all__ = ["simulation_results", "result_value", "outcome_counts", "to_result", "STATE_MAX_QUBITS", "DENSE_MAX_QUBITS"]

STATE_MAX_QUBITS = 8
"""The density-matrix and state-vector results exist for programs of at most this many qubits
(a 256 x 256 matrix at 8); the job keeps the state of at most this many simulated qubits."""

DENSE_MAX_QUBITS = 24
"""Dense results (2**n entries) are given for at most this many qubits."""

_PURE = 1e-9
_TINY = 1e-15


def simulation_results(
    circuit: Circuit, program: Program, shots: int, seed: int | None, stop: threading.Event | None = None,
    layout: Sequence[int] | None = None,
) -> dict:
    """Run a lowered program (until ``stop`` is set) and collect the stored results of a job.

    The counts are one multinomial draw over the exact outcome distribution,
    as :func:`qlab.simulate` draws them (the same seed gives the same counts).
    With ``layout`` (a routed program: program qubit ``i`` ended on site
    ``layout[i]``) the probability and state results name the program's
    qubits, read on the sites where they ended; the device's other sites are
    traced out.
    """
    branches = run_program(program, stop)
    sites = sorted([*program.qubits, *program.product])
    weights = sum(outcome_weights(state, program, sites) for state in branches.values())
    weights /= weights.sum()
    qubits = list(range(circuit.num_qubits))
    state_qubits = sites
    if layout is not None:
        qubits = list(range(len(layout)))
        state_qubits = [i for i, site in enumerate(layout) if site in sites]
        weights = _marginal(weights, sites, [layout[i] for i in state_qubits])
        sites = [layout[i] for i in state_qubits]
    nonzero = np.flatnonzero(weights > _TINY)
    result = Result.from_branches(circuit, program, branches, shots, seed, 0.0)
    drawn = result.counts
    keys = [k.replace(" ", "") for k in result.probabilities]
    p = np.fromiter(result.probabilities.values(), dtype=float, count=len(keys))
    out = {
        "keys": keys,
        "counts": np.array([drawn.get(k, 0) for k in result.probabilities], dtype=np.uint64),
        "memory_seed": result.memory_seed,
        "qubits": qubits,
        "probability_keys": _full_keys(nonzero, state_qubits, len(qubits)),
        "probability_values": weights[nonzero],
        "outcome_probabilities": p / p.sum(),
        "state_qubits": state_qubits,
    }
    if len(state_qubits) <= STATE_MAX_QUBITS:
        out["density_matrix"] = result.state_of(sites).matrix
    return out


def _marginal(weights: np.ndarray, qubits: list[int], keep: list[int]) -> np.ndarray:
    """A distribution over ``qubits`` (``qubits[0]`` most significant) summed down to ``keep``, in that order."""
    table = weights.reshape((2,) * len(qubits))
    table = table.sum(axis=tuple(i for i, q in enumerate(qubits) if q not in keep))
    left = [q for q in qubits if q in keep]
    return table.transpose([left.index(q) for q in keep]).reshape(-1) if keep else table.reshape(1)


def _full_keys(indices: np.ndarray, qubits: list[int], num_qubits: int) -> list[str]:
    """Basis states of ``qubits`` (dense indices, ``qubits[0]`` most significant) as keys over all
    ``num_qubits`` qubits, the others ``0``."""
    chars = np.full((len(indices), num_qubits), ord("0"), dtype=np.uint8)
    for j, q in enumerate(qubits):
        chars[:, q] += ((np.asarray(indices, dtype=np.int64) >> (len(qubits) - 1 - j)) & 1).astype(np.uint8)
    if num_qubits == 0:
        return [""] * len(indices)
    return np.ascontiguousarray(chars).view(f"S{num_qubits}").reshape(-1).astype(str).tolist()


def outcome_counts(results: dict) -> np.ndarray:
    """How many shots gave each of ``results["keys"]`` (from the stored counts, or per-shot indices).

    >>> outcome_counts({"keys": ["0", "1"], "shots": np.array([1, 1, 0])}).tolist()
    [1, 2]
    """
    if "counts" in results:
        return np.asarray(results["counts"], dtype=np.int64)
    return np.bincount(np.asarray(results["shots"], dtype=np.intp), minlength=len(results["keys"]))


def _shot_indices(results: dict) -> np.ndarray:
    """Per shot, the index of its outcome in ``keys``: as the device reported them, or built from the counts."""
    if "shots" in results:
        return np.asarray(results["shots"], dtype=np.intp)
    return shot_order(outcome_counts(results), results.get("memory_seed"))


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
        return ",".join(np.asarray(results["keys"], dtype=object)[_shot_indices(results)])
    if kind in (JobResult.HIST_KEYS, JobResult.HIST_VALUES):
        counts = outcome_counts(results)
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
        return _density_matrix(results, "DENSITY_MATRIX")
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


def _stored_state(results: dict) -> tuple[list[int], DensityMatrix]:
    """The qubits whose state the job kept, and that state (the other qubits are in ``|0>``)."""
    if "density_matrix" in results:
        qubits = results.get("state_qubits", results["qubits"])
        return [int(q) for q in qubits], DensityMatrix(results["density_matrix"], validate=False)
    n = len(results["qubits"])
    if "statevector_keys" in results and n <= STATE_MAX_QUBITS:
        psi = _dense(results["statevector_keys"], results["statevector_values"], n, complex)
        return [int(q) for q in results["qubits"]], DensityMatrix(np.outer(psi, psi.conj()), validate=False)
    simulated = len(results.get("state_qubits", results["qubits"]))
    raise NotSupported(
        f"The job simulated {simulated} qubits together; their final state is kept for up to {STATE_MAX_QUBITS} "
        "simulated qubits; read the probabilities instead."
    )


def _density_matrix(results: dict, what: str) -> DensityMatrix:
    """The final state of all of the program's qubits (``results["qubits"]``)."""
    n = len(results["qubits"])
    if n > STATE_MAX_QUBITS:
        raise NotSupported(
            f"The program has {n} qubits; {what} is given for programs of up to {STATE_MAX_QUBITS} qubits. Read the "
            "state of some of them with job.result().state_of(qubits), for example job.result().state_of([0, 1])."
        )
    return _StoredState(results).of(results["qubits"])


def _statevector(results: dict) -> tuple[list[str], np.ndarray]:
    if "statevector_keys" in results:
        return list(results["statevector_keys"]), np.asarray(results["statevector_values"], dtype=complex)
    rho = _density_matrix(results, "the state vector").matrix
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
        stored = [int(q) for q in self._results.get("state_qubits", self._results["qubits"])]
        kept = [q for q in qubits if q in stored]
        matrix = np.ones((1, 1), dtype=complex)
        if kept:
            stored, state = _stored_state(self._results)
            matrix = state.partial_trace([stored.index(q) for q in kept]).matrix
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
    if circuit is None:
        width = len(keys[0]) if keys else 0
        circuit = Circuit(len(results["qubits"]), width)
    sizes = [len(register) for register in circuit.cregs]
    spaced = [_register_key(k, sizes) if sum(sizes) == len(k) else k for k in keys]
    frequencies = outcome_counts(results)
    if "outcome_probabilities" in results:
        weights = np.asarray(results["outcome_probabilities"], dtype=float)
    else:
        weights = frequencies / max(int(frequencies.sum()), 1)
    probabilities = {k: float(w) for k, w in sorted(zip(spaced, weights)) if w > 0}
    counts = {k: int(c) for k, c in sorted(zip(spaced, frequencies)) if c}
    simulated = results.get("state_qubits", results["qubits"])
    return Result(circuit, simulated, probabilities, _StoredState(results), shots, seed, time_taken, counts=counts,
                  memory_seed=results.get("memory_seed"))
