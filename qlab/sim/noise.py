"""Noise models: which channel follows which gate on which qubits.

A :class:`NoiseModel` is frozen; ``with_*`` methods return a new model, and
``a.compose(b)`` (or ``a | b``) stacks two models. Look-ups prefer an entry
for the exact qubits over the entry for the gate on any qubits.

>>> from qlab.sim.channels import depolarizing, ReadoutError
>>> nm = (NoiseModel()
...       .with_gate_error(["u3", "h"], depolarizing(1e-3))
...       .with_gate_error("cx", depolarizing(1e-2, 2))
...       .with_readout_error(ReadoutError.symmetric(0.02)))
>>> nm.gate_error("cx", (0, 1))
depolarizing(0.01, 2)
>>> NoiseModel().with_gate_error("x", depolarizing(0.1), qubits=0)
NoiseModel().with_gate_error('x', depolarizing(0.1), qubits=0)
>>> nm.gate_error("x", (0,)) is None
True

Gate errors act right after their gate. A 1-qubit channel given for a
multi-qubit gate acts on each of its qubits. ``"measure"`` entries act just
before a measurement, ``"reset"`` entries just after a reset. Idle noise
(:class:`IdleNoise`) acts on ``delay`` instructions and on every qubit that
waits for another one to be free, in an as-soon-as-possible schedule built
from the durations. The schedule is static: an instruction whose classical
condition is false still takes its time slot, and its qubits idle through
it. Terminal measurements (nothing acts on their qubit or bit afterwards)
are aligned at the end of the schedule: their qubits idle until the
circuit's last operation ends, as on hardware, unless the model says
otherwise (:meth:`NoiseModel.with_aligned_measurements`).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from ..circuit.gates import GATES, canonical_name, gate_matrix
from ..circuit.qasm.tables import QASM_ALIASES as _QASM_ALIASES
from ..exceptions import CircuitError, NoiseModelError, QlabTypeError
from .channels import Channel, ReadoutError, _trusted, depolarizing, expm_real, liouvillian_ptm, thermal_relaxation

__all__ = ["NoiseModel", "IdleNoise", "NoiseModelWarning", "QASM_ALIASES", "is_symmetric", "warn_user"]



class NoiseModelWarning(UserWarning):
    """The noise model does not do what it probably should (a calibration that cannot be
    matched exactly, gates that get no noise, idle noise that never acts)."""


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn_user(message: str, category: type[Warning] = NoiseModelWarning) -> None:
    """Warn once, attributed to the first caller outside the qlab package (the user's line)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class IdleNoise:
    """Noise on a waiting qubit, from a Lindbladian built with QuTiP.

    The generator is computed once; :meth:`channel` exponentiates it for any
    duration (cached).

    >>> idle = IdleNoise.from_t1_t2(50e-6, 30e-6)
    >>> idle.channel(1e-6) == thermal_relaxation(50e-6, 30e-6, 1e-6)
    True
    """

    __slots__ = ("generator", "_name", "_cache")

    def __init__(self, hamiltonian=None, collapse_ops: Sequence = (), *, name: str | None = None):
        g = liouvillian_ptm(hamiltonian, collapse_ops)
        if g.shape != (4, 4):
            raise NoiseModelError(f"IdleNoise acts on one qubit; the operators given act on {g.shape[0].bit_length() // 2 - 0} qubits.")
        g.setflags(write=False)
        self.generator = g
        self._name = name or f"IdleNoise(<H and {len(collapse_ops)} collapse operator(s)>)"
        self._cache: dict[float, Channel] = {}

    @classmethod
    def from_t1_t2(cls, t1: float, t2: float) -> IdleNoise:
        """Amplitude damping at rate ``1/t1`` plus pure dephasing so that coherences decay at ``1/t2``."""
        if not (isinstance(t1, (int, float)) and isinstance(t2, (int, float))) or not t1 > 0 or not t2 > 0:
            raise NoiseModelError(f"IdleNoise.from_t1_t2: t1 and t2 must be positive numbers, got t1={t1!r}, t2={t2!r}.")
        if t2 > 2 * t1 * (1 + 1e-12):
            raise NoiseModelError(f"IdleNoise.from_t1_t2: t2 must be <= 2*t1, got t1={t1}, t2={t2}.")
        lower = np.array([[0, 1], [0, 0]], dtype=complex)
        ops = [math.sqrt(1 / t1) * lower]
        gamma_phi = max(1 / t2 - 1 / (2 * t1), 0.0)
        if gamma_phi > 0:
            ops.append(math.sqrt(gamma_phi / 2) * np.diag([1, -1]).astype(complex))
        return cls(None, ops, name=f"IdleNoise.from_t1_t2({t1!r}, {t2!r})")

    def channel(self, duration: float) -> Channel:
        """The channel of waiting ``duration`` (same time unit as the rates)."""
        ch = self._cache.get(duration)
        if ch is None:
            if duration < 0:
                raise NoiseModelError(f"IdleNoise: duration must be >= 0, got {duration}.")
            ch = _trusted(expm_real(self.generator * duration), f"{self._name}.channel({duration!r})")
            if len(self._cache) < 4096:
                self._cache[duration] = ch
        return ch

    def plus(self, other: IdleNoise) -> IdleNoise:
        """Both processes at once: the generators add."""
        combined = IdleNoise.__new__(IdleNoise)
        combined.generator = self.generator + other.generator
        combined.generator.setflags(write=False)
        combined._name, combined._cache = f"{self!r}.plus({other!r})", {}
        return combined

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdleNoise) and np.allclose(self.generator, other.generator)

    __hash__ = None

    def __repr__(self) -> str:
        return self._name


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


