"""The streaming backend: the one operation-by-operation interface to the physics.

The emulator's simulator plugins and the plugin chain's backends wrap
:class:`DensityMatrixBackend`; it holds one density matrix over the qubits
allocated so far and applies operations as they arrive, with the noise of a
:class:`~qlab.sim.noise.NoiseModel` (gate errors, durations with idle noise
on waiting qubits, readout errors).

>>> backend = DensityMatrixBackend(seed=3)
>>> a, b = backend.allocate(2)
>>> backend.apply_gate("h", [a]); backend.apply_gate("cx", [a, b])
>>> backend.measure(a) == backend.measure(b)
True
>>> backend.free(a); backend.qubits == (b,)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..circuit.gates import GATES, canonical_name, is_unitary
from ..circuit.instruction import Instruction
from ..exceptions import QlabTypeError, QubitLimitError, SimulationError
from .channels import Channel
from .density_matrix import DensityMatrix
from .noise import NoiseModel
from .program import DEFAULT_MAX_QUBITS, PROJECTOR_PTMS, RESET_PTM, Scheduler, error_blocks, gate_ptm
from .state import PauliState, Workspace

__all__ = ["DensityMatrixBackend"]



class DensityMatrixBackend:
    """A noisy density-matrix simulator driven one operation at a time.

    Args:
        noise: the noise model (``None``: ideal).
        seed: seeds the measurement outcomes and readout errors.
        max_qubits: how many qubits may be allocated at once.
    """

    def __init__(self, noise: NoiseModel | None = None, seed: int | None = None, max_qubits: int = DEFAULT_MAX_QUBITS):
        noise = NoiseModel() if noise is None else noise
        if not isinstance(noise, NoiseModel):
            raise QlabTypeError(f"DensityMatrixBackend: noise must be a NoiseModel or None, got {type(noise).__name__}.")
        self.noise = noise
        self.max_qubits = max_qubits
        self.rng = np.random.default_rng(seed)
        self._state = PauliState.zero([], Workspace())
        self._scheduler = Scheduler(noise, [])
        self._next_id = 0

    # ---------------------------------------------------------- qubits
    @property
    def qubits(self) -> tuple[int, ...]:
        """The allocated qubit ids, in allocation order."""
        return tuple(sorted(self._state.axes))

    def allocate(self, count: int = 1) -> list[int]:
        """Allocate ``count`` fresh qubits in ``|0>``; return their ids."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
            raise QlabTypeError(f"allocate: count must be an int, got {count!r} ({type(count).__name__}).")
        if count < 1:
            raise SimulationError(f"allocate: count must be positive, got {count}.")
        if self._state.num_qubits + count > self.max_qubits:
            raise QubitLimitError(
                f"allocate: {self._state.num_qubits} qubits are allocated and {count} more were asked for; "
                f"the limit is {self.max_qubits}."
            )
        start = max(self._scheduler.clock.values(), default=0.0)
        ids = list(range(self._next_id, self._next_id + count))
        self._next_id += count
        for q in ids:
            self._state.add_qubit(q)
            self._scheduler.clock[q] = start
        return ids

    def free(self, qubit: int) -> None:
        """Release a qubit (it is traced out)."""
        self._check((qubit,), "free")
        self._state.remove_qubit(qubit)
        del self._scheduler.clock[qubit]

    def _check(self, qubits: Sequence[int], action: str) -> tuple[int, ...]:
        qubits = tuple(qubits)
        allocated = set(self._state.axes)
        for q in qubits:
            if q not in allocated:
                raise SimulationError(
                    f"Cannot {action} on qubit {q!r}: it is not allocated (allocated: {sorted(allocated)})."
                )
        if len(set(qubits)) != len(qubits):
            raise SimulationError(f"Cannot {action} on qubits {qubits}: a qubit appears more than once.")
        return qubits

    # ----------------------------------------------------------- evolve
    def _apply_blocks(self, blocks) -> None:
        for block in blocks:
            self._state.apply(block.ptm, block.qubits)

    def apply_gate(self, name: str, qubits: Sequence[int], params: Sequence[float] = (), matrix=None) -> None:
        """Apply a library gate (or, with ``name="unitary"``, the unitary ``matrix``) and its noise."""
        qubits = self._check(qubits, f"apply {name!r}")
        if name == "unitary":
            m = np.asarray(matrix, dtype=complex)
            if m.shape != (2 ** len(qubits),) * 2 or not is_unitary(m):
                raise SimulationError(f"apply_gate: the matrix must be a {2 ** len(qubits)}-dimensional unitary.")
            ins = Instruction("unitary", qubits, matrix=m)
        else:
            name = canonical_name(name)
            spec = GATES[name]
            if len(qubits) != spec.num_qubits or len(params) != spec.num_params:
                raise SimulationError(
                    f"apply_gate: {name!r} takes {spec.num_qubits} qubit(s) and {spec.num_params} parameter(s), "
                    f"got {len(qubits)} and {len(params)}."
                )
            values = tuple(float(p) for p in params)
            if not all(math.isfinite(p) for p in values):
                raise SimulationError(f"apply_gate: parameters of {name!r} must be finite, got {values}.")
            ins = Instruction(name, qubits, values)
        blocks = self._scheduler.start(qubits)
        self._apply_blocks(blocks)
        self._state.apply(gate_ptm(ins), qubits)
        self._apply_blocks(error_blocks(self.noise, ins.name, qubits))
        self._scheduler.finish(qubits, self.noise.duration(ins.name, qubits))

    def apply_channel(self, channel: Channel, qubits: Sequence[int]) -> None:
        """Apply a channel to ``qubits`` (in the channel's factor order)."""
        if not isinstance(channel, Channel):
            raise QlabTypeError(f"apply_channel: expected a Channel, got {type(channel).__name__}.")
        qubits = self._check(qubits, "apply a channel")
        if channel.num_qubits != len(qubits):
            raise SimulationError(f"apply_channel: {channel!r} acts on {channel.num_qubits} qubit(s), got {len(qubits)}.")
        self._state.apply(channel.ptm, qubits)

    def reset(self, qubit: int) -> None:
        """Reset a qubit to ``|0>`` (with the model's ``"reset"`` error)."""
        qubits = self._check((qubit,), "reset")
        self._apply_blocks(self._scheduler.start(qubits))
        self._state.apply(RESET_PTM, qubits)
        self._apply_blocks(error_blocks(self.noise, "reset", qubits))
        self._scheduler.finish(qubits, self.noise.duration("reset", qubits))

    def advance(self, duration: float, qubits: Sequence[int] | None = None) -> None:
        """Let ``qubits`` (default: all) idle for ``duration`` seconds under the idle noise."""
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            raise QlabTypeError(f"advance: duration must be a number of seconds, got {duration!r}.")
        if not 0 <= duration < math.inf:
            raise SimulationError(f"advance: duration must be finite and >= 0 seconds, got {duration!r}.")
        qubits = self._check(self._state.axes if qubits is None else qubits, "advance time")
        for q in qubits:
            self._apply_blocks(self._scheduler.idle(q, duration))
            self._scheduler.clock[q] += duration

    # ---------------------------------------------------------- measure
    def probability_of_one(self, qubit: int) -> float:
        """``P(1)`` of measuring ``qubit`` now (no collapse)."""
        self._check((qubit,), "read the probability")
        w = self._state.probabilities((qubit,))
        return float(np.clip(w[1] / w.sum(), 0, 1))

    def _collapse(self, qubit: int, outcome: int, probability: float) -> None:
        self._state.apply(PROJECTOR_PTMS[outcome], (qubit,))
        self._state.data /= probability

    def measure(self, qubit: int) -> int:
        """Measure ``qubit``: sample, collapse, and return the recorded bit (after readout error)."""
        qubits = self._check((qubit,), "measure")
        self._apply_blocks(self._scheduler.start(qubits))
        self._apply_blocks(error_blocks(self.noise, "measure", qubits))
        p1 = self.probability_of_one(qubit)
        outcome = int(self.rng.random() < p1)
        self._collapse(qubit, outcome, p1 if outcome else 1 - p1)
        self._scheduler.finish(qubits, self.noise.duration("measure", qubits))
        readout = self.noise.readout_error(qubit)
        if readout is not None and self.rng.random() < readout.matrix[outcome, 1 - outcome]:
            return 1 - outcome
        return outcome

    def postselect(self, qubit: int, outcome: int) -> float:
        """Project ``qubit`` onto ``outcome`` and renormalise; return that outcome's probability."""
        self._check((qubit,), "postselect")
        if outcome not in (0, 1):
            raise SimulationError(f"postselect: outcome must be 0 or 1, got {outcome!r}.")
        p1 = self.probability_of_one(qubit)
        p = p1 if outcome else 1 - p1
        if p <= 1e-14:
            raise SimulationError(f"postselect: outcome {outcome} of qubit {qubit} has probability {p:.3g}; cannot postselect.")
        self._collapse(qubit, outcome, p)
        return p

    # ---------------------------------------------------------- snapshots
    def snapshot(self) -> tuple:
        """A copy of the state, the clocks and the id counter (not the random generator)."""
        return self._state.copy(), dict(self._scheduler.clock), self._next_id

    def restore(self, snapshot: tuple) -> None:
        """Continue from a :meth:`snapshot` (which stays usable); the random generator is kept.

        >>> b = DensityMatrixBackend(seed=1); q, = b.allocate(1); saved = b.snapshot()
        >>> b.apply_gate("x", [q]); b.restore(saved); b.probability_of_one(q)
        0.0
        """
        state, clock, next_id = snapshot
        self._state = state.copy()
        self._scheduler.clock = dict(clock)
        self._next_id = next_id

    # ------------------------------------------------------------ read
    def state(self, qubits: Sequence[int] | None = None) -> DensityMatrix:
        """The density matrix of ``qubits`` (default: all, in allocation order)."""
        keep = self.qubits if qubits is None else self._check(qubits, "read the state")
        reduced = self._state.copy()
        for q in list(reduced.axes):
            if q not in keep:
                reduced.remove_qubit(q)
        return DensityMatrix(reduced.to_matrix(list(keep)), validate=False)

    def probabilities(self, qubits: Sequence[int] | None = None) -> np.ndarray:
        """Outcome probabilities of measuring ``qubits`` (big-endian in that order)."""
        keep = self.qubits if qubits is None else self._check(qubits, "read probabilities")
        w = self._state.probabilities(keep)
        return np.clip(w / w.sum(), 0, None)

    def expectation(self, pauli: str, qubits: Sequence[int]) -> float:
        """``Tr(P rho)`` for the Pauli string ``pauli`` on ``qubits``."""
        qubits = self._check(qubits, "read an expectation")
        if len(pauli) != len(qubits) or set(pauli) - set("IXYZ"):
            raise SimulationError(f"expectation: {pauli!r} must be a Pauli string over IXYZ with one letter per qubit {qubits}.")
        return self._state.expectation(pauli, qubits) / self._state.trace()

    @property
    def time(self) -> float:
        """The latest clock of any qubit, in seconds."""
        return max(self._scheduler.clock.values(), default=0.0)

    def __repr__(self) -> str:
        return f"DensityMatrixBackend(<{len(self._state.axes)} qubit(s) allocated, t={self.time:.3g} s>)"
