"""qlab: a notebook-first quantum lab.

>>> import qlab
>>> bell = qlab.load_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;')
>>> qlab.simulate(bell, shots=100, seed=1).probabilities
{'00': 0.5, '11': 0.5}
"""

from . import sim
from .circuit import Circuit, load_qasm
from .exceptions import QlabError
from .sim import DensityMatrix, NoiseModel, Result, simulate

__version__ = "0.1.0"
__all__ = ["Circuit", "DensityMatrix", "NoiseModel", "QlabError", "Result", "load_qasm", "sim", "simulate", "__version__"]
