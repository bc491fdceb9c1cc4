"""What a QPU takes and gives: jobs, batches, samples, results.

Everything here is plain data with ``to_dict()``/``from_dict()`` (JSON-ready,
every field checked on reading) and ``to_json()``/``from_json()``; the
top-level documents carry ``"schema": "qlab.qpu/1"``.

Bit order: a sample's :attr:`Sample.bitstring` has one character per
measured qubit, in the order of :attr:`Job.qubits`; its integer
:attr:`Sample.state` reads the bitstring as a binary number (the first
measured qubit is the most significant bit, as in QuTiP).

>>> from qlab import Circuit
>>> job = Job(Circuit(2).h(0).cx(0, 1), nbshots=100)
>>> job
Job(Circuit(2).h(0).cx(0, 1), nbshots=100, qubits=(0, 1))
>>> Job.from_json(job.to_json()) == job
True
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field

import pandas as pd

from ..circuit import Circuit
from ..exceptions import QlabTypeError, QPUDataError
from .observable import Observable
from .schema import SCHEMA, check_schema, circuit_from_dict, circuit_to_dict, field, mapping, optional_number

__all__ = ["Job", "Batch", "Sample", "Result", "BatchResult", "MAX_SHOTS"]

MAX_SHOTS = 10**8
"""The largest ``nbshots`` a job may ask for."""


def _meta(value: object, what: str) -> dict:
    """A JSON-able metadata dict (checked by encoding it)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise QPUDataError(f"Invalid {what}: meta_data must be a dict with str keys, got {type(value).__name__}.")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise QPUDataError(f"Invalid {what}: meta_data must be JSON-serialisable ({err}).") from err
    return dict(value)


class _Document:
    """``to_json``/``from_json`` for a class with ``to_dict``/``from_dict``: ``{"schema": ..., <key>: data}``."""

    __slots__ = ()
    _KEY = ""

    def to_json(self) -> str:
        """This object as a JSON document with the schema version."""
        return json.dumps({"schema": SCHEMA, self._KEY: self.to_dict()}, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes):
        """Read :meth:`to_json` output, checking the schema version and every field."""
        what = cls._KEY.replace("_", " ")
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as err:
            raise QPUDataError(f"Cannot read {what}: not valid JSON ({err}).") from err
        return cls.from_dict(field(check_schema(data, what), cls._KEY, dict, what))


