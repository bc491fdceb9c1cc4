"""The measurement schedule of the dense reference (:mod:`reference`), both ways.

qlab aligns terminal measurements at the end of the schedule by default
(their qubits idle until the circuit's last operation ends, as on
hardware); :mod:`reference` measures each qubit as soon as its last
operation ends. :func:`simulate` here runs the reference with either
schedule, written from that description alone: a terminal measurement is
set aside while the circuit runs, then every set-aside qubit idles from its
own clock to the latest clock of any qubit, gets its ``"measure"`` error and
is measured (or, for the state before measurement, retired).

>>> from qlab import Circuit
>>> spec = reference.NoiseSpec(idle={None: reference.IdleT1T2(1e-5, 2e-5)}, durations={("x", None): 1e-5})
>>> circuit = Circuit(2, 2).x(0).x(1).x(1).measure([0, 1], [0, 1])  # no barrier before the measurements
>>> round(simulate(circuit, spec).probabilities["10"], 6)     # qubit 0 decays while qubit 1 runs its second x
0.367879
>>> round(simulate(circuit, spec, aligned=False).probabilities["10"], 6)
1.0
"""

from __future__ import annotations

from functools import reduce

import reference
from qlab.circuit import Circuit


class _AlignedRun(reference._Run):
    """A reference run whose terminal measurements wait for the end of the schedule."""

    def __init__(self, circuit: Circuit, noise: reference.NoiseSpec, collapse_terminal: bool):
        super().__init__(circuit, noise, collapse_terminal)
        self.collapse = collapse_terminal
        self.deferred = reference.terminal_measurements(circuit)

    def run(self) -> _AlignedRun:
        used = {q for ins in self.circuit.instructions if ins.name != "barrier" for q in ins.qubits}
        for i, ins in enumerate(self.circuit.instructions):
            if i not in self.deferred:
                self.step(i, ins)
        end = max((self.clock[q] for q in used), default=0.0)
        for i in sorted(self.deferred):
            qubit, clbit = self.circuit.instructions[i].qubits[0], self.circuit.instructions[i].clbits[0]
            self.idle(qubit, end - self.clock[qubit])
            self.clock[qubit] = end
            self.gate_noise("measure", (qubit,), None)
            if self.collapse:
                self.measure(qubit, clbit)
            else:
                self.retired.add(qubit)
        return self


def simulate(circuit: Circuit, noise: reference.NoiseSpec | None = None, *, aligned: bool = True) -> reference.Outcome:
    """The reference outcome with terminal measurements aligned at the end (or, with ``aligned=False``,
    as early as possible: :func:`reference.simulate`)."""
    noise = reference.NoiseSpec() if noise is None else noise
    if not aligned:
        return reference.simulate(circuit, noise)
    before = _AlignedRun(circuit, noise, collapse_terminal=False).run()
    state = reduce(lambda a, b: a + b, before.branches.values())
    after = _AlignedRun(circuit, noise, collapse_terminal=True).run()
    probabilities: dict[str, float] = {}
    for record, rho in after.branches.items():
        key = reference.outcome_key(circuit, record)
        probabilities[key] = probabilities.get(key, 0.0) + rho.tr().real
    return reference.Outcome(state / state.tr(), probabilities)
