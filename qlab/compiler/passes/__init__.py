"""The passes qlab ships, and the optimisation levels that assemble them.

| level | passes |
|---|---|
| 0 | unroll to ``u3``/``cx``, SABRE routing, fit to the target |
| 1 | + one-qubit merging and inverse-pair cancellation before and after routing |
| 2 | + two-qubit block resynthesis (KAK) before and after routing, commuting-CX cancellation, 32 routing trials in parallel (the fewest CX once SWAPs merge into neighbouring blocks win) |
| 3 | + 128 routing trials, resynthesis repeated until it stops helping |

>>> [p.name for p in optimization_passes(1)]
['Unroll', 'MergeSingleQubitGates', 'CancelInversePairs', 'SabreRouting', 'Unroll', 'CancelInversePairs', 'MergeSingleQubitGates', 'FitToTarget']
"""

from __future__ import annotations

from ...exceptions import CompilerError
from .base import WORK_GATES, BasePass, Pass, cx_count, parallel_map
from .resynthesis import TwoQubitResynthesis, two_qubit_blocks
from .rewrite import CancelCommutingCX, CancelInversePairs, FitToTarget, MergeSingleQubitGates, Unroll
from .routing import SabreRouting
from .verify import VerifyEquivalence, circuit_unitary

__all__ = [
    "Pass", "BasePass", "Unroll", "FitToTarget", "MergeSingleQubitGates", "CancelInversePairs", "CancelCommutingCX",
    "SabreRouting",
    "TwoQubitResynthesis", "VerifyEquivalence", "optimization_passes", "circuit_unitary", "cx_count",
    "parallel_map", "two_qubit_blocks", "WORK_GATES",
]


def _tidy() -> list[BasePass]:
    return [CancelInversePairs(), MergeSingleQubitGates()]


def optimization_passes(level: int) -> list[BasePass]:
    """The passes of optimisation level 0, 1, 2 or 3.

    Raises:
        CompilerError: for another level.
    """
    if isinstance(level, bool) or not isinstance(level, int) or level not in (0, 1, 2, 3):
        raise CompilerError(f"Unknown optimization level {level!r}; allowed: 0, 1, 2, 3.")
    basis = Unroll(WORK_GATES)
    if level == 0:
        return [basis, SabreRouting(), FitToTarget()]
    if level == 1:
        return [basis, MergeSingleQubitGates(), CancelInversePairs(), SabreRouting(), basis, *_tidy(), FitToTarget()]
    rounds = 1 if level == 2 else 4
    routing = SabreRouting(trials=32 if level == 2 else 128, score="cx")
    tidy = [CancelInversePairs(), CancelCommutingCX(), MergeSingleQubitGates()]
    return [
        basis, *tidy, TwoQubitResynthesis(rounds), *tidy,
        routing, basis, *tidy, TwoQubitResynthesis(rounds), *tidy, FitToTarget(),
    ]
