"""Gate names for pyqasm's unrolling: standard names it does not know, and the
calls it keeps as qlab library gates."""

from __future__ import annotations

import copy

import numpy as np
import openqasm3.ast as ast
import pyqasm

from ...exceptions import QasmError
from ..circuit import Circuit
from ..gates import gate_matrix
from .diagnostics import pyqasm_errors
from .reader import Reader
from .support import Source, walk
from .tables import LIBRARY_CALLS, PYQASM_SPELLING, library_call, source_arity

_SAMPLE_PARAMS = ((0.3, 1.1, 0.7, 2.3), (1.9, 0.4, 2.6, 0.8))
"""Parameters at which a library-named gate definition is compared with the library."""


def respell(program: ast.Program) -> None:
    """Rename calls of standard gates pyqasm does not know (in place, before unrolling)."""
    defined = {s.name.name for s in program.statements if isinstance(s, ast.QuantumGateDefinition)}
    for node in walk(program):
        if isinstance(node, ast.QuantumGate) and node.name.name in PYQASM_SPELLING.keys() - defined:
            node.name = ast.Identifier(PYQASM_SPELLING[node.name.name])


def external_gates(program: ast.Program) -> list[str]:
    """Gate names pyqasm should keep as calls: library gates, minus user
    definitions of library names whose bodies are something else."""
    definitions = [s for s in program.statements if isinstance(s, ast.QuantumGateDefinition)]
    redefined = {d.name.name for d in definitions} & LIBRARY_CALLS
    trusted = LIBRARY_CALLS - redefined
    matching = {d.name.name for d in definitions if d.name.name in redefined and _is_library(program, d, trusted)}
    return sorted(trusted | matching)


def _is_library(program: ast.Program, definition: ast.QuantumGateDefinition, trusted: frozenset) -> bool:
    """Whether a user definition named like a library gate has its unitary (up to phase)."""
    name = definition.name.name
    num_qubits, num_params = source_arity(name)
    if (len(definition.qubits), len(definition.arguments)) != (num_qubits, num_params):
        return False
    for sample in _SAMPLE_PARAMS:
        params = sample[:num_params]
        try:
            got = _unitary(_load_call(program, name, num_qubits, params, trusted))
        except QasmError:
            return False
        if not _same_up_to_phase(got, gate_matrix(*library_call(name, params))):
            return False
    return True


def _load_call(program: ast.Program, name: str, num_qubits: int, params, trusted: frozenset) -> Circuit:
    """The unrolled circuit of one call of gate ``name`` with the program's definitions."""
    keep = (ast.Include, ast.ConstantDeclaration, ast.QuantumGateDefinition)
    reg = ast.Identifier("qlab_call_qubits")
    call = ast.QuantumGate(
        modifiers=[],
        name=ast.Identifier(name),
        arguments=[ast.FloatLiteral(p) for p in params],
        qubits=[ast.IndexedIdentifier(reg, [[ast.IntegerLiteral(i)]]) for i in range(num_qubits)],
    )
    statements = [copy.deepcopy(s) for s in program.statements if isinstance(s, keep)]
    statements += [ast.QubitDeclaration(reg, ast.IntegerLiteral(num_qubits)), call]
    with pyqasm_errors():
        module = pyqasm.loads(ast.Program(statements=statements, version=program.version))
        module.unroll(external_gates=sorted(trusted))
    return Reader(Source()).read(module.unrolled_ast.statements)


def _unitary(circuit: Circuit) -> np.ndarray:
    """The unitary of the gates of a circuit (qubit 0 most significant)."""
    n = circuit.num_qubits
    tensor = np.eye(2**n, dtype=complex).reshape((2,) * n + (2**n,))
    for ins in circuit:
        if not ins.is_gate:
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        k = len(ins.qubits)
        tensor = np.tensordot(m.reshape((2,) * 2 * k), tensor, axes=(range(k, 2 * k), ins.qubits))
        tensor = np.moveaxis(tensor, range(k), ins.qubits)
    return tensor.reshape(2**n, 2**n)


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return bool(abs(a[k]) > 1e-9 and np.allclose(a, a[k] / b[k] * b, atol=1e-9))