class Job(_Document):
    """One circuit to run: measure some qubits (sampled or exactly), or estimate an observable.

    Args:
        circuit: a :class:`qlab.Circuit` without classical conditions. Measurements at
            its end are taken as the qubits to measure (when ``qubits`` is not given)
            and removed; mid-circuit measurements are refused.
        nbshots: how many shots to sample; ``0`` asks for exact probabilities (or the
            exact expectation value of ``observable``).
        qubits: which qubits to measure, in the order of the outcome bits. Default:
            the circuit's terminal measurements in classical-bit order, else all qubits.
        observable: an :class:`~qlab.qpu.Observable` on the circuit's qubits: the job
            then returns its expectation value (and its error bar when sampled).
        meta_data: JSON-able data that travels with the job and comes back on its result.

    Raises:
        QPUDataError: bad shots, qubits, observable, metadata or measurements.
    """

    __slots__ = ("circuit", "nbshots", "qubits", "observable", "meta_data")
    _KEY = "job"

    def __init__(self, circuit: Circuit, nbshots: int = 0, qubits: Sequence[int] | None = None,
                 observable: Observable | None = None, meta_data: Mapping | None = None):
        if not isinstance(circuit, Circuit):
            raise QlabTypeError(f"Job needs a qlab Circuit, got {type(circuit).__name__} (see qlab.load_qasm).")
        circuit, measured = _strip_terminal_measurements(circuit)
        if isinstance(nbshots, bool) or not isinstance(nbshots, int) or not 0 <= nbshots <= MAX_SHOTS:
            raise QPUDataError(f"Invalid job: nbshots must be an int in 0..{MAX_SHOTS:,} (0: exact), got {nbshots!r}.")
        n = circuit.num_qubits
        if qubits is None:
            qubits = measured or range(n)
        qubits = tuple(qubits)
        if any(isinstance(q, bool) or not isinstance(q, int) or not 0 <= q < n for q in qubits) or len(set(qubits)) != len(qubits):
            raise QPUDataError(f"Invalid job: qubits must be distinct ints in 0..{n - 1}, got {list(qubits)}.")
        if observable is not None:
            if not isinstance(observable, Observable):
                raise QlabTypeError(f"Job observable must be a qlab.qpu.Observable, got {type(observable).__name__}.")
            if observable.nqbits != n:
                raise QPUDataError(
                    f"Invalid job: the observable acts on {observable.nqbits} qubit(s) but the circuit has {n}."
                )
        self.circuit = circuit
        """The circuit (without measurements)."""
        self.nbshots = nbshots
        """Shots to sample; 0 for exact results."""
        self.qubits = qubits
        """The measured qubits, in outcome-bit order."""
        self.observable = observable
        """The observable to estimate, or ``None`` for a sampling job."""
        self.meta_data = _meta(meta_data, "job")
        """JSON-able data that comes back on the result."""

    def with_(self, **changes) -> Job:
        """A copy with some arguments replaced (``job.with_(nbshots=10)``)."""
        args = {"circuit": self.circuit, "nbshots": self.nbshots, "qubits": self.qubits,
                "observable": self.observable, "meta_data": self.meta_data, **changes}
        return Job(**args)

    def to_dict(self) -> dict:
        """JSON-ready data (see :mod:`qlab.qpu.schema`)."""
        return {
            "circuit": circuit_to_dict(self.circuit), "nbshots": self.nbshots, "qubits": list(self.qubits),
            "observable": None if self.observable is None else self.observable.to_dict(), "meta_data": self.meta_data,
        }

    @classmethod
    def from_dict(cls, data: object) -> Job:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "job")
        observable = field(data, "observable", (dict, type(None)), "job", None)
        qubits = field(data, "qubits", (list, type(None)), "job", None)
        return cls(
            circuit_from_dict(field(data, "circuit", dict, "job")), field(data, "nbshots", int, "job", 0),
            qubits, None if observable is None else Observable.from_dict(observable),
            field(data, "meta_data", (dict, type(None)), "job", None),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        extra = "" if self.observable is None else f", observable={self.observable!r}"
        meta = f", meta_data={self.meta_data!r}" if self.meta_data else ""
        return f"Job({self.circuit!r}, nbshots={self.nbshots}, qubits={self.qubits}{extra}{meta})"


def _strip_terminal_measurements(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """The circuit without its final measurements, and the qubits they measured in classical-bit order."""
    ins = circuit.instructions
    conditional = next((i for i in ins if i.condition is not None), None)
    if conditional is not None:
        raise QPUDataError(
            f"Invalid job: {conditional!r} has a classical condition; QPU jobs run without feed-forward "
            "(it runs on qlab.emulator)."
        )
    if not any(i.name == "measure" for i in ins):
        return circuit, []
    touched: set[int] = set()
    measured: dict[int, int] = {}
    keep = []
    for i in reversed(ins):
        if i.name == "measure" and i.qubits[0] not in touched and i.condition is None:
            if i.clbits[0] in measured:
                raise QPUDataError(f"Invalid job: classical bit {i.clbits[0]} is measured twice at the end of the circuit.")
            measured[i.clbits[0]] = i.qubits[0]
            touched.add(i.qubits[0])
        elif i.name == "measure":
            raise QPUDataError(
                f"Invalid job: {i!r} is a mid-circuit measurement; QPU jobs measure at the end only "
                "(mid-circuit measurement and feed-forward run on qlab.emulator)."
            )
        else:
            touched.update(i.qubits)
            keep.append(i)
    stripped = Circuit(circuit.num_qubits)
    for i in reversed(keep):
        stripped.append(i.name, i.qubits, i.params, clbits=i.clbits, condition=i.condition, matrix=i.matrix,
                        label=i.label, unit=i.unit)
    return stripped, [measured[c] for c in sorted(measured)]


class Batch(_Document):
    """Jobs submitted together, with metadata for the whole batch.

    >>> from qlab import Circuit
    >>> batch = Batch([Job(Circuit(1).x(0), 10)], meta_data={"user": "ada"})
    >>> len(batch), batch.meta_data
    (1, {'user': 'ada'})
    """

    __slots__ = ("jobs", "meta_data")
    _KEY = "batch"

    def __init__(self, jobs: Iterable[Job] = (), meta_data: Mapping | None = None):
        jobs = list(jobs)
        for i, job in enumerate(jobs):
            if not isinstance(job, Job):
                raise QlabTypeError(f"Batch job {i} must be a qlab.qpu.Job, got {type(job).__name__}.")
        self.jobs = jobs
        """The jobs, in order."""
        self.meta_data = _meta(meta_data, "batch")
        """JSON-able data for the whole batch (plugins keep their plans here)."""

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self):
        return iter(self.jobs)

    def to_dict(self) -> dict:
        """JSON-ready data."""
        return {"jobs": [j.to_dict() for j in self.jobs], "meta_data": self.meta_data}

    @classmethod
    def from_dict(cls, data: object) -> Batch:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "batch")
        jobs = []
        for i, item in enumerate(field(data, "jobs", list, "batch")):
            try:
                jobs.append(Job.from_dict(item))
            except QPUDataError as err:
                raise type(err)(f"Batch job {i}: {err}") from err
        return cls(jobs, field(data, "meta_data", (dict, type(None)), "batch", None))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batch) and self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        meta = f", meta_data={self.meta_data!r}" if self.meta_data else ""
        return f"Batch(<{len(self.jobs)} job(s)>{meta})"


