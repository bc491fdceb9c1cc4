"""``CompilerPlugin``: every job compiled by :mod:`qlab.compiler` for the QPU's qubits, coupling and gates.

The plugin reads the QPU's :class:`HardwareSpecs` (``nbqbits``, ``topology``,
``gate_set``), routes and unrolls each job's circuit with the compiler's
passes, and moves what the job asks about through the compiler's final
layout (``final_layout[program qubit] = physical qubit``): the measured
qubits keep their outcome-bit order and the observable's Pauli letters move
with their qubits, so results answer the original question. On the way back
each result names the program qubits again and keeps the layout in
``meta_data["compiler"]``. Put it outside plugins that look at physical
qubits (such as :class:`~qlab.qpu.ReadoutMitigation`) and inside plugins that
add gates (such as :class:`~qlab.qpu.ObservableSplitter`, whose basis
rotations then reach the QPU in its gate set too).

>>> from qlab import Circuit
>>> from qlab.qpu import DensityMatrixQPU, HardwareSpecs, Job, QPUHandler
>>> class LineQPU(DensityMatrixQPU):
...     def get_specs(self):
...         return HardwareSpecs(nbqbits=3, topology=((0, 1), (1, 2)), gate_set=("rz", "sx", "cz"))
>>> stack = CompilerPlugin(optimization_level=1) | LineQPU()
>>> stack
CompilerPlugin(optimization_level=1) | LineQPU()
>>> result = stack.submit(Job(Circuit(3).x(0).cx(0, 2), qubits=(2, 0)))
>>> result.qubits, {k: round(p, 9) for k, p in result.probabilities.items()}
((2, 0), {'11': 1.0})
"""

from __future__ import annotations

from dataclasses import replace

from ..circuit import Circuit
from ..compiler import CompilationTask, Compiler, Target, optimization_passes
from ..compiler.execution import run_passes
from ..compiler.target import DEFAULT_NATIVES
from ..exceptions import CompilerError, QPUDataError
from .data import Batch, BatchResult, Job
from .handler import Plugin
from .observable import Observable
from .plugins import _pop, _push
from .specs import HardwareSpecs

__all__ = ["CompilerPlugin"]


class CompilerPlugin(Plugin):
    """Compiles every job for the QPU with :mod:`qlab.compiler` (routing, gate set) and keeps results in program order.

    Args:
        passes: the compiler passes to run (objects with ``run(circuit, data)``); default: those of
            ``optimization_level``.
        optimization_level: 0-3, see :func:`qlab.compiler.optimization_passes` (ignored when
            ``passes`` are given).
        seed: seed of the randomised passes (routing), so compilations repeat.
        compiler: a :class:`qlab.compiler.Compiler` to run the passes on its Dask cluster;
            ``None`` runs them in this process.

    Raises:
        CompilerError: an unknown optimisation level, or a pass without ``run``.
    """

    _KEY = "qlab.compiler_plugin"

    def __init__(self, passes=None, *, optimization_level: int = 2, seed: int | None = 0,
                 compiler: Compiler | None = None):
        if passes is None:
            self._passes = tuple(optimization_passes(optimization_level))
        else:
            self._passes = tuple(passes)
            for i, p in enumerate(self._passes):
                if not callable(getattr(p, "run", None)):
                    raise CompilerError(f"CompilerPlugin: pass {i} ({p!r}) has no run(circuit, data) method.")
        self._custom = passes is not None
        self.optimization_level = optimization_level
        """The optimisation level (when no passes were given)."""
        self.seed = seed
        """The seed of randomised passes."""
        self.compiler = compiler
        """Where the passes run (``None``: this process)."""

    @property
    def passes(self) -> tuple:
        """The passes run on every circuit."""
        return self._passes

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        jobs, plan = [], []
        for index, job in enumerate(batch.jobs):
            circuit, initial, final = self._compile(job.circuit, qpu_target(specs, job.circuit.num_qubits, index))
            observable = None if job.observable is None else relabel(job.observable, final, circuit.num_qubits)
            jobs.append(job.with_(circuit=circuit, qubits=tuple(final[q] for q in job.qubits), observable=observable))
            plan.append({"qubits": list(job.qubits), "initial_layout": list(initial), "final_layout": list(final)})
        return Batch(jobs, _push(batch.meta_data, self._KEY, plan))

    def post_process(self, batch_result: BatchResult) -> BatchResult:
        plan, meta = _pop(batch_result.meta_data, self._KEY)
        if len(plan) != len(batch_result.results):
            raise QPUDataError(
                f"CompilerPlugin: the batch result has {len(batch_result.results)} result(s) for {len(plan)} compiled "
                "job(s); put plugins that split jobs inside CompilerPlugin only if they join the results again."
            )
        results = []
        for entry, result in zip(plan, batch_result.results):
            layout = {"initial_layout": entry["initial_layout"], "final_layout": entry["final_layout"]}
            qubits = tuple(entry["qubits"]) if result.qubits else result.qubits
            results.append(replace(result, qubits=qubits, meta_data={**result.meta_data, "compiler": layout}))
        return BatchResult(results, meta)

    def _compile(self, circuit: Circuit, target: Target) -> tuple[Circuit, list[int], list[int]]:
        if self.compiler is not None:
            out = self.compiler.compile(circuit, list(self._passes), target=target, seed=self.seed, progress=False)
            return out.circuit, list(out.initial_layout), list(out.final_layout)
        task = CompilationTask(circuit, self._passes, target, self.seed)
        compiled, data = run_passes(task.circuit, task.passes, task.target, task.seed)
        return compiled, list(data["initial_layout"]), list(data["final_layout"])

    def __repr__(self) -> str:
        if self._custom:
            return f"CompilerPlugin({list(self._passes)!r})"
        extra = "" if self.seed == 0 else f", seed={self.seed!r}"
        extra += "" if self.compiler is None else f", compiler={self.compiler!r}"
        return f"CompilerPlugin(optimization_level={self.optimization_level}{extra})"