_NON_GATE_KEYS = ("measure", "reset", "unitary")

QASM_ALIASES = {**_QASM_ALIASES, "cu3": "cu"}
"""Gate spellings a noise model accepts besides the library names (OpenQASM 2/3 and common SDKs)."""


def _names(gates: str | Iterable[str]) -> tuple[str, ...]:
    """Canonical names of ``gates`` (aliases resolved); unknown names are refused."""
    names = (gates,) if isinstance(gates, str) else tuple(gates)
    out = []
    for name in names:
        if name in _NON_GATE_KEYS:
            out.append(name)
            continue
        try:
            out.append(canonical_name(QASM_ALIASES.get(name, name)))
        except CircuitError:
            raise NoiseModelError(
                f"Unknown gate {name!r} in a noise model; allowed: {', '.join(sorted(GATES))}, "
                f"{', '.join(_NON_GATE_KEYS)} (and aliases such as {', '.join(sorted(QASM_ALIASES))})."
            ) from None
    return tuple(out)


def _merge(ours: Mapping, theirs: Mapping, fallback, combine) -> dict:
    """Combine two look-up tables key by key, each key falling back to ``fallback(key)``.

    ``combine(key, a, b)`` joins the two values of one key.
    """
    merged = {}
    for key in {**ours, **theirs}:
        a = ours.get(key) or ours.get(fallback(key))
        b = theirs.get(key) or theirs.get(fallback(key))
        merged[key] = b if a is None else (a if b is None else combine(key, a, b))
    return merged


def _on_each_qubit(channel: Channel, arity: int) -> Channel:
    """A 1-qubit channel acting on each of ``arity`` qubits (anything else unchanged)."""
    if channel.num_qubits != 1 or arity == 1:
        return channel
    out = channel
    for _ in range(arity - 1):
        out = out.tensor(channel)
    return out


def _then(key: tuple[str, tuple[int, ...] | None], first: Channel, second: Channel) -> Channel:
    """The error of gate ``key`` when ``second`` follows ``first``.

    Channels of different sizes are joined by letting the 1-qubit one act on
    each of the gate's qubits.
    """
    if first.num_qubits == second.num_qubits:
        return first.then(second)
    arity = _key_arity(key)
    if arity is None:
        raise NoiseModelError(
            f"NoiseModel: cannot follow {first!r} with {second!r} on {key[0]!r} on any qubits: the gate's size is "
            "unknown; give the qubits (qubits=...) or channels of one size."
        )
    return _on_each_qubit(first, arity).then(_on_each_qubit(second, arity))


