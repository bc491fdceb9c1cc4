"""Simulation results: exact outcome probabilities, sampled shots, the final state.

Bit order: a key has one group of characters per classical register, in the
order the registers were declared, separated by spaces; inside a group,
character ``i`` is bit ``i`` of the register (the leftmost character is bit
0). This is the order in which qubits appear in ``DensityMatrix`` and QuTiP
tensors, so ``measure_all`` on ``|01>`` gives ``'01'``.

>>> from qlab import Circuit, simulate
>>> r = simulate(Circuit(2).x(1).measure_all(), shots=10, seed=1)
>>> r.counts
{'01': 10}
>>> r.df()
  outcome  probability  counts
0      01          1.0      10
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from ..circuit import Circuit
from ..exceptions import SimulationError
from .density_matrix import DensityMatrix
from .state import _ZERO_1Q, PauliState

__all__ = ["Result", "FinalState", "format_record", "format_records", "outcome_weights", "qiskit_key", "shot_order",
           "STATE_MAX_QUBITS"]


def format_record(circuit: Circuit, record: Sequence[int]) -> str:
    """The key of a classical record (one int per classical bit) for ``circuit``.

    >>> c = Circuit(1); _ = c.add_creg("a", 2); _ = c.add_creg("b", 1)
    >>> format_record(c, (1, 0, 1))
    '10 1'
    """
    return " ".join("".join(str(record[b]) for b in reg) for reg in circuit.cregs)


def format_records(circuit: Circuit, records: np.ndarray) -> list[str]:
    """The keys of many classical records at once (one row of 0/1 per record), as :func:`format_record`.

    >>> c = Circuit(1); _ = c.add_creg("a", 2); _ = c.add_creg("b", 1)
    >>> format_records(c, np.array([[1, 0, 1], [0, 1, 1]]))
    ['10 1', '01 1']
    """
    columns, spaces = [], []
    for i, reg in enumerate(circuit.cregs):
        if i:
            spaces.append(len(columns))
        columns.extend(reg)
    digits = (np.asarray(records, dtype=np.uint8)[:, columns] + ord("0")).astype(np.uint8)
    chars = np.insert(digits, spaces, ord(" "), axis=1) if spaces else digits
    width = chars.shape[1]
    if width == 0:
        return [""] * len(chars)
    return np.ascontiguousarray(chars).view(f"S{width}").reshape(-1).astype(str).tolist()


def outcome_weights(state: PauliState, program, qubits: Sequence[int]) -> np.ndarray:
    """Unnormalised weights of measuring ``qubits`` (big-endian in that order) now.

    ``qubits`` may mix simulated qubits, qubits in a product state
    (``program.product``), which contribute their own one-qubit distribution
    ``((1 + z) / 2, (1 - z) / 2)``, and qubits nothing acts on (``|0>``).
    """
    qubits = list(qubits)
    simulated = [q for q in qubits if q in program.qubits]
    separate = [q for q in qubits if q not in program.qubits]
    joint = state.probabilities(simulated) if simulated else np.array([state.trace()])
    joint = np.clip(joint, 0, None).reshape((2,) * len(simulated))
    for q in separate:
        vector = program.product.get(q, _ZERO_1Q)
        z = vector[2] / vector[0]
        joint = np.multiply.outer(joint, np.clip([(1 + z) / 2, (1 - z) / 2], 0, None))
    order = simulated + separate
    return joint.transpose([order.index(q) for q in qubits]).reshape(-1)


def _apply_confusion(weights: np.ndarray, confusions: Sequence) -> np.ndarray:
    """Pass outcome weights (big-endian over the measured qubits) through each qubit's confusion matrix."""
    m = len(confusions)
    t = np.array(weights, dtype=float)
    for axis, conf in enumerate(confusions):
        if conf is not None:
            view = t.reshape(2**axis, 2, 2 ** (m - axis - 1))
            zero, one = view[:, 0, :].copy(), view[:, 1, :]
            (p00, p01), (p10, p11) = conf.matrix
            view[:, 0, :] = p00 * zero + p10 * one
            view[:, 1, :] = p01 * zero + p11 * one
    return t


