"""The physics core: density-matrix engine, channels, noise models and the streaming backend."""

from .channels import (
    Channel,
    ReadoutError,
    amplitude_damping,
    depolarizing,
    kraus,
    lindblad,
    pauli_channel,
    phase_damping,
    superop,
    thermal_relaxation,
    unitary_channel,
)
from .backend import DensityMatrixBackend
from .density_matrix import DensityMatrix
from .engine import simulate
from .noise import IdleNoise, NoiseModel
from .result import Result

__all__ = [
    "Channel", "ReadoutError", "DensityMatrix", "DensityMatrixBackend", "IdleNoise", "NoiseModel", "Result", "simulate",
    "amplitude_damping", "depolarizing", "kraus", "lindblad", "pauli_channel", "phase_damping",
    "superop", "thermal_relaxation", "unitary_channel",
]
