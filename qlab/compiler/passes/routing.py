"""Qubit mapping and routing onto a coupling map, SABRE style.

SABRE (Li, Ding & Xie, ASPLOS 2019) keeps a *front layer* of gates whose
predecessors have run. Gates in it whose qubits sit on coupled sites run; when
none can, it inserts the SWAP on a coupled pair next to the front that most
lowers a cost: the mean distance of the front's two-qubit gates plus half the
mean distance of the next ones (the *extended set*), times a decay that
discourages moving the same qubits again and again. The initial placement
comes from routing forward, backward over the reversed circuit, and forward
again, each time starting where the last run ended.

:class:`SabreRouting` runs several independent trials (random starting
placements), in parallel through the runtime when there are several, and keeps
the one with the fewest SWAPs. The result acts on all the target's qubits;
``data["initial_layout"]`` and ``data["final_layout"]`` say where each program
qubit starts and ends (``layout[program qubit] = physical qubit``; the
target's spare qubits are numbered after the program's).

>>> from qlab import Circuit
>>> from qlab.compiler import Target
>>> data = {"target": Target.line(3), "seed": 1}
>>> routed = SabreRouting().run(Circuit(3).cx(0, 2).cx(0, 1).cx(1, 2), data)
>>> routed.count_ops()
{'cx': 3, 'swap': 1}
"""

from __future__ import annotations

import numpy as np

from ...circuit import Circuit
from ...circuit.instruction import Instruction
from ...exceptions import CompilerError
from .base import WORK_GATES, BasePass, cx_count, parallel_map, rebuild
from .resynthesis import TwoQubitResynthesis
from .rewrite import CancelInversePairs, Unroll

__all__ = ["SabreRouting", "sabre"]

_EXTENDED_SIZE = 20
_EXTENDED_WEIGHT = 0.5
_DECAY = 0.001
_DECAY_RESET = 5


def _wires(ins: Instruction) -> list:
    wires: list = list(ins.qubits)
    wires += [("c", b) for b in ins.clbits]
    if ins.condition is not None:
        wires += [("c", b) for b in ins.condition.bits]
    return wires


def _dag(instructions: list[Instruction]) -> tuple[list[list[int]], list[int]]:
    """Successors and predecessor counts over qubit and classical-bit wires."""
    successors: list[list[int]] = [[] for _ in instructions]
    preds = [0] * len(instructions)
    last: dict = {}
    for i, ins in enumerate(instructions):
        before = {last[w] for w in _wires(ins) if w in last}
        for j in before:
            successors[j].append(i)
        preds[i] = len(before)
        for w in _wires(ins):
            last[w] = i
    return successors, preds


def _is_two_qubit_gate(ins: Instruction) -> bool:
    return ins.is_gate and len(ins.qubits) == 2


def sabre(
    instructions: list[Instruction], distances: np.ndarray, layout: list[int], seed: int
) -> tuple[list[Instruction], list[int], int]:
    """Route ``instructions`` (on program qubits) starting from ``layout``.

    Returns:
        ``(physical instructions, final layout, number of SWAPs)``.
    """
    rng = np.random.default_rng(seed)
    n = len(layout)
    l2p = list(layout)
    p2l = [0] * n
    for logical, physical in enumerate(l2p):
        p2l[physical] = logical
    neighbours = [np.flatnonzero(distances[p] == 1) for p in range(n)]
    successors, preds = _dag(instructions)
    remaining = list(preds)
    front = [i for i, count in enumerate(preds) if count == 0]
    decay = np.ones(n)
    out: list[Instruction] = []
    swaps = stuck = 0

    def place(ins: Instruction) -> Instruction:
        return Instruction(ins.name, tuple(l2p[q] for q in ins.qubits), ins.params, ins.clbits, ins.condition,
                           ins.matrix, ins.label, ins.unit)

    def swap(p: int, q: int) -> None:
        nonlocal swaps
        out.append(Instruction("swap", (p, q)))
        a, b = p2l[p], p2l[q]
        p2l[p], p2l[q] = b, a
        l2p[a], l2p[b] = q, p
        swaps += 1

    while front:
        ready = [i for i in front if not _is_two_qubit_gate(instructions[i])
                 or distances[l2p[instructions[i].qubits[0]], l2p[instructions[i].qubits[1]]] == 1]
        if ready:
            ready_set = set(ready)
            front = [i for i in front if i not in ready_set]
            for i in ready:
                out.append(place(instructions[i]))
                for j in successors[i]:
                    remaining[j] -= 1
                    if remaining[j] == 0:
                        front.append(j)
            decay[:] = 1
            stuck = 0
            continue
        gates = [instructions[i].qubits for i in front]
        if stuck > 2 * n + 10:  # no progress: walk the first gate's qubits together along a shortest path
            a, b = l2p[gates[0][0]], l2p[gates[0][1]]
            step = min(neighbours[a], key=lambda p: distances[p, b])
            swap(a, int(step))
            continue
        extended = _extended(front, successors, remaining, instructions)
        best, best_cost = [], np.inf
        candidates = {tuple(sorted((l2p[q], int(p)))) for qs in gates for q in qs for p in neighbours[l2p[q]]}
        for p, q in sorted(candidates):
            trial = list(l2p)
            a, b = p2l[p], p2l[q]
            trial[a], trial[b] = q, p
            cost = _cost(gates, extended, trial, distances) * max(decay[p], decay[q])
            if cost < best_cost - 1e-12:
                best, best_cost = [(p, q)], cost
            elif abs(cost - best_cost) <= 1e-12:
                best.append((p, q))
        p, q = best[rng.integers(len(best))]
        swap(p, q)
        decay[p] += _DECAY
        decay[q] += _DECAY
        stuck += 1
        if swaps % _DECAY_RESET == 0:
            decay[:] = 1
    return out, l2p, swaps


