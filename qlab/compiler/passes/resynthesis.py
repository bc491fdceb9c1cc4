"""Two-qubit block partitioning and exact KAK resynthesis, in parallel through the runtime.

The circuit is cut into maximal *blocks*: runs of gates that act only on one
pair of qubits (one-qubit gates on either qubit join the block they sit in).
Each block's 4x4 unitary is written again with the fewest CX its KAK
coefficients allow (:func:`qlab.compiler.kak.two_qubit_gates`); the new
circuit replaces the block when it has fewer CX. The syntheses run as one
``map`` over the blocks.

>>> from qlab import Circuit
>>> three = Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1).cx(0, 1)   # a swap and a cx: 2 CX suffice
>>> TwoQubitResynthesis().run(three, {}).count_ops()["cx"]
2
"""

from __future__ import annotations

import numpy as np

from ...circuit import Circuit
from ...circuit.gates import gate_matrix
from ...circuit.instruction import Instruction
from ..kak import cnot_count, two_qubit_gates
from .base import BasePass, parallel_map, rebuild

__all__ = ["TwoQubitResynthesis", "two_qubit_blocks", "resynthesised_cx"]

_SWAP = np.eye(4)[[0, 2, 1, 3]]


def _cx_cost(ins: Instruction) -> int:
    return 3 if ins.name == "swap" else 1 if ins.name in ("cx", "cz", "cy") else 3


def two_qubit_blocks(circuit: Circuit) -> list[Instruction | tuple[tuple[int, int], list[Instruction]]]:
    """The circuit as instructions and blocks ``((a, b), gates)``, in an order that keeps its meaning."""
    items: list = []
    open_block: dict[int, tuple[tuple[int, int], list[Instruction]]] = {}
    waiting: dict[int, list[Instruction]] = {}   # one-qubit gates not yet in a block

    def close(q: int) -> None:
        block = open_block.pop(q, None)
        if block is not None:
            other = block[0][1] if block[0][0] == q else block[0][0]
            open_block.pop(other, None)
            items.append(block)
        items.extend(waiting.pop(q, []))

    for ins in circuit:
        unconditioned_gate = ins.is_gate and ins.condition is None
        if unconditioned_gate and len(ins.qubits) == 1:
            q = ins.qubits[0]
            if q in open_block:
                open_block[q][1].append(ins)
            else:
                waiting.setdefault(q, []).append(ins)
            continue
        if unconditioned_gate and len(ins.qubits) == 2:
            a, b = ins.qubits
            block = open_block.get(a)
            if block is not None and block is open_block.get(b):
                block[1].append(ins)
                continue
            close(a)
            close(b)
            pair = (min(a, b), max(a, b))
            # gates that waited on a or b start the block (they come before it anyway)
            open_block[a] = open_block[b] = (pair, [ins])
            continue
        for q in ins.qubits:
            close(q)
        items.append(ins)
    for q in list(open_block) + list(waiting):
        close(q)
    return items


def _embed(ins: Instruction, pair: tuple[int, int]) -> np.ndarray:
    m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
    if len(ins.qubits) == 1:
        return np.kron(m, np.eye(2)) if ins.qubits[0] == pair[0] else np.kron(np.eye(2), m)
    return m if ins.qubits == pair else _SWAP @ m @ _SWAP


def block_unitary(pair: tuple[int, int], gates: list[Instruction]) -> np.ndarray:
    """The 4x4 unitary of a block (``pair[0]`` the most significant qubit)."""
    u = np.eye(4, dtype=complex)
    for ins in gates:
        u = _embed(ins, pair) @ u
    return u


def _synthesise(u: np.ndarray, pair: tuple[int, int]) -> list[tuple]:
    return two_qubit_gates(u, pair)


def resynthesised_cx(circuit: Circuit) -> int:
    """The CX count of ``circuit`` once every two-qubit block is written with the fewest CX (one round, serially).

    >>> resynthesised_cx(Circuit(3).cx(0, 1).swap(0, 1).cx(1, 2))   # CX then SWAP: 2 CX
    3
    """
    total = 0
    for item in two_qubit_blocks(circuit):
        if not isinstance(item, tuple):
            total += _cx_cost(item) if item.is_gate and len(item.qubits) == 2 else 0
            continue
        pair, gates = item
        before = sum(_cx_cost(g) for g in gates if len(g.qubits) == 2)
        total += min(before, cnot_count(block_unitary(pair, gates))) if before > 1 else before
    return total


class TwoQubitResynthesis(BasePass):
    """Rewrite every two-qubit block with fewer CX when its KAK decomposition allows it.

    Args:
        rounds: repeat while a round lowers the CX count, at most this often
            (a rewritten block may merge with its neighbours next round).
    """

    def __init__(self, rounds: int = 1):
        self.rounds = rounds

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        for _ in range(self.rounds):
            new = self._round(circuit)
            if new is circuit:
                break
            circuit = new
        return circuit

    def _round(self, circuit: Circuit) -> Circuit:
        items = two_qubit_blocks(circuit)
        blocks = [item for item in items if isinstance(item, tuple) and sum(_cx_cost(g) for g in item[1] if len(g.qubits) == 2) > 1]
        if not blocks:
            return circuit
        unitaries = [block_unitary(pair, gates) for pair, gates in blocks]
        syntheses = parallel_map(_synthesise, unitaries, [pair for pair, _ in blocks])
        better = {}
        for (pair, gates), gates_new in zip(blocks, syntheses):
            before = sum(_cx_cost(g) for g in gates if len(g.qubits) == 2)
            after = sum(1 for g in gates_new if g[0] == "cx")
            if after < before:
                better[id(gates)] = [Instruction(n, q, p) for n, q, p in gates_new]
        if not better:
            return circuit
        out: list[Instruction] = []
        for item in items:
            if isinstance(item, tuple):
                out.extend(better.get(id(item[1]), item[1]))
            else:
                out.append(item)
        return rebuild(circuit, out)
