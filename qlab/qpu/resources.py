"""What a batch will cost, and limits that refuse a batch before anything is allocated.

:class:`ResourceModel` holds, per job, the qubits the engine simulates, the
bytes it needs, the estimated seconds and the shots.

- **Memory.** The engine keeps a state on *n* simulated qubits as 4ⁿ real
  Pauli coefficients (8·4ⁿ bytes) plus one scratch buffer of the same size;
  reading the final state (observables, amplitudes) builds the complex density
  matrix (16·4ⁿ bytes). The estimate is their sum, 32·4ⁿ bytes.
- **Time.** ``seconds = groups * (per_job + blocks * per_coefficient * 4**n) +
  shots * per_shot``, where ``blocks`` counts the gate and noise steps (an upper
  bound: fusion only lowers it) and ``groups`` the measurement bases of a sampled
  observable. The three constants are *measured* once per process by
  :meth:`CostModel.calibrate` (about 0.3 s: a few circuits timed on the engine).

:class:`AllocationModel` sets limits; :func:`check_limits` raises a
:class:`~qlab.exceptions.ResourceLimitError` naming the job, the resource,
the estimate and the limit.

>>> limits = AllocationModel(max_qubits=4)
>>> limits
AllocationModel(max_qubits=4)
>>> model = ResourceModel([JobResources(0, 6, 32 * 4**6, 0.001, 100)])
>>> check_limits(model, limits)
Traceback (most recent call last):
...
qlab.exceptions.ResourceLimitError: Batch refused before allocation: job 0 needs qubits = 6 (estimate) but the limit is max_qubits = 4.
"""

from __future__ import annotations

import functools
import html
import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from ..circuit import Circuit
from ..exceptions import QPUDataError, ResourceLimitError
from ..sim.program import simulated_qubits
from .data import Batch, Job
from .schema import field, mapping

__all__ = ["AllocationModel", "CostModel", "JobResources", "ResourceModel", "check_limits", "default_cost_model",
           "estimate_batch", "memory_bytes"]


def memory_bytes(qubits: int) -> int:
    """The engine's memory for ``qubits`` simulated qubits: state, scratch and the final density matrix."""
    return 32 * 4**qubits


@dataclass(frozen=True)
class CostModel:
    """The engine's speed on this machine (seconds)."""

    per_coefficient: float
    """Seconds to apply one step to one Pauli coefficient."""
    per_job: float
    """Fixed seconds per simulation (lowering, bookkeeping, results)."""
    per_shot: float
    """Seconds to sample one shot."""

    @classmethod
    def calibrate(cls, qubits: int = 8, gates: int = 40) -> CostModel:
        """Measure the constants on this machine with a few short simulations (best of three each)."""
        from ..sim import simulate
        from .execute import run_job

        rng = np.random.default_rng(0)
        circuit = Circuit(qubits)
        for _ in range(gates):
            a, b = rng.choice(qubits, size=2, replace=False)
            circuit.rx(float(rng.uniform(0, 3)), int(a)).cx(int(a), int(b))
        tiny = Circuit(1).h(0)

        def best(fn) -> float:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return min(times)

        per_job = best(lambda: simulate(tiny))
        big = best(lambda: simulate(circuit))
        per_coefficient = max(big - per_job, 1e-9) / (2 * gates * 4**qubits)
        shots = 200_000
        sampled, exact = Job(tiny, shots), Job(tiny)
        per_shot = max(best(lambda: run_job(sampled, None, 1)) - best(lambda: run_job(exact, None, 1)), 0.0) / shots
        return cls(per_coefficient, per_job, per_shot)

    def seconds(self, qubits: int, blocks: int, shots: int, groups: int = 1) -> float:
        """The estimated run time of one job."""
        return groups * (self.per_job + blocks * self.per_coefficient * 4**qubits) + shots * self.per_shot


@functools.cache
def default_cost_model() -> CostModel:
    """This process's calibrated cost model (measured on first use)."""
    return CostModel.calibrate()


@dataclass(frozen=True)
class JobResources:
    """The estimated needs of one job."""

    job: int
    """The job's index in the batch."""
    qubits: int
    """Qubits the engine simulates."""
    memory_bytes: int
    """Bytes for the state and its work buffers."""
    seconds: float
    """Estimated run time."""
    shots: int
    """Shots sampled (all measurement groups together)."""