def _extended(front: list[int], successors, remaining, instructions) -> list[tuple[int, ...]]:
    """The next two-qubit gates after the front layer (at most ``_EXTENDED_SIZE``)."""
    out: list[tuple[int, ...]] = []
    seen = set(front)
    todo = list(front)
    counts: dict[int, int] = {}
    while todo and len(out) < _EXTENDED_SIZE:
        i = todo.pop(0)
        for j in successors[i]:
            counts[j] = counts.get(j, 0) + 1
            if j not in seen and counts[j] >= remaining[j]:
                seen.add(j)
                todo.append(j)
                if _is_two_qubit_gate(instructions[j]):
                    out.append(instructions[j].qubits)
    return out


def _cost(front, extended, layout, distances) -> float:
    cost = sum(distances[layout[a], layout[b]] for a, b in front) / len(front)
    if extended:
        cost += _EXTENDED_WEIGHT * sum(distances[layout[a], layout[b]] for a, b in extended) / len(extended)
    return cost


def _reversed(instructions: list[Instruction]) -> list[Instruction]:
    """The gates in reverse order (for placement only: their meaning does not matter)."""
    return [ins for ins in reversed(instructions) if ins.is_gate]


def _trial(instructions: list[Instruction], distances: np.ndarray, n: int, seed: int, iterations: int, score: str):
    """One SABRE trial: a random placement refined forward and backward, then the routed circuit and its score."""
    rng = np.random.default_rng(seed)
    layout = [int(p) for p in rng.permutation(n)]
    gates = [ins for ins in instructions if ins.is_gate]
    for k in range(iterations):
        _, layout, _ = sabre(gates, distances, layout, seed + 2 * k + 1)
        _, layout, _ = sabre(_reversed(gates), distances, layout, seed + 2 * k + 2)
    routed, final, swaps = sabre(instructions, distances, layout, seed)
    if score == "cx":
        basis = rebuild(Circuit(n), routed)
        for p in (Unroll(WORK_GATES), CancelInversePairs(), TwoQubitResynthesis()):
            basis = p.run(basis, {})
        return cx_count(basis), layout, final, routed
    return swaps, layout, final, routed


class SabreRouting(BasePass):
    """Place program qubits on the target and insert SWAPs so every two-qubit gate acts on coupled qubits.

    Args:
        trials: independent placements tried (in parallel through the runtime); the fewest SWAPs win.
        iterations: forward-backward refinements of each placement.
        seed: seed of the first trial (default ``data["seed"]`` or 0).
        score: what picks the winning trial: ``"swaps"`` (fewest SWAPs) or ``"cx"``
            (fewest CX once SWAPs are unrolled and two-qubit blocks resynthesised).

    Raises:
        CompilerError: the program has more qubits than the target, or gates on more than two qubits
            (unroll first).
    """

    def __init__(self, trials: int = 1, iterations: int = 2, seed: int | None = None, score: str = "swaps"):
        if score not in ("swaps", "cx"):
            raise CompilerError(f"SabreRouting: unknown score {score!r}; allowed: 'swaps', 'cx'.")
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
        seeds = [seed + 1000 * t for t in range(self.trials)]
        results = parallel_map(_trial, [instructions] * self.trials, [target.distances] * self.trials,
                               [n] * self.trials, seeds, [self.iterations] * self.trials, [self.score] * self.trials)
        _, initial, final, routed = min(results, key=lambda r: r[0])
        swaps = sum(ins.name == "swap" for ins in routed)
        data["initial_layout"], data["final_layout"] = initial, final
        data["swaps"] = swaps
        measured = [Instruction("measure", (final[m.qubits[0]],), clbits=m.clbits) for m in measures]
        return rebuild(circuit, routed + measured, n)


def _split_terminal_measurements(instructions: list[Instruction]) -> tuple[list[Instruction], list[Instruction]]:
    """The instructions without their terminal measurements, and those measurements (they go last)."""
    used: set = set()
    terminal = set()
    for i in range(len(instructions) - 1, -1, -1):
        ins = instructions[i]
        wires = _wires(ins)
        if ins.name == "measure" and ins.condition is None and not used.intersection(wires):
            terminal.add(i)
        if ins.name != "barrier":
            used.update(wires)
    return ([ins for i, ins in enumerate(instructions) if i not in terminal],
            [ins for i, ins in enumerate(instructions) if i in terminal])
