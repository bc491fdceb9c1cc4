"""Running one QPU job on the density-matrix engine.

:func:`run_job` is what :class:`~qlab.qpu.DensityMatrixQPU` does per job,
in this process or on a Dask worker (:func:`run_job_data` takes and returns
plain dicts, so only data travels).

- A sampling job measures :attr:`Job.qubits` at the end of the circuit: with
  ``nbshots == 0`` the samples are the exact outcome probabilities (readout
  errors included); otherwise frequencies of ``nbshots`` shots drawn from that
  exact distribution (one multinomial draw, seeded) with their standard errors
  ``sqrt(p (1 - p) / nbshots)``. A QPU keeps the distributions of recent
  circuits (:class:`DistributionCache`), so repeating a circuit only re-samples. An exact job that measures
  every qubit of a pure final state also gets amplitudes.
- An observable job with ``nbshots == 0`` gets ``Tr(O rho)`` of the final
  state; with shots it is sampled group by group (:mod:`qlab.qpu.splitting`).

>>> from qlab import Circuit
>>> from qlab.qpu import Job
>>> run_job(Job(Circuit(2).h(0).cx(0, 1)), None, seed=1).probabilities
{'00': 0.5, '11': 0.5}
"""

from __future__ import annotations

import collections
import json
import math
import threading
import time

import numpy as np

from ..circuit import Circuit
from ..sim import NoiseModel, simulate
from ..sim.program import DEFAULT_MAX_QUBITS
from .data import Job, Result, Sample
from .noise_data import noise_model_from_dict
from .schema import circuit_to_dict
from .observable import Observable
from .splitting import basis_jobs, combine

__all__ = ["run_job", "run_job_data", "measurement_circuit", "exact_distribution", "DistributionCache", "SeedSource"]

_PURE = 1e-9


class SeedSource:
    """Seeds for the jobs of a QPU, drawn from one generator (thread-safe); reproducible when seeded."""

    def __init__(self, seed: int | None):
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def next(self) -> int:
        """A fresh job seed."""
        with self._lock:
            return int(self._rng.integers(2**63))


