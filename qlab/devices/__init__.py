"""Devices as data: descriptions, the built-in catalog, native gate sets, fitting and routing circuits onto devices.

>>> from qlab.devices import load_device
>>> d = load_device("training5")
>>> d.name, d.qubits_num, d.coupling_map
('qlab Training-5 (5-qubit line with visible noise)', 5, ((0, 1), (1, 2), (2, 3), (3, 4)))
"""

from .catalog import device_ids, load_device
from .description import DeviceDescription, OperationDescription, SiteDescription
from ..exceptions import DeviceDescriptionError, DeviceProgramError, RoutingError, UnknownDeviceError, UnsupportedProgramError
from .natives import unroll
from .placement import fit_circuit
from .routing import Placement, RouteOptions, place
from .schema import description_from_dict, description_to_dict, load_description, parse_description

__all__ = [
    "DeviceDescription", "OperationDescription", "SiteDescription",
    "DeviceDescriptionError", "DeviceProgramError", "UnknownDeviceError", "UnsupportedProgramError",
    "device_ids", "load_device", "description_from_dict", "description_to_dict", "load_description",
    "parse_description", "unroll", "fit_circuit", "RoutingError", "RouteOptions", "Placement", "place",
]
