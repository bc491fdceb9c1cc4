"""Observable jobs as measurement-basis jobs, and their results recombined.

A sampled observable job becomes one sampling job per qubit-wise commuting
group of its terms (:meth:`~qlab.qpu.Observable.groups`); the value is the
constant plus the groups' means, and its standard error the square root of
the sum of their variances (:func:`~qlab.qpu.observable.recombine`). Both
:class:`~qlab.qpu.DensityMatrixQPU` (for sampled observable jobs) and the
:class:`~qlab.qpu.ObservableSplitter` plugin use these two functions.

>>> from qlab import Circuit
>>> from qlab.qpu import Job, Observable
>>> job = Job(Circuit(2).h(0).cx(0, 1), 1000, observable=Observable(2, {"XX": 1.0, "ZZ": 1.0}))
>>> [(j.qubits, j.circuit.count_ops()) for j in basis_jobs(job)]
[((0, 1), {'h': 3, 'cx': 1}), ((0, 1), {'h': 1, 'cx': 1})]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..exceptions import QPUDataError
from .data import Job, Result
from .observable import Observable, group_estimate, recombine
from .readout import apply_per_qubit

__all__ = ["basis_jobs", "combine", "frequencies", "MITIGATION_KEY"]

MITIGATION_KEY = "readout_mitigation"
"""The result ``meta_data`` key under which :class:`~qlab.qpu.ReadoutMitigation` keeps the raw
frequencies and the inverse confusion matrices of a mitigated result."""


def basis_jobs(job: Job) -> list[Job]:
    """One sampling job per measurement group of ``job.observable`` (same shots and metadata)."""
    return [
        Job(group.rotated(job.circuit), job.nbshots, group.qubits, meta_data=job.meta_data)
        for group in job.observable.groups()
    ]


def combine(observable: Observable, results: Sequence[Result]) -> tuple[float, float]:
    """The value and standard error of ``observable`` from the results of its :func:`basis_jobs`."""
    groups = observable.groups()
    if len(groups) != len(results):
        raise QPUDataError(f"Cannot recombine an observable of {len(groups)} group(s) from {len(results)} result(s).")
    return recombine(observable, [_estimate(group.values(), result) for group, result in zip(groups, results)])


def _estimate(f: np.ndarray, result: Result) -> tuple[float, float]:
    """A group's mean and variance; a readout-mitigated sampled result is estimated from its raw shots."""
    mitigation = result.meta_data.get(MITIGATION_KEY)
    if mitigation is None or not result.nbshots:
        return group_estimate(f, frequencies(result), result.nbshots)
    raw = np.zeros(len(f))
    for state, probability in mitigation["raw"]:
        raw[state] += probability
    g = apply_per_qubit(f, [np.asarray(m).T for m in mitigation["inverse"]])  # f . (M p) = (M^T f) . p
    return group_estimate(g, raw, result.nbshots)


def frequencies(result: Result) -> np.ndarray:
    """The dense outcome distribution of a result (index: :attr:`Sample.state`)."""
    p = np.zeros(2 ** len(result.qubits))
    for sample in result.raw_data:
        p[sample.state] += sample.probability
    return p