class DistributionCache:
    """The exact outcome distributions of recently run (circuit, measured qubits) pairs, for one noise model.

    A sampled job draws its shots from the exact distribution of its measured
    qubits (as the engine does for terminal measurements), so a repeated
    circuit is simulated once and only re-sampled.
    """

    def __init__(self, size: int = 256):
        self._size = size
        self._entries: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, job: Job, noise, max_qubits: int) -> tuple[np.ndarray, np.ndarray]:
        """``(states, probabilities)`` of the job's measured qubits (non-zero ones, by state)."""
        key = (json.dumps(circuit_to_dict(job.circuit)), job.qubits)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        value = exact_distribution(job, noise, max_qubits)
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def exact_distribution(job: Job, noise, max_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(states, probabilities)`` of the job's measured qubits, readout errors included."""
    k = len(job.qubits)
    run = simulate(measurement_circuit(job), noise, max_qubits=max_qubits)
    states = np.array([int(key, 2) if k else 0 for key in run.probabilities], dtype=np.int64)
    return states, np.fromiter(run.probabilities.values(), dtype=float, count=len(states))


def run_job(job: Job, noise: NoiseModel | None, seed: int | None, max_qubits: int = DEFAULT_MAX_QUBITS,
            cache: DistributionCache | None = None) -> Result:
    """Run ``job`` under ``noise``; ``seed`` makes sampled jobs reproducible; ``cache`` keeps exact distributions."""
    started = time.perf_counter()
    cache = DistributionCache(1) if cache is None else cache
    if job.observable is None:
        result = _sample(job, noise, seed, max_qubits, cache)
    elif job.nbshots == 0:
        run = simulate(job.circuit, noise, max_qubits=max_qubits)
        value = _exact_value(job, run.state.matrix, run.qubits)
        result = Result([], (), 0, value, 0.0)
    else:
        seeds = np.random.default_rng(seed).integers(2**63, size=len(job.observable.groups()))
        parts = [_sample(j, noise, int(s), max_qubits, cache) for j, s in zip(basis_jobs(job), seeds)]
        value, error = combine(job.observable, parts)
        result = Result([], (), job.nbshots, value, error)
    result.meta_data = {**job.meta_data, "seconds": time.perf_counter() - started}
    return result


def run_job_data(job: dict, noise: dict | None, seed: int | None, max_qubits: int = DEFAULT_MAX_QUBITS) -> dict:
    """:func:`run_job` on plain data: a :meth:`Job.to_dict`, a noise-model dict
    (:func:`~qlab.qpu.noise_data.noise_model_to_dict`) -> a :meth:`Result.to_dict`."""
    model = None if noise is None else noise_model_from_dict(noise)
    return run_job(Job.from_dict(job), model, seed, max_qubits).to_dict()


def measurement_circuit(job: Job) -> Circuit:
    """The job's circuit with ``measure job.qubits[i] -> c[i]`` at the end."""
    k = len(job.qubits)
    if job.circuit.num_clbits == 0:
        out = job.circuit.copy()
        if k:
            out.add_creg("c", k)
    else:
        out = Circuit(job.circuit.num_qubits, k)
        for ins in job.circuit.instructions:
            out.append(ins.name, ins.qubits, ins.params, matrix=ins.matrix, label=ins.label, unit=ins.unit)
    for i, q in enumerate(job.qubits):
        out.measure(q, i)
    return out


def _sample(job: Job, noise, seed, max_qubits, cache: DistributionCache) -> Result:
    k = len(job.qubits)
    if job.nbshots == 0:
        run = simulate(measurement_circuit(job), noise, max_qubits=max_qubits)
        amplitudes = _amplitudes(job, run) if k == job.circuit.num_qubits else None
        samples = [
            Sample(int(key, 2) if k else 0, k, p, None if amplitudes is None else complex(amplitudes[int(key, 2) if k else 0]))
            for key, p in run.probabilities.items()
        ]
    else:
        states, p = cache.get(job, noise, max_qubits)
        n = job.nbshots
        counts = np.random.default_rng(seed).multinomial(n, p / p.sum())
        samples = []
        for state, count in zip(states.tolist(), counts.tolist()):
            if count:
                f = count / n
                samples.append(Sample(state, k, f, err=math.sqrt(f * (1 - f) / n)))
    samples.sort(key=lambda s: s.state)
    return Result(samples, job.qubits, job.nbshots)


def _exact_value(job: Job, matrix: np.ndarray, simulated: tuple[int, ...]) -> float:
    """``Tr(O rho)``: ``rho`` is on the simulated qubits; the others are still in ``|0>`` (``<0|P|0>`` is 1 for I, Z)."""
    obs = job.observable
    if not simulated:
        return obs.constant + sum(c for p, c in obs.terms.items() if set(p) <= {"I", "Z"})
    reduced: dict[str, float] = {}
    for pauli, coeff in obs.terms.items():
        if all(ch in "IZ" for q, ch in enumerate(pauli) if q not in simulated):
            key = "".join(pauli[q] for q in simulated)
            reduced[key] = reduced.get(key, 0.0) + coeff
    return Observable(len(simulated), reduced, obs.constant).exact_value(matrix)


def _amplitudes(job: Job, run) -> np.ndarray | None:
    """The state vector over ``job.qubits`` when the final state is pure (else ``None``)."""
    rho = run.state.matrix
    values, vectors = np.linalg.eigh(rho)
    if values[-1] < 1 - _PURE:
        return None
    psi = vectors[:, -1]
    n = job.circuit.num_qubits
    simulated = list(run.qubits)
    rest = [q for q in range(n) if q not in simulated]
    full = psi.reshape((2,) * len(simulated))
    for _ in rest:
        full = np.multiply.outer(full, np.array([1.0, 0.0]))
    order = simulated + rest
    full = np.transpose(full, [order.index(q) for q in job.qubits]).reshape(-1)
    first = full[np.flatnonzero(np.abs(full) > 1e-12)[0]]
    return full * (abs(first) / first)
