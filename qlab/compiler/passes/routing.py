"""Qubit mapping and routing onto a coupling map, SABRE style, over many trials.

Each *trial* starts from a random placement of the program qubits, refines it
by routing forward, backward over the reversed circuit, and forward again
(each run starting where the last one ended), then routes the circuit from it
with :func:`qlab.compiler.passes.sabre.route`. Trials cycle through a
portfolio of SWAP-score weights (:data:`PORTFOLIO`): no single weighting wins
on every circuit. :class:`SabreRouting` runs its trials in parallel through
the runtime and keeps the best: the fewest SWAPs, or the fewest CX once SWAPs
merge into the two-qubit blocks next to them (estimated for every trial, then
counted after resynthesis for the two best of each subtask). The result acts on all the
target's qubits; ``data["initial_layout"]`` and ``data["final_layout"]`` say
where each program qubit starts and ends (``layout[program qubit] = physical
qubit``; the target's spare qubits are numbered after the program's).

>>> from qlab import Circuit
>>> from qlab.compiler import Target
>>> data = {"target": Target.line(3), "seed": 1}
>>> routed = SabreRouting().run(Circuit(3).cx(0, 2).cx(0, 1).cx(1, 2), data)
>>> routed.count_ops()
{'cx': 3, 'swap': 1}
"""

from __future__ import annotations

import math

import numpy as np

from ...circuit import Circuit
from ...circuit.instruction import Instruction
from ...exceptions import CompilerError
from .base import WORK_GATES, BasePass, parallel_map, rebuild
from .resynthesis import resynthesised_cx
from .rewrite import CancelCommutingCX, CancelInversePairs, Unroll
from .sabre import Heuristic, Routed, route, wires

__all__ = ["SabreRouting", "PORTFOLIO"]

PORTFOLIO = (
    Heuristic(merge_weight=0.25, extended_size=10),
    Heuristic(merge_weight=0.25),
    Heuristic(merge_weight=0.1),
    Heuristic(merge_weight=0.1, extended_size=10),
    Heuristic(merge_weight=0.25, extended_size=4, extended_weight=0.5 / 9, extended_constant=True),
    Heuristic(),
    Heuristic(merge_weight=0.4),
    Heuristic(extended_size=4, extended_weight=0.5 / 9, extended_constant=True),
)
"""The SWAP-score weights trials cycle through (trial ``k`` uses ``PORTFOLIO[k % 8]``)."""

_TRIALS_PER_TASK = 8
"""Trials one runtime subtask runs (it sends back only its best)."""

_RESYNTHESISED_PER_TASK = 2
"""Trials of a subtask, those with the fewest estimated CX, whose count after resynthesis decides (``score="cx"``)."""


def _is_two_qubit_gate(ins: Instruction) -> bool:
    return ins.is_gate and len(ins.qubits) == 2


def _reversed(instructions: list[Instruction]) -> list[Instruction]:
    """The gates in reverse order (for placement only: their meaning does not matter)."""
    return [ins for ins in reversed(instructions) if ins.is_gate]


def _trial(instructions: list[Instruction], distances: np.ndarray, seed: int, iterations: int,
           heuristic: Heuristic) -> tuple[list[int], Routed]:
    """One trial: a random placement refined forward and backward, and the circuit routed from it."""
    layout = [int(p) for p in np.random.default_rng(seed).permutation(len(distances))]
    gates = [ins for ins in instructions if ins.is_gate]
    for k in range(iterations):
        layout = route(gates, distances, layout, seed + 2 * k + 1, heuristic).layout
        layout = route(_reversed(gates), distances, layout, seed + 2 * k + 2, heuristic).layout
    return layout, route(instructions, distances, layout, seed, heuristic)


def _score(routed: Routed, score: str) -> tuple[int, int]:
    return (routed.swaps, routed.cx) if score == "swaps" else (routed.cx, routed.swaps)


def _best_trial(instructions: list[Instruction], distances: np.ndarray, seeds: list[int], iterations: int,
                heuristics: list[Heuristic], score: str, template: Circuit) -> tuple[tuple[int, ...], list[int], Routed]:
    """The best of several trials (one runtime subtask): its score, starting placement and routing.

    With ``score="cx"`` the trials with the fewest estimated CX are resynthesised, and the count after
    resynthesis decides (blocks often shrink more than the estimate knows, e.g. controlled phases).
    """
    trials = sorted(((_score(routed, score), layout, routed)
                     for layout, routed in (_trial(instructions, distances, seed, iterations, heuristic)
                                            for seed, heuristic in zip(seeds, heuristics))), key=lambda t: t[0])
    if score == "swaps":
        return trials[0]
    finalists = [((_cx_after_resynthesis(routed, template), *estimate), layout, routed)
                 for estimate, layout, routed in trials[:_RESYNTHESISED_PER_TASK]]
    return min(finalists, key=lambda t: t[0])


