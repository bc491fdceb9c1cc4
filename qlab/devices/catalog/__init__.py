"""The built-in devices, shipped as JSON description files next to this module.

=============  ==========================================================
``ideal``      12 perfect qubits, all-to-all, every library gate native
``training5``  a 5-qubit line with clearly visible noise, for teaching
``sc20``       a 20-qubit square-lattice superconducting device (rz, sx, x, cz)
``ion12``      a 12-qubit all-to-all trapped-ion chain (rxy, rzz)
=============  ==========================================================

>>> device_ids()
['ideal', 'ion12', 'sc20', 'training5']
>>> load_device("ion12").native_gates == {"rxy", "rzz", "measure", "reset"}
True
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..description import DeviceDescription
from ...exceptions import UnknownDeviceError
from ..schema import parse_description

__all__ = ["device_ids", "load_device"]


@lru_cache(maxsize=1)
def device_ids() -> list[str]:
    """The ids of the built-in devices, sorted."""
    return sorted(p.name[: -len(".json")] for p in resources.files(__name__).iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def load_device(device_id: str) -> DeviceDescription:
    """The description of built-in device ``device_id`` (read once, then cached).

    Raises:
        UnknownDeviceError: when no built-in device has that id (the message lists them).
    """
    if device_id not in device_ids():
        raise UnknownDeviceError(f"No built-in device {device_id!r}; the catalog has {', '.join(device_ids())}.")
    text = resources.files(__name__).joinpath(f"{device_id}.json").read_text(encoding="utf-8")
    return parse_description(text, "json")
