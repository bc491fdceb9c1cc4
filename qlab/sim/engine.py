"""The density-matrix engine: run a lowered program, then sample shots.

Mid-circuit measurements are exact: the state branches on every outcome,
and branches with the same classical record are merged (their unnormalised
states add up), so the number of branches never exceeds the number of
distinct classical records. Conditions are evaluated per branch.
Terminal measurements are not simulated as collapses: their exact joint
distribution is read off the final state and every shot is sampled from it.

>>> from qlab import Circuit
>>> r = simulate(Circuit(2).h(0).cx(0, 1).measure_all(), shots=1000, seed=7)
>>> sorted(r.counts)
['00', '11']
>>> r.probabilities
{'00': 0.5, '11': 0.5}
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from ..circuit import Circuit
from ..exceptions import QlabTypeError, SimulationError, SimulationStopped
from .noise import NoiseModel
from .noise import warn_user
from .program import DEFAULT_MAX_QUBITS, PROJECTOR_PTMS, Block, Conditional, Measure, Program, lower
from .result import Result
from .state import PauliState, Workspace

__all__ = ["simulate", "run_program", "MAX_SHOTS", "BRANCH_MEMORY_BYTES"]

MAX_SHOTS = 10**8
"""The largest shot count one call accepts."""

BRANCH_MEMORY_BYTES = 4 * 2**30
"""How much memory the branches of one simulation may hold together."""

_NEGLIGIBLE = 1e-14


def _check_shots(shots) -> int | None:
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)):
        raise QlabTypeError(f"Cannot simulate: shots must be an int or None, got {shots!r} ({type(shots).__name__}).")
    if not 1 <= shots <= MAX_SHOTS:
        raise SimulationError(f"Cannot simulate: shots must be between 1 and {MAX_SHOTS:,}, got {shots}.")
    return int(shots)


def _check_seed(seed):
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise QlabTypeError(f"Cannot simulate: seed must be a non-negative int, a numpy Generator or None, got {seed!r}.")
    if seed < 0:
        raise SimulationError(f"Cannot simulate: seed must be non-negative, got {seed}.")
    return int(seed)


def simulate(
    circuit: Circuit,
    noise: NoiseModel | None = None,
    shots: int | None = None,
    seed: int | np.random.Generator | None = None,
    *,
    max_qubits: int = DEFAULT_MAX_QUBITS,
    device: SimulationTarget | None = None,
) -> Result:
    """Simulate ``circuit`` under ``noise`` and return a :class:`~qlab.sim.result.Result`.

    Args:
        circuit: the program (see :class:`qlab.Circuit` and :func:`qlab.load_qasm`).
        noise: a :class:`~qlab.sim.noise.NoiseModel`, or ``None`` for an ideal run.
        shots: how many shots to sample, or ``None`` for exact probabilities only.
        seed: makes the sampled shots reproducible.
        max_qubits: refuse circuits that act on more qubits than this.
        device: simulate the circuit as this device runs it: fitted to it
            (``device.fit_circuit``: native gates, its sites and couplings)
            and with its noise (``device.noise_model()``). A qlab device
            (``qlab.device("training5")``) or a ``DeviceDescription``. The
            circuit runs as written (qubit ``i`` on site ``i``); ``device.run``
            also routes circuits that do not fit, and its job's
            ``routing.circuit`` simulates here as written.

    ``result.state`` is the state of all the circuit's qubits after the whole
    circuit but before its terminal measurements, averaged over the outcomes
    of mid-circuit ones; ``result.state_of(qubits)`` gives a reduced state.
    Only the qubits some instruction acts on are simulated together
    (``result.simulated_qubits``).

    Raises:
        SimulationError: shots are asked of a circuit without measurements, or the
            circuit is too big (see ``max_qubits``).

    Warns:
        NoiseModelWarning: some gates get no noise while gates of the same size
            (or the same gate elsewhere) do, or idle noise is set but no
            instruction takes time; one warning per kind and call.
    """
    started = time.perf_counter()
    if device is not None:
        circuit, noise = _as_run_on(device, circuit, noise)
    shots = _check_shots(shots)
    seed = _check_seed(seed)
    program = lower(circuit, noise, max_qubits=max_qubits)
    if shots is not None and not any(ins.name == "measure" for ins in circuit.instructions):
        raise SimulationError(
            f"Cannot sample {shots} shots: the circuit has no measurements, so every shot would be empty. "
            "Add measurements (circuit.measure(qubits, clbits) or circuit.measure_all()), or simulate "
            "without shots to read result.state and result.probabilities."
        )
    warn_about_noise(program)
    branches = run_program(program)
    return Result.from_branches(circuit, program, branches, shots, seed, time.perf_counter() - started)


class SimulationTarget(Protocol):
    """What ``simulate(..., device=...)`` needs from a device."""

    def fit_circuit(self, circuit: Circuit) -> Circuit:
        """The circuit as the device runs it."""

    def noise_model(self) -> NoiseModel:
        """The device's noise."""