def qpu_target(specs: HardwareSpecs, num_qubits: int, job_index: int = 0) -> Target:
    """The compilation :class:`~qlab.compiler.Target` of a QPU for a ``num_qubits``-qubit job.

    An all-to-all QPU gets a target of the job's own size; a QPU with a
    topology gets all its qubits (``nbqbits``, else the largest coupled qubit + 1).
    An empty gate set means ``u3``/``cx``.

    >>> qpu_target(HardwareSpecs(nbqbits=4, topology=((0, 1), (1, 2), (2, 3))), 2)
    Target(4, coupling_map=((0, 1), (1, 2), (2, 3)), name='qpu-4')

    Raises:
        CompilerError: the job has more qubits than the QPU.
    """
    if specs.nbqbits is not None and num_qubits > specs.nbqbits:
        raise CompilerError(
            f"CompilerPlugin: job {job_index} has a {num_qubits}-qubit circuit but the QPU has {specs.nbqbits} qubits."
        )
    natives = frozenset(specs.gate_set) or DEFAULT_NATIVES
    if specs.topology is None:
        return Target(num_qubits, None, natives, name="qpu-all-to-all")
    size = specs.nbqbits if specs.nbqbits is not None else 1 + max((q for pair in specs.topology for q in pair), default=0)
    if num_qubits > size:
        raise CompilerError(
            f"CompilerPlugin: job {job_index} has a {num_qubits}-qubit circuit but the QPU's topology has {size} qubits."
        )
    return Target(size, specs.topology, natives, name=f"qpu-{size}")


def relabel(observable: Observable, layout: list[int], num_qubits: int) -> Observable:
    """``observable`` with program qubit ``i``'s letter moved to qubit ``layout[i]`` of ``num_qubits``.

    >>> relabel(Observable(2, {"XZ": 1.0}, constant=0.5), [2, 0], 3)
    Observable(3, {'ZIX': 1.0}, constant=0.5)
    """
    terms = {}
    for pauli, coeff in observable.terms.items():
        letters = ["I"] * num_qubits
        for program_qubit, letter in enumerate(pauli):
            letters[layout[program_qubit]] = letter
        terms["".join(letters)] = coeff
    return Observable(num_qubits, terms, observable.constant)
