"""``DensityMatrixQPU``: a QPU on qlab's density-matrix engine, here or on a Dask cluster.

>>> from qlab import Circuit
>>> from qlab.qpu import Batch, DensityMatrixQPU, Job
>>> from qlab.sim import NoiseModel, ReadoutError
>>> qpu = DensityMatrixQPU(NoiseModel().with_readout_error(ReadoutError.symmetric(0.1)), seed=3)
>>> qpu.submit(Job(Circuit(1).x(0))).probabilities
{'0': 0.1, '1': 0.9}
>>> [r.probabilities for r in qpu.submit(Batch([Job(Circuit(1)), Job(Circuit(1).x(0), nbshots=1000)]))]
[{'0': 0.9, '1': 0.1}, {'0': 0.116, '1': 0.884}]
"""

from __future__ import annotations

from ..exceptions import QlabTypeError
from ..jobs import dask_executor
from ..sim import NoiseModel
from ..sim.program import DEFAULT_MAX_QUBITS
from .data import Batch, BatchResult, Job, Result
from .execute import DistributionCache, SeedSource, run_job, run_job_data
from .handler import QPUHandler
from .noise_data import noise_model_to_dict
from .resources import CostModel, ResourceModel, estimate_batch
from .specs import HardwareSpecs, noise_summary

__all__ = ["DensityMatrixQPU"]


class DensityMatrixQPU(QPUHandler):
    """Runs jobs on the density-matrix engine with a noise model.

    Args:
        noise_model: a :class:`~qlab.sim.NoiseModel` (``None``: ideal).
        executor: ``None`` runs jobs one after the other in this process; a
            ``distributed.Client`` (or any executor with ``submit(fn, *args)``
            returning a future) runs the jobs of a batch in parallel there. Only
            data travels: each task gets a :meth:`Job.to_dict`, the noise model as
            a dict (:mod:`qlab.qpu.noise_data`) and a seed, and returns a
            :meth:`Result.to_dict`.
        seed: makes sampled results reproducible (each job draws its own seed from it).
        max_qubits: refuse jobs that simulate more qubits than this.
        plugins: plugins applied to every batch.
        cost_model: how resources are estimated (default: measured on first use).
    """

    def __init__(self, noise_model: NoiseModel | None = None, executor=None, *, seed: int | None = None,
                 max_qubits: int = DEFAULT_MAX_QUBITS, plugins=None, cost_model: CostModel | None = None):
        super().__init__(plugins)
        if noise_model is not None and not isinstance(noise_model, NoiseModel):
            raise QlabTypeError(f"DensityMatrixQPU needs a qlab NoiseModel or None, got {type(noise_model).__name__}.")
        self.noise_model = noise_model
        """The noise model (``None``: ideal)."""
        self.executor = executor
        """Where batches run (``None``: here)."""
        self.max_qubits = max_qubits
        """The largest number of simulated qubits per job."""
        self._seed = seed
        self._seeds = SeedSource(seed)
        self._cost = cost_model
        self._noise_dict = None if noise_model is None else noise_model_to_dict(noise_model)
        self._distributions = DistributionCache()

    def submit_job(self, job: Job) -> Result:
        result = run_job(job, self.noise_model, self._seeds.next(), self.max_qubits, self._distributions)
        result.meta_data["qpu"] = "DensityMatrixQPU"
        return result

    def _run_batch(self, batch: Batch) -> BatchResult:
        if self.executor is None or len(batch.jobs) < 2:
            return super()._run_batch(batch)
        submit = (
            (lambda *args: self.executor.submit(run_job_data, *args, pure=False))
            if dask_executor.is_dask_client(self.executor)
            else (lambda *args: self.executor.submit(run_job_data, *args))
        )
        futures = [submit(job.to_dict(), self._noise_dict, self._seeds.next(), self.max_qubits) for job in batch.jobs]
        results = []
        for future in futures:
            result = Result.from_dict(future.result())
            result.meta_data["qpu"] = "DensityMatrixQPU"
            results.append(result)
        return BatchResult(results)

    @property
    def fork_safe(self) -> bool:
        """Only without an executor: a forked copy of a Dask client has no event loop."""
        return self.executor is None

    def get_specs(self) -> HardwareSpecs:
        return HardwareSpecs(
            nbqbits=self.max_qubits, topology=None, gate_set=(),
            description=f"qlab density-matrix engine ({'ideal' if self.noise_model is None else 'noisy'})",
            noise=noise_summary(self.noise_model), meta_data={"qpu": "DensityMatrixQPU"},
        )

    def _estimate(self, batch: Batch) -> ResourceModel:
        return estimate_batch(batch, self._cost)

    def _repr_args(self) -> str:
        args = []
        if self.noise_model is not None:
            args.append(repr(self.noise_model))
        if self.executor is not None:
            args.append(f"executor={self.executor!r}")
        if self._seed is not None:
            args.append(f"seed={self._seed!r}")
        return ", ".join(args)