def _as_run_on(device: SimulationTarget, circuit: Circuit, noise: NoiseModel | None) -> tuple[Circuit, NoiseModel]:
    if noise is not None:
        raise SimulationError("Cannot simulate: give noise= or device= (which brings its own noise model), not both.")
    if not callable(getattr(device, "fit_circuit", None)) or not callable(getattr(device, "noise_model", None)):
        raise QlabTypeError(
            f"Cannot simulate on device={device!r}: a device must have fit_circuit(circuit) and noise_model() "
            "(qlab.device('training5') or qlab.devices.load_device('training5'))."
        )
    return device.fit_circuit(circuit), device.noise_model()


def warn_about_noise(program: Program) -> None:
    """One :class:`~qlab.sim.noise.NoiseModelWarning` per kind of noise that probably does not do what was meant."""
    if program.noiseless_gates:
        listing = "; ".join(
            f"{name} on {', '.join(str(q[0]) if len(q) == 1 else str(q) for q in qubits)}"
            for name, qubits in program.noiseless_gates.items()
        )
        warn_user(
            f"The noise model gives no error to some gates of this circuit while it gives errors to other gates "
            f"of the same size (or to the same gate on other qubits): {listing}. Add errors for them "
            "(NoiseModel.with_gate_error), or unroll the circuit to the device's native gates."
        )
    if program.timeless_idle:
        warn_user(
            "The noise model has idle noise, but no instruction of this circuit takes time (no gate durations, "
            "no delays), so the idle noise never acts; set durations with NoiseModel.with_duration or add delays."
        )


def run_program(program: Program, stop: threading.Event | None = None) -> dict[tuple[int, ...], PauliState]:
    """Run a program; return the unnormalised state of every classical record.

    Raises:
        SimulationStopped: ``stop`` was set while the program ran (checked between steps).
    """
    workspace = Workspace()
    start = PauliState.zero(program.qubits, workspace)
    branches: dict[tuple[int, ...], PauliState] = {(0,) * program.num_clbits: start}
    limit = max(4, BRANCH_MEMORY_BYTES // (8 * 4 ** len(program.qubits)))
    for step in program.steps:
        if stop is not None and stop.is_set():
            raise SimulationStopped("The simulation was stopped before it finished.")
        if isinstance(step, Block):
            for state in branches.values():
                state.apply(step.ptm, step.qubits)
        elif isinstance(step, Measure):
            branches = _measure(branches, step)
            if len(branches) > limit:
                raise SimulationError(
                    f"Cannot simulate: mid-circuit measurements produced {len(branches)} distinct classical "
                    f"records, more than the {limit} branch states that fit in {BRANCH_MEMORY_BYTES / 2**30:.0f} GiB "
                    f"at {len(program.qubits)} qubits; measure into fewer distinct bits or reuse them, or sample it shot by shot "
                    "with the emulator: qlab.emulator.Emulator(n_qubits, simulator=qlab.emulator.StatevectorSimulator())"
                    ".run(circuit, shots)."
                )
        elif isinstance(step, Conditional):
            for record, state in branches.items():
                for block in step.blocks if step.condition.holds(record) else step.otherwise:
                    state.apply(block.ptm, block.qubits)
    return branches


def _measure(branches: Mapping[tuple[int, ...], PauliState], step: Measure) -> dict[tuple[int, ...], PauliState]:
    """Split every branch on the outcome of ``step`` and merge equal records."""
    out: dict[tuple[int, ...], PauliState] = {}
    confusion = None if step.readout is None else step.readout.matrix
    for record, state in branches.items():
        weights = state.probabilities((step.qubit,))
        total = state.trace()
        outcomes = [m for m in (0, 1) if weights[m] > _NEGLIGIBLE * max(total, 1e-300)]
        for i, m in enumerate(outcomes):
            collapsed = state if i == len(outcomes) - 1 else state.copy()
            collapsed.apply(PROJECTOR_PTMS[m], (step.qubit,))
            for r in (0, 1):
                p = 1.0 if confusion is None and r == m else (0.0 if confusion is None else confusion[m, r])
                if p <= 0:
                    continue
                new_record = record[: step.clbit] + (r,) + record[step.clbit + 1:]
                _accumulate(out, new_record, collapsed, p)
    return out


def _accumulate(out: dict, record: tuple[int, ...], state: PauliState, weight: float) -> None:
    existing = out.get(record)
    if existing is None:
        if weight == 1.0:
            out[record] = state
        else:
            copy = state.copy()
            copy.data *= weight
            out[record] = copy
    else:
        existing.add_(state, weight)

