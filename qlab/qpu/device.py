"""``DeviceQPU``: any qlab device as a QPU, its jobs run through the device's queue and job store.

This is the small adapter between the two device-access families: a QPU job
becomes an OpenQASM 3 program with ``measure`` on the job's qubits, is
checked by the device (sites, coupling, native gates) and goes into the
device's FIFO queue as a job record of family ``"qpu"``; so it shows up in
``qlab.jobs.df()`` and the lab's job table next to the QDMI jobs.

- Sampled jobs: the device's shots (readout errors included).
- Exact jobs (``nbshots == 0``): the device's exact probabilities of the
  measured qubits, passed through the device's readout confusion matrices
  (so a sampled job converges to the exact one).
- Observable jobs are measured group by group (:mod:`qlab.qpu.splitting`);
  exact ones use the exact probabilities *without* readout error, so their
  value is ``Tr(O rho)``.

>>> from qlab import Circuit
>>> from qlab.jobs import JobStore
>>> from qlab.qpu import DeviceQPU, Job
>>> with DeviceQPU("ideal", store=JobStore(":memory:")) as qpu:
...     print(qpu.submit(Job(Circuit(2).h(0).cx(0, 1))).probabilities)
...     print(qpu.store.df()[["family", "device", "status"]].to_string(index=False))
{'00': 0.5, '11': 0.5}
family device status
   qpu  ideal   done
"""

from __future__ import annotations

import numpy as np

from ..devices import DeviceDescription, device_ids
from ..exceptions import JobStateError, QlabTypeError, SimulationError
from ..jobs import JobRecord, JobStatus, JobStore
from ..qdmi import Device, LocalDevice, NotSupported, ProgramFormat, Session
from ..qdmi.results import outcome_counts
from .data import Batch, BatchResult, Job, Result, Sample
from .execute import SeedSource, measurement_circuit
from .handler import QPUHandler
from .readout import apply_per_qubit
from .resources import ResourceModel, estimate_batch
from .specs import HardwareSpecs
from .splitting import basis_jobs, combine

__all__ = ["DeviceQPU"]


