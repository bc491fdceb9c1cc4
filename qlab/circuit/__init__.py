"""The circuit IR: :class:`Circuit`, the gate library and OpenQASM 2/3 in and out."""

from .circuit import Circuit
from .gates import ALIASES, GATES, GateDef, gate_matrix, is_unitary
from .instruction import Condition, Instruction, Register
from .qasm import dump_qasm, load_qasm

__all__ = [
    "Circuit", "Condition", "Instruction", "Register", "GATES", "ALIASES", "GateDef",
    "gate_matrix", "is_unitary", "load_qasm", "dump_qasm",
]