def _qubit_key(qubits) -> tuple[int, ...] | None:
    if qubits is None:
        return None
    if isinstance(qubits, (int, np.integer)):
        return (int(qubits),)
    return tuple(int(q) for q in qubits)


@dataclass(frozen=True)
class NoiseModel:
    """Channels per gate and qubits, idle noise, gate durations and readout errors.

    Build with the ``with_*`` methods (each returns a new model) or
    :meth:`from_calibration`.
    """

    gate_errors: Mapping[tuple[str, tuple[int, ...] | None], Channel] = field(default_factory=dict)
    """Channel applied after gate ``name`` on ``qubits`` (``None``: any qubits)."""
    idle: Mapping[int | None, IdleNoise] = field(default_factory=dict)
    """Idle noise per qubit (``None``: every qubit)."""
    readout: Mapping[int | None, ReadoutError] = field(default_factory=dict)
    """Readout error per qubit (``None``: every qubit)."""
    durations: Mapping[tuple[str, tuple[int, ...] | None], float] = field(default_factory=dict)
    """Duration in seconds of gate ``name`` on ``qubits`` (``None``: any qubits)."""
    align_measurements: bool = True
    """Terminal measurements wait for the end of the schedule, as on hardware (their qubits
    idle until the circuit's last operation ends); ``False`` measures each qubit as soon
    as its last operation ends."""

    def __post_init__(self):
        for attr in ("gate_errors", "idle", "readout", "durations"):
            object.__setattr__(self, attr, _frozen(getattr(self, attr)))
        for key, ch in self.gate_errors.items():
            if not isinstance(ch, Channel):
                raise QlabTypeError(f"NoiseModel: the error for {key} must be a Channel, got {type(ch).__name__}.")
            arity = _key_arity(key)
            if arity is not None and ch.num_qubits not in (1, arity):
                raise NoiseModelError(
                    f"NoiseModel: {ch!r} acts on {ch.num_qubits} qubit(s) but {key[0]!r} on "
                    f"{'any qubits' if key[1] is None else key[1]} acts on {arity}; use a 1- or {arity}-qubit channel."
                )
        if not isinstance(self.align_measurements, bool):
            raise QlabTypeError(f"NoiseModel: align_measurements must be True or False, got {self.align_measurements!r}.")
        for key, d in self.durations.items():
            if not isinstance(d, (int, float)) or not d >= 0 or math.isinf(d):
                raise NoiseModelError(f"NoiseModel: the duration of {key} must be a finite number >= 0 seconds, got {d!r}.")

    # ------------------------------------------------------------ builders
    def with_gate_error(self, gates: str | Iterable[str], channel: Channel, qubits: Sequence[int] | int | None = None) -> NoiseModel:
        """Add ``channel`` after each of ``gates`` (on ``qubits``, or any qubits).

        An existing entry for the same key is followed by the new channel; a
        1-qubit channel joined with a multi-qubit one acts on each of the
        gate's qubits, in order.
        """
        if not isinstance(channel, Channel):
            raise QlabTypeError(f"with_gate_error: expected a Channel, got {type(channel).__name__}.")
        errors = dict(self.gate_errors)
        for name in _names(gates):
            key = (name, _qubit_key(qubits))
            errors[key] = _then(key, errors[key], channel) if key in errors else channel
        return replace(self, gate_errors=errors)

    def with_idle_noise(self, noise: IdleNoise, qubits: Sequence[int] | int | None = None) -> NoiseModel:
        """Set the idle noise of ``qubits`` (or of every qubit)."""
        if not isinstance(noise, IdleNoise):
            raise QlabTypeError(f"with_idle_noise: expected an IdleNoise, got {type(noise).__name__}.")
        idle = dict(self.idle)
        for q in (None,) if qubits is None else _qubit_key(qubits):
            idle[q] = noise
        return replace(self, idle=idle)

    def with_readout_error(self, error: ReadoutError, qubits: Sequence[int] | int | None = None) -> NoiseModel:
        """Set the readout error of ``qubits`` (or of every qubit)."""
        if not isinstance(error, ReadoutError):
            raise QlabTypeError(f"with_readout_error: expected a ReadoutError, got {type(error).__name__}.")
        readout = dict(self.readout)
        for q in (None,) if qubits is None else _qubit_key(qubits):
            readout[q] = error
        return replace(self, readout=readout)

    def with_duration(self, gates: str | Iterable[str], seconds: float, qubits: Sequence[int] | int | None = None) -> NoiseModel:
        """Set how long ``gates`` take (on ``qubits``, or any qubits), in seconds."""
        durations = dict(self.durations)
        for name in _names(gates):
            durations[(name, _qubit_key(qubits))] = seconds
        return replace(self, durations=durations)

    def with_aligned_measurements(self, align: bool = True) -> NoiseModel:
        """Whether terminal measurements wait for the end of the schedule (the default) or
        happen as soon as their qubit's last operation ends (``align=False``).

        >>> NoiseModel().with_aligned_measurements(False)
        NoiseModel().with_aligned_measurements(False)
        """
        if not isinstance(align, bool):
            raise QlabTypeError(f"with_aligned_measurements: expected True or False, got {align!r}.")
        return replace(self, align_measurements=align)

    def compose(self, other: NoiseModel) -> NoiseModel:
        """Both models: gate errors and readout errors of ``other`` follow ours;
        idle generators add; durations must agree where both set them;
        measurements are aligned only if both models align them.

        Every key of either model gets what both models give it, so an
        any-qubit entry of one model still acts under an exact-qubit entry
        of the other.
        """
        errors = _merge(self.gate_errors, other.gate_errors, lambda key: (key[0], None), _then)
        readout = _merge(self.readout, other.readout, lambda q: None, lambda _, a, b: a.then(b))
        idle = _merge(self.idle, other.idle, lambda q: None, lambda _, a, b: a.plus(b))
        durations = dict(self.durations)
        for key, d in other.durations.items():
            if key in durations and durations[key] != d:
                raise NoiseModelError(f"compose: the models disagree on the duration of {key}: {durations[key]} vs {d}.")
            durations[key] = d
        return NoiseModel(errors, idle, readout, durations, self.align_measurements and other.align_measurements)

    __or__ = compose

    def __repr__(self) -> str:
        calls = [f".with_gate_error({name!r}, {ch!r}{_qubits_arg(q)})" for (name, q), ch in self.gate_errors.items()]
        calls += [f".with_idle_noise({noise!r}{_qubits_arg(q)})" for q, noise in self.idle.items()]
        calls += [f".with_readout_error({err!r}{_qubits_arg(q)})" for q, err in self.readout.items()]
        calls += [f".with_duration({name!r}, {d!r}{_qubits_arg(q)})" for (name, q), d in self.durations.items()]
        if not self.align_measurements:
            calls.append(".with_aligned_measurements(False)")
        if len(calls) > 8:
            return (
                f"NoiseModel(<{len(self.gate_errors)} gate errors, {len(self.idle)} idle noises, "
                f"{len(self.readout)} readout errors, {len(self.durations)} durations>)"
            )
        return "NoiseModel()" + "".join(calls)

    def df(self) -> pd.DataFrame:
        """One row per gate error, idle noise, readout error and duration, keyed by name and qubits.

        ``error`` is 1 minus the average gate fidelity of a gate's channel, or
        the mean bit-flip probability of a readout error.

        >>> model = NoiseModel().with_gate_error("cx", depolarizing(0.03, 2), (0, 1)).with_duration("cx", 3e-7, (0, 1))
        >>> model.df()[["kind", "name", "qubits", "duration_ns", "error"]].to_dict("records")
        [{'kind': 'gate', 'name': 'cx', 'qubits': '0,1', 'duration_ns': 300.0, 'error': 0.0225}]
        """
        import pandas as pd

        rows: dict[tuple[str, str, str], dict] = {}

        def row(kind: str, name: str, qubits) -> dict:
            where = "any" if qubits is None else ",".join(map(str, qubits if isinstance(qubits, tuple) else (qubits,)))
            return rows.setdefault((kind, name, where), {"kind": kind, "name": name, "qubits": where,
                                                          "duration_ns": None, "error": None, "channel": ""})

        for (name, qubits), ch in self.gate_errors.items():
            entry = row("gate", name, qubits)
            entry["error"], entry["channel"] = round(1 - ch.average_gate_fidelity(), 12), repr(ch)
        for (name, qubits), seconds in self.durations.items():
            row("gate", name, qubits)["duration_ns"] = seconds * 1e9
        for qubit, idle in self.idle.items():
            row("idle", "idle", qubit)["channel"] = repr(idle)
        for qubit, err in self.readout.items():
            entry = row("readout", "measure", qubit)
            entry["error"], entry["channel"] = round(1 - err.fidelity, 12), repr(err)
        return pd.DataFrame(list(rows.values()), columns=["kind", "name", "qubits", "duration_ns", "error", "channel"])

    def _repr_html_(self) -> str:
        from .._html import frame_table

        if self.is_ideal and not self.durations:
            return "<p>NoiseModel(): no noise</p>"
        return frame_table(self.df(), caption="NoiseModel: errors per gate and qubits")

    # ------------------------------------------------------------ look-ups
    def gate_error(self, name: str, qubits: tuple[int, ...]) -> Channel | None:
        """The channel after ``name`` on ``qubits``, or ``None``."""
        errors = self.gate_errors
        return errors.get((name, qubits)) or errors.get((name, None))

    def duration(self, name: str, qubits: tuple[int, ...]) -> float:
        """How long ``name`` takes on ``qubits`` (0 when not set)."""
        d = self.durations.get((name, qubits))
        return self.durations.get((name, None), 0.0) if d is None else d

    def idle_noise(self, qubit: int) -> IdleNoise | None:
        """The idle noise of ``qubit``, or ``None``."""
        return self.idle.get(qubit) or self.idle.get(None)

    def readout_error(self, qubit: int) -> ReadoutError | None:
        """The readout error of ``qubit``, or ``None``."""
        return self.readout.get(qubit) or self.readout.get(None)

    @property
    def is_ideal(self) -> bool:
        """Whether the model adds no noise at all."""
        return not (self.gate_errors or self.idle or self.readout)

    @property
    def has_timing(self) -> bool:
        """Whether qubits are scheduled: with idle noise, waiting qubits idle."""
        return bool(self.idle)

    # ------------------------------------------------------- calibration
    @classmethod
    def from_calibration(
        cls,
        t1: Sequence[float],
        t2: Sequence[float],
        gate_durations: Mapping[str, float | Mapping[tuple[int, ...], float]],
        gate_fidelities: Mapping[str, float | Mapping[tuple[int, ...], float]],
        readout_fidelities: Sequence[float] | None = None,
        coupling_map: Iterable[tuple[int, int]] | None = None,
    ) -> NoiseModel:
        """A model from per-qubit T1/T2 (seconds), gate durations, gate and readout fidelities.

        Each gate is followed by thermal relaxation of its qubits over its
        duration, then by depolarizing noise fitted so that the gate's
        average gate fidelity equals the calibrated one. Waiting qubits get
        idle noise from T1/T2. A readout fidelity ``F`` flips each outcome
        with probability ``1 - F``. Values given per gate name apply on every
        qubit (1-qubit gates) or every pair of ``coupling_map`` (default: all
        ordered pairs); a mapping gives values per qubit tuple.

        >>> nm = NoiseModel.from_calibration([100e-6] * 2, [80e-6] * 2, {"x": 50e-9, "cx": 300e-9},
        ...                                  {"x": 0.999, "cx": 0.99}, [0.98, 0.97])
        >>> round(nm.gate_error("cx", (0, 1)).average_gate_fidelity(), 12)
        0.99
        """
        n = len(t1)
        if len(t2) != n:
            raise NoiseModelError(f"from_calibration: t1 has {n} entries but t2 has {len(t2)}.")
        t2 = [_effective_t2(a, b) for a, b in zip(t1, t2)]
        idle = {q: IdleNoise.from_t1_t2(t1[q], t2[q]) for q in range(n) if math.isfinite(t1[q]) or math.isfinite(t2[q])}
        pairs = [tuple(p) for p in coupling_map] if coupling_map is not None else [
            (a, b) for a in range(n) for b in range(n) if a != b
        ]
        durations: dict = {}
        errors: dict = {}
        too_good: list[str] = []
        gate_fidelities = {_names(name)[0]: v for name, v in gate_fidelities.items()}
        gate_durations = {_names(name)[0]: v for name, v in gate_durations.items()}
        for name, value in gate_fidelities.items():
            arity = _gate_arity(name)
            per = _both_orientations(name, _per_qubits(value, arity, n, pairs, f"gate_fidelities[{name!r}]"))
            dur = _both_orientations(name, _per_qubits(gate_durations.get(name, 0.0), arity, n, pairs, f"gate_durations[{name!r}]"))
            for qubits, fidelity in per.items():
                seconds = dur.get(qubits, 0.0)
                durations[(name, qubits)] = seconds
                errors[(name, qubits)] = _fitted_error(name, qubits, fidelity, seconds, t1, t2, too_good)
        for name, value in gate_durations.items():
            if name not in gate_fidelities:
                arity = _gate_arity(name)
                per = _both_orientations(name, _per_qubits(value, arity, n, pairs, f"gate_durations[{name!r}]"))
                for qubits, seconds in per.items():
                    durations[(name, qubits)] = seconds
        if too_good:
            warn_user(
                f"from_calibration: relaxation alone gives {len(too_good)} gate(s) a fidelity below the calibrated "
                f"one, so no depolarizing noise is added to them: {_listing(too_good)}.",
                NoiseModelWarning,
            )
        readout = {}
        if readout_fidelities is not None:
            if len(readout_fidelities) != n:
                raise NoiseModelError(f"from_calibration: {len(readout_fidelities)} readout fidelities for {n} qubits.")
            for q, f in enumerate(readout_fidelities):
                if not 0.5 <= f <= 1:
                    raise NoiseModelError(f"from_calibration: readout fidelity of qubit {q} must be in [0.5, 1], got {f}.")
                readout[q] = ReadoutError.symmetric(1 - f)
        return cls(errors, idle, readout, durations)

    @classmethod
    def from_device(cls, description) -> NoiseModel:
        """A model from a device description (anything with a ``calibration()`` method).

        ``description.calibration()`` returns the keyword arguments of
        :meth:`from_calibration`; the descriptions of ``qlab.devices`` do.
        """
        calibration = getattr(description, "calibration", None)
        if not callable(calibration):
            raise QlabTypeError(
                f"NoiseModel.from_device: expected a device description with calibration(), got {type(description).__name__}."
            )
        return cls.from_calibration(**calibration())