class ResourceModel:
    """The estimated needs of every job of a batch.

    >>> ResourceModel([JobResources(0, 2, 512, 0.001, 100)]).df()
       job  qubits  memory_bytes  seconds  shots
    0    0       2           512    0.001    100
    """

    def __init__(self, jobs: list[JobResources]):
        self.jobs = list(jobs)
        """One entry per job."""

    @property
    def total_seconds(self) -> float:
        """The sum of the jobs' estimated times."""
        return sum(j.seconds for j in self.jobs)

    @property
    def max_memory_bytes(self) -> int:
        """The largest single job's memory."""
        return max((j.memory_bytes for j in self.jobs), default=0)

    def df(self) -> pd.DataFrame:
        """One row per job."""
        return pd.DataFrame([asdict(j) for j in self.jobs], columns=[f.name for f in fields(JobResources)])

    def to_dict(self) -> dict:
        """JSON-ready data."""
        return {"jobs": [asdict(j) for j in self.jobs]}

    @classmethod
    def from_dict(cls, data: object) -> ResourceModel:
        """Read :meth:`to_dict` data, checking every field."""
        jobs = []
        for item in field(mapping(data, "resource model"), "jobs", list, "resource model"):
            item = mapping(item, "job resources")
            jobs.append(JobResources(*(field(item, f.name, (int, float) if f.name == "seconds" else int, "job resources")
                                       for f in fields(JobResources))))
        return cls(jobs)

    def __repr__(self) -> str:
        return f"ResourceModel(<{len(self.jobs)} job(s), {self.total_seconds:.3g} s, max {self.max_memory_bytes:,} bytes>)"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.df().to_html(index=False)


@dataclass(frozen=True)
class AllocationModel:
    """Limits on what one batch may use (``None``: no limit)."""

    max_qubits: int | None = None
    """Simulated qubits per job."""
    max_memory_bytes: int | None = None
    """Bytes per job."""
    max_seconds: float | None = None
    """Estimated seconds per job."""
    max_shots: int | None = None
    """Shots per job."""
    max_jobs: int | None = None
    """Jobs per batch."""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            kinds = (int, float) if f.name == "max_seconds" else (int,)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kinds) or not value > 0
                                      or not math.isfinite(value)):
                raise QPUDataError(f"Invalid AllocationModel: {f.name} must be a positive number or None, got {value!r}.")

    def to_dict(self) -> dict:
        """JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> AllocationModel:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "allocation model")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise QPUDataError(f"Cannot read allocation model: unknown field {unknown[0]!r}.")
        return cls(**data)

    def tighter(self, other: AllocationModel | None) -> AllocationModel:
        """The stricter of two limits, field by field."""
        if other is None:
            return self
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = b if a is None else a if b is None else min(a, b)
        return AllocationModel(**values)

    def __repr__(self) -> str:
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if getattr(self, f.name) is not None)
        return f"AllocationModel({args})"


_LIMITS = (("qubits", "max_qubits"), ("memory_bytes", "max_memory_bytes"), ("seconds", "max_seconds"),
           ("shots", "max_shots"))


def check_limits(model: ResourceModel, limits: AllocationModel | None) -> None:
    """Raise :class:`ResourceLimitError` for the first job (or the batch) over a limit."""
    if limits is None:
        return
    if limits.max_jobs is not None and len(model.jobs) > limits.max_jobs:
        raise ResourceLimitError(
            f"Batch refused before allocation: it has jobs = {len(model.jobs)} but the limit is max_jobs = {limits.max_jobs}."
        )
    for job in model.jobs:
        for resource, limit_name in _LIMITS:
            estimate, limit = getattr(job, resource), getattr(limits, limit_name)
            if limit is not None and estimate > limit:
                shown = f"{estimate:.3g}" if resource == "seconds" else f"{estimate}"
                raise ResourceLimitError(
                    f"Batch refused before allocation: job {job.job} needs {resource} = {shown} (estimate) "
                    f"but the limit is {limit_name} = {limit}."
                )


def estimate_job(index: int, job: Job, cost: CostModel) -> JobResources:
    """The estimated needs of one job on the engine."""
    circuits = [job.circuit] if job.observable is None or job.nbshots == 0 else [
        g.rotated(job.circuit) for g in job.observable.groups()]
    qubits = max(len(simulated_qubits(c)) for c in circuits)
    blocks = max(sum(1 for ins in c.instructions if ins.name != "barrier") for c in circuits)
    groups = len(circuits)
    return JobResources(index, qubits, memory_bytes(qubits), cost.seconds(qubits, blocks, job.nbshots, groups),
                        job.nbshots * groups)


def estimate_batch(batch: Batch, cost: CostModel | None = None) -> ResourceModel:
    """:func:`estimate_job` for every job of ``batch`` (with the calibrated cost model by default)."""
    cost = default_cost_model() if cost is None else cost
    return ResourceModel([estimate_job(i, job, cost) for i, job in enumerate(batch.jobs)])
