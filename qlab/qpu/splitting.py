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

__all__ = ["basis_jobs", "combine", "frequencies"]


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
    return recombine(observable, [
        group_estimate(group, frequencies(result), result.nbshots) for group, result in zip(groups, results)
    ])


def frequencies(result: Result) -> np.ndarray:
    """The dense outcome distribution of a result (index: :attr:`Sample.state`)."""
    p = np.zeros(2 ** len(result.qubits))
    for sample in result.raw_data:
        p[sample.state] += sample.probability
    return p