@dataclass(frozen=True)
class Sample:
    """One measured outcome of a job.

    >>> Sample(state=2, nbqbits=2, probability=0.5, err=0.05).bitstring
    '10'
    """

    state: int
    """The outcome as an integer (first measured qubit most significant)."""
    nbqbits: int
    """How many qubits were measured."""
    probability: float
    """Its probability (exact) or frequency (sampled)."""
    amplitude: complex | None = None
    """The amplitude, for an exact job whose final state is pure (global phase: the first
    non-zero amplitude is real and positive)."""
    err: float | None = None
    """The standard error of a sampled probability."""

    def __post_init__(self):
        if isinstance(self.state, bool) or not isinstance(self.state, int) or not 0 <= self.state < 2**self.nbqbits:
            raise QPUDataError(f"Invalid sample: state must be an int in 0..{2**self.nbqbits - 1}, got {self.state!r}.")
        if not (isinstance(self.probability, float) and math.isfinite(self.probability)):
            raise QPUDataError(f"Invalid sample: probability must be a finite float, got {self.probability!r}.")

    @property
    def bitstring(self) -> str:
        """The outcome as bits, one per measured qubit in :attr:`Job.qubits` order."""
        return format(self.state, f"0{self.nbqbits}b") if self.nbqbits else ""

    def to_dict(self) -> dict:
        """JSON-ready data; the amplitude is ``[re, im]``."""
        amp = None if self.amplitude is None else [self.amplitude.real, self.amplitude.imag]
        return {"state": self.state, "probability": self.probability, "amplitude": amp, "err": self.err}

    @classmethod
    def from_dict(cls, data: object, nbqbits: int) -> Sample:
        """Read :meth:`to_dict` data of a result that measured ``nbqbits`` qubits."""
        data = mapping(data, "sample")
        amp = field(data, "amplitude", (list, type(None)), "sample", None)
        if amp is not None:
            if len(amp) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in amp):
                raise QPUDataError(f"Cannot read sample: amplitude must be [re, im], got {amp!r:.80}.")
            amp = complex(amp[0], amp[1])
        return cls(field(data, "state", int, "sample"), nbqbits, float(field(data, "probability", (int, float), "sample")),
                   amp, optional_number(data, "err", "sample"))


