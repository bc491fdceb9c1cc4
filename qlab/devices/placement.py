"""Fitting a circuit onto a described device, qubit ``i`` on site ``i`` (routing is :mod:`qlab.devices.routing`'s).

:func:`fit_circuit` checks that a circuit can run on a device and returns
the circuit the device runs: written in its native operations (see
:mod:`qlab.devices.natives`), with symmetric two-qubit gates turned to the
orientation the device calibrates.

>>> from qlab import Circuit
>>> from qlab.devices import load_device
>>> fit_circuit(Circuit(2).h(0).cx(0, 1).measure_all(), load_device("sc20")).count_ops()
{'rz': 6, 'sx': 3, 'cz': 1, 'barrier': 1, 'measure': 2}
>>> fit_circuit(Circuit(8).cx(0, 7), load_device("sc20"))
Traceback (most recent call last):
...
qlab.exceptions.DeviceProgramError: Cannot run 'cx' on qubits (0, 7) of device 'sc20': sites 0 and 7 are not coupled (site 0 couples to 1, 5; site 7 to 2, 6, 8, 12). Program qubit i runs on site i when routing is off: run it with route=True (device.run's default), or compile it first with qlab.compiler.compile_for(device, circuit).
"""

from __future__ import annotations

from itertools import combinations

from ..circuit import Circuit
from ..circuit.instruction import NON_GATE_OPS
from ..exceptions import DeviceProgramError, QubitLimitError, UnsupportedProgramError
from ..sim.program import simulated_qubits
from .description import SYMMETRIC_GATES, DeviceDescription
from .natives import empty_like, unroll

__all__ = ["fit_circuit", "ROUTING_HINT"]

ROUTING_HINT = ("Program qubit i runs on site i when routing is off: run it with route=True (device.run's default), "
                "or compile it first with qlab.compiler.compile_for(device, circuit).")
"""What an uncoupled pair's error ends with: how to have the program routed."""

_ALWAYS = frozenset({"barrier", "delay"})


def fit_circuit(circuit: Circuit, device: DeviceDescription) -> Circuit:
    """The circuit as ``device`` runs it: native operations on the program's own qubit indices.

    Raises:
        DeviceProgramError: the circuit declares more qubits than the device has
            sites, or a multi-qubit gate acts on sites that are not coupled, or
            a native operation is not available on the sites it is used on.
        QubitLimitError: the circuit acts on more qubits than the device simulates.
        UnsupportedProgramError: a gate cannot be written in the device's natives
            (or the device does not unroll and the gate is not native).
    """
    n = device.qubits_num
    if circuit.num_qubits > n:
        raise DeviceProgramError(
            f"The program declares {circuit.num_qubits} qubits, but device {device.id!r} has {n} sites (0..{n - 1}); "
            "qubit i of the program runs on site i, so declare at most that many."
        )
    used = simulated_qubits(circuit)
    if len(used) > device.max_simulated_qubits:
        raise QubitLimitError(
            f"Cannot run the program on device {device.id!r}: it acts on {len(used)} qubits, more than the "
            f"{device.max_simulated_qubits} that can be simulated (a density matrix on n qubits needs 16*4^n bytes); "
            "use fewer qubits."
        )
    natives = device.native_gates
    for ins in circuit:
        if len(ins.qubits) > 1 and ins.name not in _ALWAYS:
            for a, b in combinations(ins.qubits, 2):
                if not device.is_coupled(a, b):
                    raise DeviceProgramError(_uncoupled(device, ins.name, ins.qubits, a, b))
        if ins.name in NON_GATE_OPS and ins.name not in _ALWAYS and ins.name not in natives:
            raise UnsupportedProgramError(
                f"Cannot run {ins.name!r} on device {device.id!r}: it is not one of its operations ({', '.join(sorted(natives))})."
            )
    if not device.unroll:
        foreign = sorted({ins.label or ins.name for ins in circuit if ins.name not in natives and ins.name not in NON_GATE_OPS})
        if foreign:
            raise UnsupportedProgramError(
                f"Cannot run the program on device {device.id!r}: it runs its native operations only "
                f"({', '.join(sorted(natives))}), and the program uses {', '.join(foreign)}."
            )
    return _orient(unroll(circuit, natives), device)


def _uncoupled(device: DeviceDescription, name: str, qubits: tuple[int, ...], a: int, b: int) -> str:
    return (
        f"Cannot run {name!r} on qubits {qubits} of device {device.id!r}: sites {a} and {b} are not coupled "
        f"(site {a} couples to {_list(device.neighbours(a))}; site {b} to {_list(device.neighbours(b))}). " + ROUTING_HINT
    )


def _list(items: list[int]) -> str:
    return ", ".join(map(str, items)) or "no site"


def _orient(circuit: Circuit, device: DeviceDescription) -> Circuit:
    """Turn symmetric gates to the calibrated orientation; check every operation's sites."""
    flips = set()
    for i, ins in enumerate(circuit):
        if ins.name in _ALWAYS:
            continue
        op = device.operation(ins.name)
        if op.acts_on(ins.qubits):
            continue
        if len(ins.qubits) == 2 and ins.name in SYMMETRIC_GATES and op.acts_on(ins.qubits[::-1]):
            flips.add(i)
            continue
        where = [list(s) if len(s) > 1 else s[0] for s in op.sites]
        raise DeviceProgramError(
            f"Cannot run {ins.name!r} on {'sites' if len(ins.qubits) > 1 else 'site'} "
            f"{ins.qubits if len(ins.qubits) > 1 else ins.qubits[0]} of device {device.id!r}: it is available on {where}."
        )
    if not flips:
        return circuit
    out = empty_like(circuit)
    for i, ins in enumerate(circuit):
        qubits = ins.qubits[::-1] if i in flips else ins.qubits
        out.append(ins.name, qubits, ins.params, clbits=ins.clbits, condition=ins.condition, unit=ins.unit)
    return out
