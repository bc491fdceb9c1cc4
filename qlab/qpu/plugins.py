"""Built-in plugins: gate-set rewriting, observable splitting, readout-error mitigation.

>>> from qlab import Circuit
>>> from qlab.qpu import DensityMatrixQPU, Job, Observable
>>> qpu = ObservableSplitter() | GateSetRewriter({"rz", "sx", "cz"}) | DensityMatrixQPU()
>>> qpu
ObservableSplitter() | GateSetRewriter(['cz', 'rz', 'sx']) | DensityMatrixQPU()
>>> job = Job(Circuit(2).h(0).cx(0, 1), observable=Observable(2, {"ZZ": 1.0, "XX": 1.0}))
>>> round(qpu.submit(job).value, 9)
2.0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from ..devices.natives import unroll
from ..exceptions import QPUDataError
from .data import Batch, BatchResult, Result, Sample
from .handler import Plugin
from .observable import Observable
from .specs import HardwareSpecs
from .readout import apply_per_qubit
from .splitting import MITIGATION_KEY, basis_jobs, combine, frequencies

__all__ = ["GateSetRewriter", "ObservableSplitter", "ReadoutMitigation"]


class GateSetRewriter(Plugin):
    """Rewrites every circuit into a gate set (exactly, up to global phase; see :func:`qlab.devices.unroll`).

    Args:
        gate_set: the target gate names; ``None`` takes the QPU's :attr:`HardwareSpecs.gate_set`
            (a QPU that states none gets the circuits unchanged).
    """

    def __init__(self, gate_set: Collection[str] | None = None):
        self._gate_set = None if gate_set is None else tuple(sorted(gate_set))

    @property
    def gate_set(self) -> tuple[str, ...] | None:
        """The target gates (``None``: the QPU's)."""
        return self._gate_set

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        gates = self._gate_set or specs.gate_set
        if not gates:
            return batch
        return Batch([job.with_(circuit=unroll(job.circuit, set(gates))) for job in batch.jobs], batch.meta_data)

    def __repr__(self) -> str:
        return "GateSetRewriter()" if self._gate_set is None else f"GateSetRewriter({list(self._gate_set)})"


def _push(meta: dict, key: str, plan) -> dict:
    return {**meta, key: [*meta.get(key, []), plan]}


def _pop(meta: dict, key: str):
    plans = list(meta.get(key, []))
    if not plans:
        raise QPUDataError(f"The batch result has no {key!r} plan: it did not come from a batch this plugin compiled.")
    plan = plans.pop()
    rest = {k: v for k, v in meta.items() if k != key}
    return plan, ({**rest, key: plans} if plans else rest)


class ObservableSplitter(Plugin):
    """Turns observable jobs into measurement-basis sampling jobs and recombines value and error.

    Put it in front of a QPU that samples (a device, a remote QPU, readout
    mitigation): each qubit-wise commuting group of Pauli terms becomes one
    job measured in its basis; the results come back as one :class:`Result`
    per original job with :attr:`Result.value` and :attr:`Result.value_error`
    (see :mod:`qlab.qpu.observable`). Jobs without an observable pass through.
    """

    _KEY = "qlab.observable_splitter"

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        jobs, plan = [], []
        for job in batch.jobs:
            parts = [job] if job.observable is None else basis_jobs(job)
            jobs.extend(parts)
            plan.append({"observable": None if job.observable is None else job.observable.to_dict(),
                         "parts": len(parts), "meta_data": job.meta_data})
        return Batch(jobs, _push(batch.meta_data, self._KEY, plan))

    def post_process(self, batch_result: BatchResult) -> BatchResult:
        plan, meta = _pop(batch_result.meta_data, self._KEY)
        results, i = [], 0
        for entry in plan:
            parts = batch_result.results[i:i + entry["parts"]]
            i += entry["parts"]
            if entry["observable"] is None:
                results.extend(parts)
                continue
            value, error = combine(Observable.from_dict(entry["observable"]), parts)
            meta_data = {**entry["meta_data"], "seconds": sum(p.meta_data.get("seconds", 0.0) for p in parts)}
            results.append(Result([], (), parts[0].nbshots if parts else 0, value, error, meta_data))
        return BatchResult(results, meta)


class ReadoutMitigation(Plugin):
    """Undoes readout errors with the inverse of per-qubit confusion matrices.

    A recorded distribution is ``p_rec = (A_0^T (x) A_1^T (x) ...) p`` with
    ``A_q[m][r] = P(record r | outcome m)``; the plugin applies the inverse,
    clips negative entries and renormalises. For sampled results the error bar
    of each mitigated probability is propagated from the multinomial
    covariance of the frequencies: ``var = (M∘M p - (M p)^2) / N``. The result's
    ``meta_data["readout_mitigation"]`` keeps the inverse matrices and the raw
    frequencies, so an :class:`ObservableSplitter` in front estimates each group from
    the raw shots (``f . M p = (M^T f) . p``): unbiased, with the right error bar.

    Args:
        confusion: qubit -> 2x2 confusion matrix (``"*"`` or ``None`` as key: every
            qubit); ``None`` takes the QPU's :meth:`HardwareSpecs.readout_confusion`.
    """

    _KEY = "qlab.readout_mitigation"

    def __init__(self, confusion: Mapping | None = None):
        self._confusion = None if confusion is None else {
            "*" if q is None else str(q): _confusion_matrix(m, q).tolist() for q, m in confusion.items()}

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        if self._confusion is not None:
            table = self._confusion
        else:
            qubits = sorted({q for job in batch.jobs for q in job.qubits})
            table = {str(q): m.tolist() for q in qubits if (m := specs.readout_confusion(q)) is not None}
        return Batch(batch.jobs, _push(batch.meta_data, self._KEY, table))

    def post_process(self, batch_result: BatchResult) -> BatchResult:
        table, meta = _pop(batch_result.meta_data, self._KEY)
        return BatchResult([self._mitigate(r, table) for r in batch_result.results], meta)

    @staticmethod
    def _mitigate(result: Result, table: dict) -> Result:
        if result.value is not None or not result.qubits:
            return result
        inverses = []
        for q in result.qubits:
            matrix = table.get(str(q), table.get("*"))
            inverses.append(np.eye(2) if matrix is None else np.linalg.inv(np.asarray(matrix).T))
        p = frequencies(result)
        mitigated = apply_per_qubit(p, inverses)
        clipped = np.clip(mitigated, 0.0, None)
        clipped /= clipped.sum()
        err = None
        if result.nbshots:
            var = (apply_per_qubit(p, [m * m for m in inverses]) - mitigated**2) / result.nbshots
            err = np.sqrt(np.clip(var, 0.0, None))
        k = len(result.qubits)
        samples = [Sample(int(s), k, float(clipped[s]), err=None if err is None else float(err[s]))
                   for s in np.flatnonzero(clipped > 1e-15)]
        record = {"inverse": [m.tolist() for m in inverses],
                  "raw": [[s.state, s.probability] for s in result.raw_data]}
        return Result(samples, result.qubits, result.nbshots, None, None, {**result.meta_data, MITIGATION_KEY: record})

    def __repr__(self) -> str:
        return "ReadoutMitigation()" if self._confusion is None else f"ReadoutMitigation({self._confusion!r})"


def _confusion_matrix(matrix, qubit) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.shape != (2, 2) or np.any(m < 0) or not np.allclose(m.sum(axis=1), 1):
        raise QPUDataError(
            f"ReadoutMitigation: the confusion matrix of qubit {qubit!r} must be 2x2 with rows summing to 1, got {m.tolist()}."
        )
    if abs(np.linalg.det(m)) < 1e-9:
        raise QPUDataError(f"ReadoutMitigation: the confusion matrix of qubit {qubit!r} is singular ({m.tolist()}).")
    return m