def qiskit_key(key: str) -> str:
    """The same outcome in Qiskit's order: registers right to left, bit 0 rightmost in each.

    >>> qiskit_key("100 01")
    '10 001'
    """
    return " ".join(group[::-1] for group in reversed(key.split(" ")))


def shot_order(counts: Sequence[int], seed) -> np.ndarray:
    """Per shot, the index of its outcome: a random order of ``counts`` (outcome ``i`` seen ``counts[i]`` times).

    The same ``counts`` and ``seed`` give the same order.

    >>> shot_order([2, 0, 1], seed=5).tolist()
    [0, 2, 0]
    """
    order = np.repeat(np.arange(len(counts)), np.asarray(counts, dtype=np.int64))
    return np.random.default_rng(seed).permutation(order)


STATE_MAX_QUBITS = 13
"""The largest state :class:`Result` builds as one matrix (2**13 x 2**13 complex numbers: 1 GiB)."""


class FinalState:
    """The final state of a simulation, kept in the engine's form until a reader asks.

    The simulated qubits are one (unnormalised, summed over classical
    records) Pauli state; qubits in a product state keep their own one-qubit
    vector; the other qubits are in ``|0>``. :meth:`of` builds the reduced
    state of any qubits without building the whole one.
    """

    def __init__(self, num_qubits: int, branches: Sequence[PauliState], product: dict):
        self.num_qubits = num_qubits
        self._branches = list(branches)
        self._product = product
        self._total: PauliState | None = None

    def _summed(self) -> PauliState:
        if self._total is None:
            total = self._branches[0].copy()
            for other in self._branches[1:]:
                total.add_(other)
            self._total, self._branches = total, []
        return self._total

    def of(self, qubits: Sequence[int]) -> DensityMatrix:
        """The normalised reduced state of ``qubits`` (in that order)."""
        qubits = _check_qubits(qubits, self.num_qubits)
        if len(qubits) > STATE_MAX_QUBITS:
            raise SimulationError(
                f"The state of {len(qubits)} qubits would need {16 * 4 ** len(qubits) / 2**30:,.0f} GiB as a matrix, "
                f"more than the limit of {STATE_MAX_QUBITS} qubits (1 GiB); read a reduced state with "
                "result.state_of(qubits), for example result.state_of([0, 1])."
            )
        total = self._summed()
        reduced = total.reduced([q for q in total.axes if q in qubits])
        for q in qubits:
            if q not in reduced.axes:
                reduced.add_qubit(q, self._product.get(q, _ZERO_1Q))
        matrix = reduced.to_matrix(qubits)
        trace = np.trace(matrix).real
        if trace > 0:
            matrix /= trace
        return DensityMatrix(matrix, validate=False)


def _check_qubits(qubits, n: int) -> list[int]:
    """``qubits`` as a list of distinct ints in ``0..n-1`` (one int is a list of one)."""
    items = [qubits] if isinstance(qubits, (int, np.integer)) else list(qubits) if isinstance(qubits, Sequence | range) else None
    if items is None or any(isinstance(q, bool) or not isinstance(q, (int, np.integer)) for q in items):
        raise SimulationError(f"state_of: expected a qubit index or a sequence of them, got {qubits!r}.")
    out = [int(q) for q in items]
    if len(set(out)) != len(out) or any(not 0 <= q < n for q in out):
        raise SimulationError(f"state_of: expected distinct qubits in 0..{n - 1}, got {out}.")
    return out