def _cx_after_resynthesis(routed: Routed, template: Circuit) -> int:
    """CX of a routed trial after resynthesis; ``template`` holds the target's qubits and the program's classical bits."""
    circuit = rebuild(template, routed.instructions)
    for step in (Unroll(WORK_GATES), CancelInversePairs(), CancelCommutingCX()):
        circuit = step.run(circuit, {})
    return resynthesised_cx(circuit)


class SabreRouting(BasePass):
    """Place program qubits on the target and insert SWAPs so every two-qubit gate acts on coupled qubits.

    Args:
        trials: independent placements tried (in parallel through the runtime).
        iterations: forward-backward refinements of each placement.
        seed: seed of the first trial (default ``data["seed"]`` or 0).
        score: what picks the winning trial: ``"swaps"`` (fewest SWAPs; trials use the portfolio's
            weightings that ignore merging) or ``"cx"`` (fewest CX after resynthesis, where each SWAP
            merges into the two-qubit block that ran just before it on its pair; estimated for every
            trial, counted for the most promising; trials use the whole :data:`PORTFOLIO`).

    Sets ``data["initial_layout"]``, ``data["final_layout"]``, ``data["swaps"]`` (SWAPs inserted) and
    ``data["routed_cx"]`` (the winner's CX count with SWAPs merged into their neighbouring blocks; see
    :attr:`~qlab.compiler.passes.sabre.Routed.cx`).

    Raises:
        CompilerError: the program has more qubits than the target, gates on more than two qubits
            (unroll first), or ``trials`` is not a positive int.
    """

    def __init__(self, trials: int = 1, iterations: int = 2, seed: int | None = None, score: str = "swaps"):
        if score not in ("swaps", "cx"):
            raise CompilerError(f"SabreRouting: unknown score {score!r}; allowed: 'swaps', 'cx'.")
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise CompilerError(f"SabreRouting: trials must be a positive int, got {trials!r}.")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise CompilerError(f"SabreRouting: iterations must be an int >= 0, got {iterations!r}.")
        self.trials = trials
        self.iterations = iterations
        self.seed = seed
        self.score = score

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        target = data["target"]
        n = target.num_qubits
        if circuit.num_qubits > n:
            raise CompilerError(
                f"Cannot route a {circuit.num_qubits}-qubit program onto target {target.name!r} with {n} qubits."
            )
        wide = [ins for ins in circuit if ins.is_gate and len(ins.qubits) > 2]
        if wide:
            raise CompilerError(
                f"Cannot route {wide[0].name!r} on qubits {wide[0].qubits}: routing needs one- and two-qubit gates; "
                "unroll the circuit first (Unroll pass)."
            )
        instructions, measures = _split_terminal_measurements(list(circuit))
        if target.coupling_map is None or all(target.is_coupled(*ins.qubits) for ins in instructions if _is_two_qubit_gate(ins)):
            data["initial_layout"] = data["final_layout"] = list(range(n))
            return rebuild(circuit, instructions + measures, n)
        seed = self.seed if self.seed is not None else int(data.get("seed") or 0)
        portfolio = PORTFOLIO if self.score == "cx" else [h for h in PORTFOLIO if not h.merge_weight]
        seeds = [seed + 1000 * t for t in range(self.trials)]
        heuristics = [portfolio[t % len(portfolio)] for t in range(self.trials)]
        tasks = math.ceil(self.trials / _TRIALS_PER_TASK)
        results = parallel_map(
            _best_trial, [instructions] * tasks, [target.distances] * tasks, [seeds[k::tasks] for k in range(tasks)],
            [self.iterations] * tasks, [heuristics[k::tasks] for k in range(tasks)], [self.score] * tasks,
            [rebuild(circuit, [], n)] * tasks,
        )
        _, initial, routed = min(results, key=lambda r: r[0])
        final = routed.layout
        data["initial_layout"], data["final_layout"] = initial, final
        data["swaps"], data["routed_cx"] = routed.swaps, routed.cx
        measured = [Instruction("measure", (final[m.qubits[0]],), clbits=m.clbits) for m in measures]
        return rebuild(circuit, routed.instructions + measured, n)


def _split_terminal_measurements(instructions: list[Instruction]) -> tuple[list[Instruction], list[Instruction]]:
    """The instructions without their terminal measurements, and those measurements (they go last)."""
    used: set = set()
    terminal = set()
    for i in range(len(instructions) - 1, -1, -1):
        ins = instructions[i]
        touched = wires(ins)
        if ins.name == "measure" and ins.condition is None and not used.intersection(touched):
            terminal.add(i)
        if ins.name != "barrier":
            used.update(touched)
    return ([ins for i, ins in enumerate(instructions) if i not in terminal],
            [ins for i, ins in enumerate(instructions) if i in terminal])