class DeviceQPU(QPUHandler):
    """A qlab device as a QPU.

    Args:
        device: a catalog id (``"training5"``, or an MQT Core id such as
            ``"mqt.ddsim.default"`` when ``mqt-core`` is installed), a
            :class:`~qlab.devices.DeviceDescription`, or a :class:`qlab.qdmi.Device`
            (its session's store and queue are used).
        store: where jobs are recorded when the QPU opens its own session (a
            :class:`~qlab.jobs.JobStore`, a path, ``":memory:"``; default: the persistent store).
        seed: makes sampled results reproducible.
        timeout: seconds to wait for one job.
        plugins: plugins applied to every batch.

    Call :meth:`close` (or use a ``with`` block) to stop a session it opened.
    """

    def __init__(self, device, *, store=None, seed: int | None = None, timeout: float | None = None, plugins=None):
        super().__init__(plugins)
        self._session = None
        self._own_device = isinstance(device, DeviceDescription)
        if isinstance(device, Device):
            self.device = device
        elif isinstance(device, str):
            self._session = Session(store=store, mqt=False if device in device_ids() else None)
            self.device = self._session.device(device)
        elif isinstance(device, DeviceDescription):
            self._session = Session(store=store, mqt=False)
            self.device = LocalDevice(self._session, device, 1)
        else:
            raise QlabTypeError(
                f"DeviceQPU takes a device id, a DeviceDescription or a qlab.qdmi.Device, got {type(device).__name__}."
            )
        self._seeds = SeedSource(seed)
        self._seed = seed
        self.timeout = timeout
        """Seconds to wait for one job (``None``: no limit)."""

    fork_safe = False
    """A forked copy would queue jobs that no worker thread runs: serve with "threaded" or "pool"."""

    @property
    def store(self) -> JobStore:
        """The job store the device's jobs are recorded in."""
        return self.device.session.store

    def close(self) -> None:
        """Stop the session this QPU opened (a given device's session is left alone)."""
        if self._own_device:
            self.device._shutdown()
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> DeviceQPU:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_args(self) -> str:
        return repr(self.device.id) + ("" if self._seed is None else f", seed={self._seed!r}")

    # ------------------------------------------------------------ running
    def submit_job(self, job: Job) -> Result:
        return self._run_batch(Batch([job])).results[0]

    def _run_batch(self, batch: Batch) -> BatchResult:
        """Check every job's program on the device first, then queue them all, then collect."""
        checked = []
        for job in batch.jobs:
            parts = [job] if job.observable is None else basis_jobs(job)
            checked.append((job, [(part, self._program(part)) for part in parts]))
        plans = [(job, [(part, self._enqueue(part, program), job.observable is None) for part, program in parts])
                 for job, parts in checked]
        results = []
        for job, parts in plans:
            done = [self._collect(part, record_id, readout) for part, record_id, readout in parts]
            if job.observable is None:
                result = done[0]
            else:
                value, error = combine(job.observable, done)
                result = Result([], (), job.nbshots, value, error)
            result.meta_data = {**job.meta_data, **result.meta_data, "qpu": "DeviceQPU", "device": self.device.id,
                                "job_ids": [record_id for _, record_id, _ in parts]}
            results.append(result)
        return BatchResult(results)

    def _program(self, job: Job) -> str:
        """The job as an OpenQASM 3 program the device accepts (raises the device's error if not)."""
        program = measurement_circuit(job).to_qasm(3)
        self.device._check_access()
        self.device._prepare(ProgramFormat.QASM3, program)
        return program

    def _enqueue(self, job: Job, program: str) -> str:
        seed = self._seeds.next() if self.device.seeded else None
        record = JobRecord.new("qpu", self.device.id, program, "qasm3", {"shots": max(job.nbshots, 1), "seed": seed})
        self.device._job_queue().submit(record)
        return record.id

    def _collect(self, job: Job, record_id: str, readout: bool) -> Result:
        record = self.device._job_queue().wait(record_id, self.timeout)
        if record.status is JobStatus.FAILED:
            raise SimulationError(f"QPU job {record_id} failed on device {self.device.id!r}: {record.error}")
        if record.status is not JobStatus.DONE:
            raise JobStateError(f"QPU job {record_id} on device {self.device.id!r} ended {record.status.value}: {record.error}")
        results, k = record.results, len(job.qubits)
        if job.nbshots:
            counts = outcome_counts(results)
            n = job.nbshots
            samples = [Sample(int(key, 2) if k else 0, k, c / n, err=float(np.sqrt(c / n * (1 - c / n) / n)))
                       for key, c in zip(results["keys"], counts.tolist()) if c]
            return Result(sorted(samples, key=lambda s: s.state), job.qubits, n)
        p = self._exact(job, results)
        if readout:
            p = apply_per_qubit(p, [self._confusion(q).T for q in job.qubits])
        samples = [Sample(int(s), k, float(p[s])) for s in np.flatnonzero(p > 1e-15)]
        return Result(samples, job.qubits, 0)

    def _exact(self, job: Job, results: dict) -> np.ndarray:
        if "probability_keys" not in results:
            raise SimulationError(f"Device {self.device.id!r} gives no exact probabilities; use nbshots > 0.")
        qubits = list(results["qubits"])
        where = [qubits.index(q) for q in job.qubits]
        p = np.zeros(2 ** len(where))
        for key, value in zip(results["probability_keys"], results["probability_values"]):
            index = 0
            for position in where:
                index = 2 * index + (key[position] == "1")
            p[index] += value
        return p

    def _confusion(self, qubit: int) -> np.ndarray:
        try:
            noise = self.device.noise_model()
        except NotSupported:  # not simulated by qlab's engine: its shots carry whatever readout it has
            noise = None
        error = None if noise is None else noise.readout_error(qubit)
        return np.eye(2) if error is None else error.matrix

    # ------------------------------------------------------ what it says
    def get_specs(self) -> HardwareSpecs:
        device = self.device
        noise: dict = {}
        confusion = {str(q): self._confusion(q).tolist() for q in range(device.qubits_num)}
        if any(m != [[1.0, 0.0], [0.0, 1.0]] for m in confusion.values()):
            noise["readout_confusion"] = confusion
        fidelity = {op.name: op._row()["fidelity_median"] for op in device.operations if op.name != "measure"}
        noise["gate_fidelity"] = {g: f for g, f in fidelity.items() if f is not None}
        noise["t1"] = {str(s.index): s.t1 for s in device.sites if s.t1 is not None}
        noise["t2"] = {str(s.index): s.t2 for s in device.sites if s.t2 is not None}
        return HardwareSpecs(
            nbqbits=device.qubits_num, topology=device.coupling_map,
            gate_set=tuple(op.name for op in device.operations if op.name != "measure"),
            description=device.name, noise={k: v for k, v in noise.items() if v},
            meta_data={"qpu": "DeviceQPU", "device": device.id},
        )

    def _estimate(self, batch: Batch) -> ResourceModel:
        return estimate_batch(batch)
