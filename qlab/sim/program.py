"""Lowering a circuit and a noise model to the engine's program.

:func:`lower` validates once and turns a :class:`~qlab.circuit.Circuit`
into a list of steps the engine can run without further checks:

* :class:`Block` -- a Pauli transfer matrix on a few qubits (gates with their
  noise, idle noise, resets), with neighbouring blocks fused while the
  union of their qubits stays within ``max_fused_qubits``;
* :class:`Measure` -- a mid-circuit measurement (the state branches);
* :class:`Conditional` -- blocks that run only where a classical condition holds.

Terminal measurements (nothing acts on the qubit or reads the bit
afterwards) are not steps: they are sampled from the final state.

>>> from qlab import Circuit
>>> prog = lower(Circuit(2).h(0).cx(0, 1).measure_all())
>>> [type(s).__name__ for s in prog.steps], prog.terminal
(['Block'], ((0, 0), (1, 1)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..circuit import Circuit
from ..circuit.gates import GATES
from ..circuit.instruction import Condition, Instruction
from ..exceptions import QlabTypeError, QubitLimitError, SimulationError
from .channels import ReadoutError
from .noise import NoiseModel
from .pauli import kraus_to_ptm, permute_operator, unitary_to_ptm

__all__ = ["Block", "Measure", "Conditional", "Program", "lower", "simulated_qubits", "DEFAULT_MAX_QUBITS"]

DEFAULT_MAX_QUBITS = 14
"""The most qubits :func:`lower` accepts unless told otherwise (memory grows as 4**n)."""

RESET_PTM = kraus_to_ptm(np.array([[[1, 0], [0, 0]], [[0, 1], [0, 0]]], dtype=complex))
RESET_PTM.setflags(write=False)

PROJECTOR_PTMS = tuple(kraus_to_ptm(np.array([np.diag([1.0 - m, float(m)])], dtype=complex)) for m in (0, 1))
"""PTMs of the (unnormalised) projections onto |0> and |1>."""


@dataclass
class Block:
    """A Pauli transfer matrix on ``qubits`` (in the matrix's factor order)."""

    ptm: np.ndarray
    qubits: tuple[int, ...]


@dataclass(frozen=True)
class Measure:
    """Measure ``qubit`` into ``clbit`` mid-circuit, recording through ``readout``."""

    qubit: int
    clbit: int
    readout: ReadoutError | None


@dataclass(frozen=True)
class Conditional:
    """Run ``blocks`` on branches whose classical record satisfies ``condition``
    and ``otherwise`` (idle noise over the same time slot) on the others."""

    condition: Condition
    blocks: tuple[Block, ...]
    otherwise: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Program:
    """What the engine runs.

    Attributes:
        qubits: the circuit qubits that are simulated (see :func:`simulated_qubits`).
        num_clbits: the size of the classical record.
        steps: blocks, mid-circuit measurements and conditionals, in order.
        terminal: ``(qubit, clbit)`` of the measurements sampled from the final state.
        readout: the readout error of each terminal measurement (or ``None``).
        product: for qubits that are only measured at the end, their own one-qubit
            Pauli vector at that moment (they stay in a product state with the rest).
        noiseless_gates: gates that got no error while the model gives errors to other
            gates of the same size or to the same gate on other qubits (name -> qubits).
        timeless_idle: the model has idle noise but no instruction takes time.
    """

    qubits: tuple[int, ...]
    num_clbits: int
    steps: list = field(default_factory=list)
    terminal: tuple[tuple[int, int], ...] = ()
    readout: tuple[ReadoutError | None, ...] = ()
    product: dict = field(default_factory=dict)
    noiseless_gates: dict = field(default_factory=dict)
    timeless_idle: bool = False


@lru_cache(maxsize=8192)
def _library_ptm(name: str, params: tuple[float, ...]) -> np.ndarray:
    from ..circuit.gates import gate_matrix

    ptm = unitary_to_ptm(gate_matrix(name, params))
    ptm.setflags(write=False)
    return ptm


def gate_ptm(ins: Instruction) -> np.ndarray:
    if ins.name == "unitary":
        return unitary_to_ptm(ins.matrix)
    return _library_ptm(ins.name, ins.params)


def error_blocks(noise: NoiseModel, name: str, qubits: tuple[int, ...]) -> list[Block]:
    """The blocks of the model's error after ``name`` on ``qubits``."""
    ch = noise.gate_error(name, qubits)
    if ch is None:
        return []
    if ch.num_qubits == len(qubits):
        return [Block(ch.ptm, qubits)]
    if ch.num_qubits == 1:
        return [Block(ch.ptm, (q,)) for q in qubits]
    raise SimulationError(
        f"Cannot apply the noise of {name!r} on qubits {qubits}: its channel {ch!r} acts on "
        f"{ch.num_qubits} qubits; it must act on 1 or {len(qubits)}."
    )


class Scheduler:
    """As-soon-as-possible clocks per qubit; emits idle noise for waiting qubits.

    The schedule is static: every instruction occupies its time slot whether
    or not its classical condition holds. Terminal measurements are aligned
    at the end of the schedule unless the noise model says otherwise
    (``align_measurements``); then a qubit whose terminal measurement has
    been taken is retired and receives no more idle noise.
    """

    def __init__(self, noise: NoiseModel, qubits):
        self.noise = noise
        self.timed = noise.has_timing
        self.clock = {q: 0.0 for q in qubits}
        self.retired: set[int] = set()

    def idle(self, qubit: int, seconds: float) -> list[Block]:
        """Idle noise on ``qubit`` for ``seconds`` (nothing for retired qubits)."""
        idle = self.noise.idle_noise(qubit)
        if idle is None or seconds <= 0 or qubit in self.retired:
            return []
        return [Block(idle.channel(seconds).ptm, (qubit,))]

    def start(self, qubits: tuple[int, ...]) -> list[Block]:
        """Idle blocks for qubits that wait until all of ``qubits`` are free."""
        if not self.timed:
            return []
        t = max(self.clock[q] for q in qubits)
        out = []
        for q in qubits:
            out += self.idle(q, t - self.clock[q])
            self.clock[q] = t
        return out

    def finish(self, qubits: tuple[int, ...], seconds: float) -> None:
        for q in qubits:
            self.clock[q] += seconds


def _terminal_indices(instructions: tuple[Instruction, ...]) -> set[int]:
    """Indices of measurements that nothing later touches (qubit, written bit or read bit)."""
    terminal = set()
    busy_qubits: set[int] = set()
    busy_bits: set[int] = set()
    for i in range(len(instructions) - 1, -1, -1):
        ins = instructions[i]
        if ins.name == "barrier":
            continue
        if ins.name == "measure" and ins.condition is None:
            if ins.qubits[0] not in busy_qubits and ins.clbits[0] not in busy_bits:
                terminal.add(i)
        busy_qubits.update(ins.qubits)
        busy_bits.update(ins.clbits)
        if ins.condition is not None:
            busy_bits.update(ins.condition.bits)
    return terminal


def _instruction_blocks(ins: Instruction, noise: NoiseModel, sched: Scheduler) -> tuple[list, list, list]:
    """One gate, reset or delay as (blocks before it, its own blocks, idle blocks of its slot).

    The last list is what happens instead when the instruction's condition is false.
    """
    qs = ins.qubits
    if ins.name == "delay":
        sched.finish(qs, ins.duration_seconds)
        return sched.idle(qs[0], ins.duration_seconds), [], []
    wait = sched.start(qs)
    own = [Block(RESET_PTM if ins.name == "reset" else gate_ptm(ins), qs)] + error_blocks(noise, ins.name, qs)
    seconds = noise.duration(ins.name, qs)
    slot = [b for q in qs for b in sched.idle(q, seconds)]
    sched.finish(qs, seconds)
    return wait, own, slot


def lower(
    circuit: Circuit,
    noise: NoiseModel | None = None,
    *,
    max_qubits: int = DEFAULT_MAX_QUBITS,
    max_fused_qubits: int = 2,
) -> Program:
    """Validate ``circuit`` and ``noise`` and build the engine's :class:`Program`.

    Raises:
        QlabTypeError: if ``circuit`` is not a Circuit or ``noise`` not a NoiseModel.
        QubitLimitError: if the circuit touches more than ``max_qubits`` qubits.
    """
    if not isinstance(circuit, Circuit):
        raise QlabTypeError(f"Cannot simulate {type(circuit).__name__}: expected a qlab Circuit (see qlab.load_qasm).")
    noise = NoiseModel() if noise is None else noise
    if not isinstance(noise, NoiseModel):
        raise QlabTypeError(f"Cannot simulate with noise of type {type(noise).__name__}: expected a NoiseModel or None.")
    instructions = circuit.instructions
    terminal_idx = _terminal_indices(instructions)
    used = sorted({q for ins in instructions if ins.name != "barrier" for q in ins.qubits})
    simulated = _simulated(instructions, terminal_idx)
    if len(simulated) > max_qubits:
        raise QubitLimitError(
            f"Cannot simulate: the circuit acts on {len(simulated)} qubits, more than the limit of {max_qubits} "
            f"(a density matrix on n qubits needs 8*4^n bytes per copy)."
        )
    sched = Scheduler(noise, used)
    fuser = _Fuser(max_fused_qubits, {q: _ZERO_1Q.copy() for q in used if q not in simulated})
    terminal, readout, deferred = [], [], []
    noiseless = _NoiselessGates(noise)
    for i, ins in enumerate(instructions):
        if ins.name == "barrier":
            qs = tuple(q for q in ins.qubits if q in sched.clock)
            if qs:
                for b in sched.start(qs):
                    fuser.add(b)
            continue
        if ins.name == "measure":
            if ins.condition is not None:
                raise SimulationError(
                    f"Cannot simulate instruction {i} ({ins!r}): a conditional measurement is not "
                    "supported; condition the gates around it instead."
                )
            q, c = ins.qubits[0], ins.clbits[0]
            if i in terminal_idx and noise.align_measurements:
                terminal.append((q, c))
                readout.append(noise.readout_error(q))
                deferred.append(q)
                continue
            pre = sched.start(ins.qubits) + error_blocks(noise, "measure", ins.qubits)
            sched.finish(ins.qubits, noise.duration("measure", ins.qubits))
            for b in pre:
                fuser.add(b)
            if i in terminal_idx:
                terminal.append((q, c))
                readout.append(noise.readout_error(q))
                sched.retired.add(q)
            else:
                fuser.emit_barrier((q,), Measure(q, c, noise.readout_error(q)))
            continue
        noiseless.check(ins)
        wait, own, slot = _instruction_blocks(ins, noise, sched)
        for b in wait:
            fuser.add(b)
        if ins.condition is None or not own:
            for b in own:
                fuser.add(b)
        else:
            width = max(len(ins.qubits), 1)
            step = Conditional(ins.condition, tuple(_fuse_all(own, width)), tuple(_fuse_all(slot, width)))
            fuser.emit_barrier(ins.qubits, step)
    end = max(sched.clock.values(), default=0.0)
    for q in deferred:  # aligned terminal measurements: idle until the schedule ends, then measure
        for b in sched.idle(q, end - sched.clock[q]) + error_blocks(noise, "measure", (q,)):
            fuser.add(b)
    steps = fuser.finish()
    return Program(
        tuple(simulated), circuit.num_clbits, steps, tuple(terminal), tuple(readout), fuser.product,
        noiseless.found, bool(noise.idle) and bool(used) and end == 0,
    )


class _NoiselessGates:
    """Collects gates without an error whose size (or name) the noise model gives errors to elsewhere."""

    def __init__(self, noise: NoiseModel):
        self.noise = noise
        keys = [k for k in noise.gate_errors if k[0] not in ("measure", "reset", "unitary")]
        self.sizes = {len(q) if q is not None else GATES[name].num_qubits for name, q in keys}
        self.names = {name for name, _ in keys}
        self.found: dict[str, list[tuple[int, ...]]] = {}

    def check(self, ins: Instruction) -> None:
        if ins.name in ("reset", "delay", "unitary") or self.noise.gate_error(ins.name, ins.qubits) is not None:
            return
        if len(ins.qubits) in self.sizes or ins.name in self.names:
            seen = self.found.setdefault(ins.name, [])
            if ins.qubits not in seen:
                seen.append(ins.qubits)


_ZERO_1Q = np.array([1.0, 0.0, 1.0, 0.0])


def _simulated(instructions, terminal_idx) -> list[int]:
    return sorted({
        q for i, ins in enumerate(instructions) if ins.name != "barrier" and i not in terminal_idx for q in ins.qubits
    })


def simulated_qubits(circuit: Circuit) -> list[int]:
    """The qubits the engine simulates: those an instruction other than a barrier or a
    terminal measurement acts on. A qubit that is only measured at the end stays in a
    product state and is handled on its own.

    >>> simulated_qubits(Circuit(5).cx(3, 1).barrier().measure_all())
    [1, 3]
    """
    return _simulated(circuit.instructions, _terminal_indices(circuit.instructions))


def _fuse_all(blocks: list[Block], width: int) -> list[Block]:
    fuser = _Fuser(width)
    for b in blocks:
        fuser.add(b)
    return fuser.finish()


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.kron`` for square matrices in one ufunc call (this runs once per fused gate)."""
    n, m = a.shape[0], b.shape[0]
    return np.multiply.outer(a, b).transpose(0, 2, 1, 3).reshape(n * m, n * m)


@lru_cache(maxsize=8)
def _identity(size: int) -> np.ndarray:
    eye = np.eye(size)
    eye.setflags(write=False)
    return eye


def _embed(ptm: np.ndarray, qubits: tuple[int, ...], target: tuple[int, ...]) -> np.ndarray:
    """Extend a PTM on ``qubits`` to the qubits ``target`` (a superset), in target order."""
    if qubits == target:
        return ptm
    rest = [q for q in target if q not in qubits]
    full = _kron(ptm, _identity(4 ** len(rest)))
    order = list(qubits) + rest
    return permute_operator(full, [order.index(q) for q in target], 4)


class _Fuser:
    """Greedy fusion of blocks whose qubits stay within ``width`` qubits.

    Every qubit belongs to at most one open block, so open blocks act on
    disjoint qubits and commute; a block is emitted when a later step needs
    its qubits and cannot join it.
    """

    def __init__(self, width: int, product: dict[int, np.ndarray] | None = None):
        self.width = width
        self.open: dict[int, Block] = {}
        self.steps: list = []
        self.product = {} if product is None else product

    def _close(self, qubits) -> None:
        for block in {id(self.open[q]): self.open[q] for q in qubits if q in self.open}.values():
            self.steps.append(block)
            for q in block.qubits:
                del self.open[q]

    def add(self, block: Block) -> None:
        if block.qubits[0] in self.product:  # a one-qubit block on a qubit in a product state
            q = block.qubits[0]
            self.product[q] = block.ptm @ self.product[q]
            return
        candidates = list({id(self.open[q]): self.open[q] for q in block.qubits if q in self.open}.values())
        union = set(block.qubits).union(*(c.qubits for c in candidates))
        if len(union) > max(self.width, len(block.qubits)):
            self._close(block.qubits)
            merged = block
        else:
            merged = None
            for c in candidates:
                if merged is None:
                    merged = Block(c.ptm, c.qubits)
                else:
                    merged = Block(_kron(merged.ptm, c.ptm), merged.qubits + c.qubits)
            if merged is None:
                merged = block
            else:
                target = merged.qubits + tuple(q for q in block.qubits if q not in merged.qubits)
                merged = Block(_embed(block.ptm, block.qubits, target) @ _embed(merged.ptm, merged.qubits, target), target)
        for q in merged.qubits:
            self.open[q] = merged

    def emit_barrier(self, qubits, step) -> None:
        """Emit ``step`` after every open block on ``qubits``."""
        self._close(qubits)
        self.steps.append(step)

    def finish(self) -> list:
        self._close(list(self.open))
        return self.steps
