"""Example programs: small hybrid programs for notebooks, tests and benchmarks.

>>> from qlab.emulator import Emulator
>>> Emulator(3).run(ghz(3), shots=10, seed=1).counts("c")
{'000': 6, '111': 4}
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ghz"]


def ghz(n: int, tag: str = "c") -> Callable:
    """A program preparing the n-qubit GHZ state (H, then a CX chain) and recording every qubit under ``tag``."""

    def program(ctx) -> None:
        qs = [ctx.qalloc() for _ in range(n)]
        ctx.h(qs[0])
        for a, b in zip(qs, qs[1:]):
            ctx.cx(a, b)
        ctx.result(tag, [ctx.measure(q) for q in qs])

    program.__name__ = program.__qualname__ = f"ghz_{n}"
    return program