@dataclass
class Result(_Document):
    """What one job gives back.

    ``raw_data`` holds one :class:`Sample` per outcome with non-zero probability (or
    frequency), by state; an observable job has :attr:`value` (and :attr:`value_error`
    when sampled) and no samples.
    """

    raw_data: list = dataclass_field(default_factory=list)
    """The samples."""
    qubits: tuple = ()
    """The measured qubits, in outcome-bit order."""
    nbshots: int = 0
    """How many shots were taken (0: exact)."""
    value: float | None = None
    """The expectation value of the job's observable."""
    value_error: float | None = None
    """Its standard error (sampled estimates; 0 or ``None`` when exact)."""
    meta_data: dict = dataclass_field(default_factory=dict)
    """The job's metadata plus what the QPU adds (``"qpu"``, ``"seconds"``, ...)."""

    _KEY = "result"

    @property
    def probabilities(self) -> dict[str, float]:
        """Bitstring -> probability (or frequency)."""
        return {s.bitstring: s.probability for s in self.raw_data}

    def df(self) -> pd.DataFrame:
        """One row per sample: bitstring, state, probability, error, amplitude."""
        return pd.DataFrame(
            [{"bitstring": s.bitstring, "state": s.state, "probability": s.probability, "err": s.err,
              "amplitude": s.amplitude} for s in self.raw_data],
            columns=["bitstring", "state", "probability", "err", "amplitude"],
        )

    def to_dict(self) -> dict:
        """JSON-ready data."""
        return {"raw_data": [s.to_dict() for s in self.raw_data], "qubits": list(self.qubits), "nbshots": self.nbshots,
                "value": self.value, "value_error": self.value_error, "meta_data": self.meta_data}

    @classmethod
    def from_dict(cls, data: object) -> Result:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "result")
        qubits = tuple(field(data, "qubits", list, "result"))
        return cls([Sample.from_dict(s, len(qubits)) for s in field(data, "raw_data", list, "result")], qubits,
                   field(data, "nbshots", int, "result"), optional_number(data, "value", "result"),
                   optional_number(data, "value_error", "result"),
                   _meta(field(data, "meta_data", (dict, type(None)), "result", None), "result"))

    def __repr__(self) -> str:
        if self.value is not None:
            err = "" if self.value_error is None else f" ± {self.value_error:.3g}"
            return f"Result(value={self.value:.6g}{err}, nbshots={self.nbshots})"
        return f"Result(<{len(self.raw_data)} sample(s) on qubits {self.qubits}>, nbshots={self.nbshots})"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + ("" if self.value is not None else self.df().head(32).to_html(index=False))


@dataclass
class BatchResult(_Document):
    """The results of a batch, in job order."""

    results: list = dataclass_field(default_factory=list)
    """One :class:`Result` per job."""
    meta_data: dict = dataclass_field(default_factory=dict)
    """The batch's metadata (plugins read their plans back from here)."""

    _KEY = "batch_result"

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __getitem__(self, index: int) -> Result:
        return self.results[index]

    def to_dict(self) -> dict:
        """JSON-ready data."""
        return {"results": [r.to_dict() for r in self.results], "meta_data": self.meta_data}

    @classmethod
    def from_dict(cls, data: object) -> BatchResult:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "batch result")
        return cls([Result.from_dict(r) for r in field(data, "results", list, "batch result")],
                   _meta(field(data, "meta_data", (dict, type(None)), "batch result", None), "batch result"))

    def __repr__(self) -> str:
        return f"BatchResult(<{len(self.results)} result(s)>)"
