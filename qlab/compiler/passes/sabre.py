"""One SABRE routing run: a circuit on program qubits, a starting placement, a coupling graph's distances.

SABRE (Li, Ding & Xie, ASPLOS 2019) keeps a *front layer* of two-qubit gates
whose predecessors have run but whose qubits are not coupled. When no gate
can run, it inserts the SWAP on a coupled pair touching the front that most
lowers a cost: the summed distance of the front's gates, plus a weighted mean
distance of the next two-qubit gates (the *extended set*), times a *decay*
that discourages moving the same qubits again and again. When many SWAPs in a
row route nothing, they are undone and the closest front gate is walked
together along a shortest path instead (the *release valve*).

Two additions aim at CNOTs rather than SWAPs. A SWAP on a pair whose last
gates formed a two-qubit block (e.g. a CX, with one-qubit gates around it)
merges into that block when it is resynthesised: CX followed by SWAP needs 2
CX, a generic 3-CX block followed by SWAP still 3, so such a SWAP costs 1 or
0 CX instead of 3. :class:`Heuristic` ``merge_weight`` adds the SWAP's CX cost
(3, 1 or 0) to its score, so cheap SWAPs win near-ties; and every run counts
the CX it adds this way (:attr:`Routed.cx`), so trials can be compared
without resynthesising each one.

>>> from qlab import Circuit
>>> import numpy as np
>>> line = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
>>> routed = route(list(Circuit(3).cx(0, 2).cx(0, 1)), line, [0, 1, 2], seed=0)
>>> routed.swaps, [ins.name for ins in routed.instructions]
(1, ['swap', 'cx', 'cx'])
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ...circuit.instruction import Instruction

__all__ = ["Heuristic", "Routed", "route", "dag", "wires"]


@dataclass(frozen=True)
class Heuristic:
    """The weights of the SWAP score.

    Attributes:
        extended_size: two-qubit gates in the extended set (look-ahead).
        extended_weight: weight of the extended set's mean distance (of each of its gates' distances
            when ``extended_constant``) against the front's summed distance.
        decay: added to a qubit's decay factor each time it is swapped (reset after ``decay_reset`` SWAPs
            and whenever a gate is routed).
        decay_reset: SWAPs after which all decay factors return to 1.
        merge_weight: weight of a SWAP's CX cost (3 alone, 1 or 0 when it merges into the two-qubit block
            that just ran on its pair).
        attempts_per_qubit: SWAPs without routing a gate, per qubit, before the release valve.
        extended_constant: weight every extended gate by ``extended_weight`` instead of the set's mean.
    """

    extended_size: int = 20
    extended_weight: float = 0.5
    decay: float = 0.001
    decay_reset: int = 5
    merge_weight: float = 0.0
    attempts_per_qubit: int = 10
    extended_constant: bool = False


@dataclass(frozen=True)
class Routed:
    """The result of :func:`route`.

    Attributes:
        instructions: the routed instructions, on physical qubits.
        layout: the final placement (``layout[program qubit] = physical qubit``).
        swaps: SWAPs inserted.
        cx: CX the routed circuit needs once SWAPs merge into neighbouring blocks on their pair
            (an estimate of the count after resynthesis, exact for CX-only blocks of up to 3).
    """

    instructions: list[Instruction]
    layout: list[int]
    swaps: int
    cx: int


def wires(ins: Instruction) -> list:
    """The qubits and classical bits (``("c", bit)``) an instruction touches."""
    wires: list = list(ins.qubits)
    wires += [("c", b) for b in ins.clbits]
    if ins.condition is not None:
        wires += [("c", b) for b in ins.condition.bits]
    return wires


def dag(instructions: list[Instruction]) -> tuple[list[list[int]], list[int]]:
    """Successors and predecessor counts over qubit and classical-bit wires."""
    successors: list[list[int]] = [[] for _ in instructions]
    preds = [0] * len(instructions)
    last: dict = {}
    for i, ins in enumerate(instructions):
        before = {last[w] for w in wires(ins) if w in last}
        for j in before:
            successors[j].append(i)
        preds[i] = len(before)
        for w in wires(ins):
            last[w] = i
    return successors, preds


class _Blocks:
    """The open two-qubit block on each physical qubit: its partner and its CX cost (1 to 3)."""

    _AFTER_SWAP = {1: 2, 2: 3, 3: 3}

    def __init__(self, n: int):
        self.partner = [-1] * n
        self.cost = [0] * n

    def swap_cost(self, p: int, q: int) -> int:
        """CX a SWAP on ``(p, q)`` adds."""
        if self.partner[p] == q and self.partner[q] == p:
            return self._AFTER_SWAP[self.cost[p]] - self.cost[p]
        return 3

    def add(self, p: int, q: int, swap: bool) -> int:
        """Record a CX (``swap=False``) or SWAP on ``(p, q)``; returns the CX it adds."""
        if self.partner[p] == q and self.partner[q] == p:
            before = self.cost[p]
            after = self._AFTER_SWAP[before] if swap else min(3, before + 1)
        else:
            self.close(p)
            self.close(q)
            self.partner[p], self.partner[q] = q, p
            before, after = 0, 3 if swap else 1
        self.cost[p] = self.cost[q] = after
        return after - before

    def close(self, p: int) -> None:
        other = self.partner[p]
        if other >= 0 and self.partner[other] == p:
            self.partner[other], self.cost[other] = -1, 0
        self.partner[p], self.cost[p] = -1, 0

    def copy(self) -> _Blocks:
        out = _Blocks(0)
        out.partner, out.cost = list(self.partner), list(self.cost)
        return out


def route(
    instructions: list[Instruction], distances: np.ndarray, layout: list[int], seed: int,
    heuristic: Heuristic = Heuristic(),
) -> Routed:
    """Route ``instructions`` (on program qubits, at most two per gate) starting from ``layout``.

    Args:
        instructions: the program.
        distances: shortest-path distances between physical qubits.
        layout: the starting placement, ``layout[program qubit] = physical qubit`` (a permutation of all
            physical qubits).
        seed: breaks ties between equally good SWAPs.
        heuristic: the weights of the SWAP score.
    """
    rng = np.random.default_rng(seed)
    dist: list[list[float]] = np.asarray(distances, dtype=float).tolist()
    n = len(layout)
    l2p = list(layout)
    p2l = [0] * n
    for logical, physical in enumerate(l2p):
        p2l[physical] = logical
    neighbours = [[q for q in range(n) if dist[p][q] == 1] for p in range(n)]
    successors, preds = dag(instructions)
    remaining = list(preds)
    two = [ins.is_gate and len(ins.qubits) == 2 for ins in instructions]
    front: dict[int, int] = {}          # program qubit -> the front gate on it
    blocks = _Blocks(n)
    out: list[Instruction] = []
    totals = {"swaps": 0, "cx": 0}
    decay = [1.0] * n
    limit = heuristic.attempts_per_qubit * n

    def coupled(i: int) -> bool:
        a, b = instructions[i].qubits
        return dist[l2p[a]][l2p[b]] == 1

    def run(ready: list[int]) -> None:
        queue = deque(ready)
        while queue:
            i = queue.popleft()
            ins = instructions[i]
            if two[i] and not coupled(i):
                front[ins.qubits[0]] = front[ins.qubits[1]] = i
                continue
            physical = tuple(l2p[q] for q in ins.qubits)
            out.append(Instruction(ins.name, physical, ins.params, ins.clbits, ins.condition, ins.matrix,
                                   ins.label, ins.unit))
            if two[i] and ins.condition is None:
                totals["cx"] += blocks.add(*physical, swap=False)
            elif not (ins.is_gate and ins.condition is None):
                for p in physical:
                    blocks.close(p)
            for j in successors[i]:
                remaining[j] -= 1
                if remaining[j] == 0:
                    queue.append(j)

    def apply(p: int, q: int) -> None:
        a, b = p2l[p], p2l[q]
        p2l[p], p2l[q] = b, a
        l2p[a], l2p[b] = q, p

    def routable_after(p: int, q: int) -> list[int]:
        found = []
        for physical in (p, q):
            i = front.get(p2l[physical])
            if i is not None and i not in found and coupled(i):
                found.append(i)
        return found

    def force() -> tuple[list[tuple[int, int]], list[int]]:
        """SWAPs that bring the closest front gate's qubits together along a shortest path."""
        i = min(sorted(set(front.values())), key=lambda i: dist[l2p[instructions[i].qubits[0]]][l2p[instructions[i].qubits[1]]])
        a, b = instructions[i].qubits
        path: list[tuple[int, int]] = []
        move_a = True
        while not coupled(i):
            here, there = (l2p[a], l2p[b]) if move_a else (l2p[b], l2p[a])
            step = min(neighbours[here], key=lambda p: dist[p][there])
            path.append((here, step))
            apply(here, step)
            move_a = not move_a
        found = [i]
        for p, q in path[-1:]:
            found += [j for j in routable_after(p, q) if j != i]
        return path, found

    def best_swap(pull: dict[int, list[tuple[int, float]]]) -> tuple[int, int]:
        """The SWAP (a coupled pair of physical qubits touching the front) with the lowest score.

        ``pull[q]`` lists ``(other, weight)``: program qubit ``q`` should get close to ``other``.
        """
        absolute = sum(w * dist[l2p[a]][l2p[o]] for a, others in pull.items() for o, w in others) / 2
        merge_weight = heuristic.merge_weight
        best: list[tuple[int, int]] = []
        best_score = math.inf
        seen = set()
        for logical in front:
            p = l2p[logical]
            for q in neighbours[p]:
                pair = (p, q) if p < q else (q, p)
                if pair in seen:
                    continue
                seen.add(pair)
                a, b = p2l[p], p2l[q]
                score = absolute
                for o, w in pull.get(a, ()):
                    if o != b:
                        score += w * (dist[q][l2p[o]] - dist[p][l2p[o]])
                for o, w in pull.get(b, ()):
                    if o != a:
                        score += w * (dist[p][l2p[o]] - dist[q][l2p[o]])
                if merge_weight:
                    score += merge_weight * blocks.swap_cost(p, q)
                score *= max(decay[p], decay[q])
                if score < best_score - 1e-10:
                    best, best_score = [pair], score
                elif score <= best_score + 1e-10:
                    best.append(pair)
        best.sort()
        return best[int(rng.integers(len(best)))]

    run([i for i, count in enumerate(preds) if count == 0])
    while front:
        front_gates = sorted(set(front.values()))
        extended = _extended(front_gates, successors, remaining, two, instructions, heuristic.extended_size)
        ext_weight = heuristic.extended_weight / (1 if heuristic.extended_constant or not extended else len(extended))
        pull: dict[int, list[tuple[int, float]]] = {}
        for pairs, weight in (([instructions[i].qubits for i in front_gates], 1.0), (extended, ext_weight)):
            for a, b in pairs:
                pull.setdefault(a, []).append((b, weight))
                pull.setdefault(b, []).append((a, weight))
        saved = blocks.copy()
        attempt: list[tuple[int, int]] = []
        routed: list[int] = []
        added = 0
        while not routed and len(attempt) < limit:
            p, q = best_swap(pull)
            added += blocks.add(p, q, swap=True)
            apply(p, q)
            attempt.append((p, q))
            routed = routable_after(p, q)
            if len(attempt) % heuristic.decay_reset == 0:
                decay = [1.0] * n
            else:
                decay[p] += heuristic.decay
                decay[q] += heuristic.decay
        if not routed:   # release valve: undo, then walk the closest gate's qubits together
            for p, q in reversed(attempt):
                apply(p, q)
            blocks = saved
            attempt, routed = force()
            added = sum(blocks.add(p, q, swap=True) for p, q in attempt)
        out.extend(Instruction("swap", pair) for pair in attempt)
        totals["swaps"] += len(attempt)
        totals["cx"] += added
        for i in routed:
            for q in instructions[i].qubits:
                front.pop(q, None)
        decay = [1.0] * n
        run(routed)
    return Routed(out, l2p, totals["swaps"], totals["cx"])


def _extended(front: list[int], successors, remaining, two, instructions, size: int) -> list[tuple[int, int]]:
    """The next two-qubit gates after the front layer (at most ``size``), as program-qubit pairs."""
    out: list[tuple[int, int]] = []
    seen = set(front)
    todo = deque(front)
    counts: dict[int, int] = {}
    while todo and len(out) < size:
        i = todo.popleft()
        for j in successors[i]:
            counts[j] = counts.get(j, 0) + 1
            if j not in seen and counts[j] >= remaining[j]:
                seen.add(j)
                todo.append(j)
                if two[j]:
                    out.append(instructions[j].qubits)
    return out