def _qubits_arg(qubits) -> str:
    if qubits is None:
        return ""
    if isinstance(qubits, int):
        return f", qubits={qubits}"
    return f", qubits={qubits[0]}" if len(qubits) == 1 else f", qubits={qubits}"


def _key_arity(key: tuple[str, tuple[int, ...] | None]) -> int | None:
    """How many qubits the gate of a gate-error key acts on (``None``: a user unitary on any qubits)."""
    if key[1] is not None:
        return len(key[1])
    return None if key[0] == "unitary" else _gate_arity(key[0])


def _gate_arity(name: str) -> int:
    if name in ("measure", "reset"):
        return 1
    return GATES[canonical_name(name)].num_qubits


def _effective_t2(t1: float, t2: float) -> float:
    """T2 of a site: ``2 * T1`` (relaxation without extra dephasing) when only T1 is given."""
    return 2 * t1 if math.isinf(t2) and math.isfinite(t1) else t2


@lru_cache(maxsize=None)
def is_symmetric(name: str) -> bool:
    """Whether a 2-qubit library gate is unchanged by swapping its qubits (at generic parameters).

    >>> is_symmetric("cz"), is_symmetric("rzz"), is_symmetric("cx")
    (True, True, False)
    """
    gate = GATES[name]
    if gate.num_qubits != 2:
        return False
    swap = np.eye(4)[[0, 2, 1, 3]]
    angles = np.random.default_rng(0).uniform(0.1, 3.0, size=(2, gate.num_params))
    return all(np.allclose(swap @ gate_matrix(name, tuple(a)) @ swap, gate_matrix(name, tuple(a))) for a in angles)