def _merge_records(records: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal records merged (weights added), sorted by record (bit 0 most significant)."""
    n = records.shape[1]
    if n == 0:
        return records[:1], weights.sum(keepdims=True)
    if n <= 62:  # sort integer codes instead of rows: much faster for many outcomes
        codes = records.astype(np.int64) @ (np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64))
        unique, inverse = np.unique(codes, return_inverse=True)
        merged = ((unique[:, None] >> np.arange(n - 1, -1, -1, dtype=np.int64)) & 1).astype(np.uint8)
    else:
        merged, inverse = np.unique(records, axis=0, return_inverse=True)
    return merged, np.bincount(inverse.reshape(-1), weights=weights, minlength=len(merged))


class Result:
    """What a simulation returns.

    Attributes:
        circuit: the simulated circuit.
        qubits: the qubits of :attr:`state`: all of the circuit's, in order.
        simulated_qubits: the qubits the engine simulated together (the others were
            only measured at the end, in a product state, or untouched in ``|0>``).
        probabilities: exact probability of each classical outcome key (non-zero ones).
        shots: the number of sampled shots, or ``None``.
        seed: the seed the shots were sampled with.
        memory_seed: the seed :attr:`memory` orders the counts with (``None``: a fresh order).
        time_taken: seconds spent in :func:`qlab.simulate`.
    """

    def __init__(self, circuit, simulated_qubits, probabilities, final_state: FinalState, shots, seed, time_taken,
                 *, counts: dict[str, int] | None = None, memory_seed: int | None = None):
        self.circuit = circuit
        self.qubits = tuple(range(circuit.num_qubits))
        self.simulated_qubits = tuple(simulated_qubits)
        self.probabilities = probabilities
        self._final = final_state
        self._state: DensityMatrix | None = None
        self.shots = shots
        self.seed = seed
        self.time_taken = time_taken
        self._counts: dict[str, int] = {}
        self._memory: list[str] | None = None
        self.memory_seed = memory_seed
        if counts is not None:  # shots measured elsewhere (a device's job), not sampled here
            self._counts = {key: int(c) for key, c in counts.items() if c}
        elif shots is not None:
            self._sample(shots, seed)

    @classmethod
    def from_branches(cls, circuit, program, branches: dict[tuple[int, ...], PauliState], shots, seed, time_taken) -> Result:
        """Collect the exact outcome distribution of all branches and sample shots."""
        terminal_bits = [c for _, c in program.terminal]
        records, weights = [], []
        for record, state in branches.items():
            if program.terminal:
                terminal = [q for q, _ in program.terminal]
                branch = _apply_confusion(outcome_weights(state, program, terminal), program.readout)
            else:
                branch = np.array([max(state.trace(), 0.0)])
            index = np.flatnonzero(branch > 1e-15)
            full = np.tile(np.asarray(record, dtype=np.uint8), (len(index), 1))
            for j, bit in enumerate(terminal_bits):  # a later measurement into the same bit wins
                full[:, bit] = (index >> (len(terminal_bits) - 1 - j)) & 1
            records.append(full)
            weights.append(branch[index])
        records, weights = np.concatenate(records), np.concatenate(weights)
        records, weights = _merge_records(records, weights)
        probabilities = dict(zip(format_records(circuit, records), (weights / weights.sum()).tolist()))
        final = FinalState(circuit.num_qubits, list(branches.values()), program.product)
        return cls(circuit, program.qubits, probabilities, final, shots, seed, time_taken)

    def _sample(self, shots: int, seed) -> None:
        """Counts from one multinomial draw over the exact distribution."""
        rng = np.random.default_rng(seed)
        p = np.fromiter(self.probabilities.values(), dtype=float, count=len(self.probabilities))
        drawn = rng.multinomial(shots, p / p.sum())
        self._counts = {key: int(c) for key, c in zip(self.probabilities, drawn) if c}
        self.memory_seed = int(rng.integers(2**63))

    # ------------------------------------------------------------ views
    @property
    def state(self) -> DensityMatrix:
        """The final state of all the circuit's qubits (before terminal measurements; built on first use).

        Raises:
            SimulationError: the circuit has more than ``STATE_MAX_QUBITS`` qubits; read a
                reduced state with :meth:`state_of`.
        """
        if self._state is None:
            self._state = self._final.of(self.qubits)
        return self._state

    def state_of(self, qubits: Sequence[int] | int) -> DensityMatrix:
        """The reduced final state of ``qubits`` (in that order), without building the whole state.

        >>> from qlab import Circuit, simulate
        >>> simulate(Circuit(30).h(0).cx(0, 29)).state_of([29, 0]).probabilities().round(3).tolist()
        [0.5, 0.0, 0.0, 0.5]
        """
        return self._final.of(qubits)

    @property
    def counts(self) -> dict[str, int]:
        """How many shots gave each outcome key (requires ``shots``)."""
        if self.shots is None:
            raise SimulationError("This result has no shots: simulate with shots=N to get counts, or read .probabilities.")
        return dict(self._counts)

    def counts_qiskit(self) -> dict[str, int]:
        """:attr:`counts` with Qiskit's keys: registers right to left, bit 0 the rightmost character.

        >>> from qlab import Circuit, simulate
        >>> simulate(Circuit(2).x(1).measure_all(), shots=5).counts_qiskit()
        {'10': 5}
        """
        return {qiskit_key(key): count for key, count in self.counts.items()}

    @property
    def memory(self) -> list[str]:
        """The outcome key of every shot, in order (empty without shots).

        Built on first use: a random order of the sampled counts, reproducible with the seed.
        """
        if self.shots is None:
            return []
        if self._memory is None:
            keys = np.array(list(self._counts), dtype=object)
            self._memory = keys[shot_order(list(self._counts.values()), self.memory_seed)].tolist()
        return self._memory

    def register_counts(self, name: str | None = None) -> dict[str, dict[str, int]] | dict[str, int]:
        """Counts per classical register (``{register: {bits: count}}``), or of one register."""
        names = [r.name for r in self.circuit.cregs]
        if name is not None and name not in names:
            raise SimulationError(f"No classical register {name!r}; the circuit has {names}.")
        per: dict[str, dict[str, int]] = {n: {} for n in names}
        for key, count in self.counts.items():
            for reg, part in zip(names, key.split(" ")):
                per[reg][part] = per[reg].get(part, 0) + count
        per = {n: dict(sorted(c.items())) for n, c in per.items()}
        return per if name is None else per[name]

    def df(self):
        """One row per outcome (a pandas DataFrame): its exact probability and (with shots) its count."""
        import pandas as pd

        data = {"outcome": list(self.probabilities), "probability": list(self.probabilities.values())}
        if self.shots is not None:
            counts = self.counts
            data["counts"] = [counts.get(k, 0) for k in self.probabilities]
        return pd.DataFrame(data)

    def plot(self, ax=None, top: int | None = 16, log: bool = False):
        """Histogram of the ``top`` most likely outcomes; returns the axes.

        With shots the bars are counts with shot-noise error bars and the
        diamonds the exact expectation; without shots, the exact probabilities.
        Outcomes beyond ``top`` are summed in a note on the plot.
        """
        from .plotting import as_distribution, plot_distributions

        return plot_distributions([as_distribution(self)], ax=ax, top=top, log=log, counts=self.shots is not None)

    def __repr__(self) -> str:
        shots = "" if self.shots is None else f", shots={self.shots}"
        return f"Result(<{len(self.qubits)} qubit(s), {len(self.probabilities)} outcome(s){shots}>)"

    def _repr_html_(self, top: int = 32) -> str:
        from .plotting import more_outcomes_note, top_outcomes

        order, left_out, p_left_out = top_outcomes([self.probabilities], top)
        table = self.df().set_index("outcome").loc[order].reset_index()
        note = more_outcomes_note(left_out, p_left_out)
        foot = f"<p>{html.escape(note)}</p>" if note else ""
        return f"<p>{html.escape(repr(self))}</p>" + table.to_html(index=False) + foot
