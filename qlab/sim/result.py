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
import pandas as pd

from ..circuit import Circuit
from ..exceptions import SimulationError
from .density_matrix import DensityMatrix
from .state import PauliState

__all__ = ["Result", "format_record", "outcome_weights"]


def format_record(circuit: Circuit, record: Sequence[int]) -> str:
    """The key of a classical record (one int per classical bit) for ``circuit``.

    >>> c = Circuit(1); _ = c.add_creg("a", 2); _ = c.add_creg("b", 1)
    >>> format_record(c, (1, 0, 1))
    '10 1'
    """
    return " ".join("".join(str(record[b]) for b in reg) for reg in circuit.cregs)


def outcome_weights(state: PauliState, program, qubits: Sequence[int]) -> np.ndarray:
    """Unnormalised weights of measuring ``qubits`` (big-endian in that order) now.

    ``qubits`` may mix simulated qubits and qubits in a product state
    (``program.product``); the latter contribute their own one-qubit
    distribution ``((1 + z) / 2, (1 - z) / 2)``.
    """
    qubits = list(qubits)
    simulated = [q for q in qubits if q not in program.product]
    separate = [q for q in qubits if q in program.product]
    joint = state.probabilities(simulated) if simulated else np.array([state.trace()])
    joint = np.clip(joint, 0, None).reshape((2,) * len(simulated))
    for q in separate:
        z = program.product[q][2] / program.product[q][0]
        joint = np.multiply.outer(joint, np.clip([(1 + z) / 2, (1 - z) / 2], 0, None))
    order = simulated + separate
    return joint.transpose([order.index(q) for q in qubits]).reshape(-1)


def _apply_confusion(weights: np.ndarray, confusions: Sequence) -> np.ndarray:
    m = len(confusions)
    t = weights.reshape((2,) * m)
    for axis, conf in enumerate(confusions):
        if conf is not None:
            t = np.moveaxis(np.tensordot(t, conf.matrix, axes=([axis], [0])), -1, axis)
    return t.reshape(-1)


class Result:
    """What a simulation returns.

    Attributes:
        circuit: the simulated circuit.
        qubits: the circuit qubits that were simulated, in the state's order.
        probabilities: exact probability of each classical outcome key (non-zero ones).
        shots: the number of sampled shots, or ``None``.
        memory: the outcome key of every shot, in order (empty without shots).
        seed: the seed the shots were sampled with.
        time_taken: seconds spent in :func:`qlab.simulate`.
    """

    def __init__(self, circuit, qubits, probabilities, state_fn, shots, memory, seed, time_taken):
        self.circuit = circuit
        self.qubits = tuple(qubits)
        self.probabilities = probabilities
        self._state_fn = state_fn
        self._state: DensityMatrix | None = None
        self.shots = shots
        self.memory = memory
        self.seed = seed
        self.time_taken = time_taken

    @classmethod
    def from_branches(cls, circuit, program, branches: dict[tuple[int, ...], PauliState], shots, seed, time_taken) -> Result:
        """Collect the exact outcome distribution of all branches and sample shots."""
        terminal_bits = [c for _, c in program.terminal]
        outcomes: dict[tuple[int, ...], float] = {}
        for record, state in branches.items():
            if program.terminal:
                terminal = [q for q, _ in program.terminal]
                weights = _apply_confusion(outcome_weights(state, program, terminal), program.readout)
            else:
                weights = np.array([max(state.trace(), 0.0)])
            for index in np.flatnonzero(weights > 1e-15):
                full = list(record)
                for j, bit in enumerate(terminal_bits):
                    full[bit] = (int(index) >> (len(terminal_bits) - 1 - j)) & 1
                key = tuple(full)
                outcomes[key] = outcomes.get(key, 0.0) + float(weights[index])
        total = sum(outcomes.values())
        probabilities = {format_record(circuit, k): v / total for k, v in sorted(outcomes.items())}
        memory: list[str] = []
        if shots is not None:
            rng = np.random.default_rng(seed)
            keys = np.array(list(probabilities), dtype=object)
            p = np.fromiter(probabilities.values(), dtype=float, count=len(probabilities))
            memory = keys[rng.choice(len(keys), size=shots, p=p / p.sum())].tolist()

        def state_fn() -> DensityMatrix:
            states = list(branches.values())
            total_state = states[0]
            for other in states[1:]:
                total_state.add_(other)
            matrix = total_state.to_matrix(program.qubits)
            trace = np.trace(matrix).real
            if trace > 0:
                matrix /= trace
            return DensityMatrix(matrix, validate=False)

        return cls(circuit, program.qubits, probabilities, state_fn, shots, memory, seed, time_taken)

    # ------------------------------------------------------------ views
    @property
    def state(self) -> DensityMatrix:
        """The final state on :attr:`qubits` (before terminal measurements; computed on first use)."""
        if self._state is None:
            self._state = self._state_fn()
            self._state_fn = None
        return self._state

    @property
    def counts(self) -> dict[str, int]:
        """How many shots gave each outcome key (requires ``shots``)."""
        if self.shots is None:
            raise SimulationError("This result has no shots: simulate with shots=N to get counts, or read .probabilities.")
        keys, freq = np.unique(np.array(self.memory, dtype=object), return_counts=True)
        return {str(k): int(f) for k, f in zip(keys, freq)}

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

    def df(self) -> pd.DataFrame:
        """One row per outcome: its exact probability and (with shots) its count."""
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