def _both_orientations(name: str, per: dict[tuple[int, ...], float]) -> dict[tuple[int, ...], float]:
    """For a symmetric 2-qubit gate, give each pair's value to the reversed pair too (unless it has its own)."""
    if name not in GATES or not is_symmetric(name):
        return per
    return {**{q[::-1]: v for q, v in per.items()}, **per}


def _listing(items: Sequence[str], limit: int = 8) -> str:
    """``a, b, c`` (and how many more beyond ``limit``)."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _per_qubits(value, arity: int, n: int, pairs, what: str) -> dict[tuple[int, ...], float]:
    if isinstance(value, Mapping):
        out = {}
        for qubits, v in value.items():
            key = _qubit_key(qubits)
            if len(key) != arity or any(not 0 <= q < n for q in key):
                raise NoiseModelError(f"from_calibration: {what} has key {qubits!r}; expected {arity} qubit(s) in 0..{n - 1}.")
            out[key] = float(v)
        return out
    if arity == 1:
        return {(q,): float(value) for q in range(n)}
    if arity == 2:
        return {p: float(value) for p in pairs}
    raise NoiseModelError(f"from_calibration: give {what} per qubit tuple for a {arity}-qubit gate.")


@lru_cache(maxsize=4096)
def _relaxation_ptm(t1: float, t2: float, seconds: float) -> np.ndarray:
    return thermal_relaxation(t1, t2, seconds).ptm


def _fitted_error(name: str, qubits: tuple[int, ...], fidelity: float, seconds: float, t1, t2, too_good: list) -> Channel:
    """Relaxation over the gate, then depolarizing noise fitted to the fidelity (``too_good`` collects gates
    whose relaxation alone is worse than the fidelity)."""
    if not 0 < fidelity <= 1:
        raise NoiseModelError(f"from_calibration: the fidelity of {name!r} on {qubits} must be in (0, 1], got {fidelity}.")
    relax = np.ones((1, 1))
    for q in qubits:
        relax = np.kron(relax, _relaxation_ptm(t1[q], t2[q], seconds))
    k = len(qubits)
    d = 2**k
    f_pro = ((d + 1) * fidelity - 1) / d
    trace = np.trace(relax)
    keep = 1.0 if trace - 1 <= 0 else (d * d * f_pro - 1) / (trace - 1)
    if keep > 1:
        too_good.append(f"{name} on {qubits} (F={fidelity})")
        keep = 1.0
    lower = -1 / (4**k - 1)
    if keep < lower - 1e-12:
        raise NoiseModelError(
            f"from_calibration: the fidelity {fidelity} of {name!r} on {qubits} is below what any noise channel "
            f"reaches after relaxation (minimum {(1 + d * ((1 + lower * (trace - 1)) / d**2)) / (d + 1):.4g})."
        )
    ptm = depolarizing(1 - keep, k).ptm @ relax
    return _trusted(ptm, f"<calibrated error of {name} on {qubits}: F={fidelity}>")
