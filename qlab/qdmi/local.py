"""Devices made from a :class:`~qlab.devices.DeviceDescription`, simulated with qlab's engine.

A :class:`LocalDevice` reports its description through QDMI properties and
runs jobs on the density-matrix engine with the description's noise model
(``NoiseModel.from_device``): relaxation over every operation's duration,
depolarizing noise fitted to every calibrated fidelity, readout errors, and
idle noise on qubits that wait. Only the qubits a program touches are
simulated.

A program is checked when it is set on a job, within the device's
:class:`~qlab.qdmi.programs.ProgramLimits` (``device.limits``): parsed, placed on the device
(:func:`qlab.devices.routing.place`: as written, qubit ``i`` on site ``i``, when it fits the
sites, couplings and native gates; otherwise routed, unless the job's ``ROUTE`` is off)
and lowered to the engine's program (so what the engine cannot run,
such as a conditional measurement, is refused there too), and kept, so a
job runs without checking again. The noise model is built once per device.

>>> from qlab.qdmi import Session, JobParameter
>>> with Session(store=":memory:", mqt=False) as session:
...     job = session.device("sc20").create_job()
...     job.set_parameter("route", False)
...     job.set_parameter("programformat", "qasm2")
...     job.set_parameter("program", 'OPENQASM 2.0; include "qelib1.inc"; qreg q[20]; cx q[0], q[7];')
Traceback (most recent call last):
...
qlab.qdmi.errors.NotSupported: Cannot run 'cx' on qubits (0, 7) of device 'sc20': sites 0 and 7 are not coupled (site 0 couples to 1, 5; site 7 to 2, 6, 8, 12). Program qubit i runs on site i when routing is off: run it with route=True (device.run's default), or compile it first with qlab.compiler.compile_for(device, circuit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from .. import __version__
from ..circuit import Circuit
from ..devices.description import DeviceDescription, operation_fidelity
from ..devices.placement import fit_circuit
from ..devices.routing import NO_ROUTING, Placement, RouteOptions, place
from ..exceptions import DeviceProgramError, SimulationError, UnsupportedProgramError
from ..jobs import JobRecord
from ..sim.noise import NoiseModel
from ..sim.program import Program, lower
from .device import Device, Site
from .enums import DeviceProperty, DeviceStatus, OperationProperty, ProgramFormat, SiteProperty
from .errors import InvalidArgument, NotSupported, OutOfMem, PermissionDenied
from .programs import ProgramLimits, check_qasm
from .results import simulation_results
from .cluster import SimulationRunner

__all__ = ["LocalDevice"]


@dataclass(frozen=True)
class _Prepared:
    """A checked program: the program as written, where it runs on the device, and the engine's program."""

    source: Circuit
    placement: Placement
    program: Program

    @property
    def circuit(self) -> Circuit:
        """The circuit the device runs."""
        return self.placement.circuit

    @property
    def result_circuit(self) -> Circuit:
        """The circuit whose qubits and bits the job's results name: the one run, or the program when it was routed."""
        return self.source if self.placement.routed else self.placement.circuit


def prepare_program(description: DeviceDescription, noise: NoiseModel, fmt: ProgramFormat, program: str,
                    limits: ProgramLimits, routing: RouteOptions = NO_ROUTING) -> _Prepared:
    """Check a program within ``limits``, place it on the device (routed if needed and ``routing`` allows) and
    lower it with the device's noise."""
    circuit = check_qasm(fmt, program, max_qubits=description.qubits_num, limits=limits)
    try:
        placement = place(circuit, description, routing)
        lowered = lower(placement.circuit, noise, max_qubits=description.max_simulated_qubits)
    except (DeviceProgramError, UnsupportedProgramError, SimulationError) as err:
        raise NotSupported(str(err)) from err
    except MemoryError as err:
        raise OutOfMem(f"Preparing the program for device {description.id!r} ran out of memory.") from err
    return _Prepared(circuit, placement, lowered)


def job_results(prepared: _Prepared, record: JobRecord, stop: threading.Event | None = None) -> dict:
    """Simulate a prepared job; a routed one's state results name the program's qubits (see ``simulation_results``)."""
    layout = prepared.placement.final_layout if prepared.placement.routed else None
    return simulation_results(prepared.circuit, prepared.program, record.parameters["shots"], record.parameters["seed"],
                              stop, layout)


class LocalDevice(Device):
    """A described device simulated in this process.

    Args:
        session: the session that opened it.
        description: what the device is.
        workers: how many of its jobs run at once.
    """

    def __init__(self, session, description: DeviceDescription, workers: int):
        super().__init__(session, workers)
        self.description = description
        """The description the device reports and simulates."""
        self._noise: NoiseModel | None = None
        self._noise_lock = threading.Lock()
        self._prepared = lru_cache(maxsize=256)(self._prepare_program)
        self._stops: dict[str, threading.Event] = {}
        self._stops_lock = threading.Lock()
        self._limits = ProgramLimits()
        self._children = tuple(LocalDevice(session, child, workers) for child in description.children)
        self._formats = tuple(ProgramFormat(f) for f in description.program_formats)

    @property
    def id(self) -> str:
        return self.description.id

    def noise_model(self) -> NoiseModel:
        """The device's noise model (built on first use)."""
        with self._noise_lock:
            if self._noise is None:
                self._noise = self.description.noise_model()
            return self._noise

    def fit_circuit(self, circuit: Circuit) -> Circuit:
        """The circuit as the device runs it (see :func:`qlab.devices.fit_circuit`)."""
        return fit_circuit(circuit, self.description)

    @property
    def limits(self) -> ProgramLimits:
        """What one program may be (text size, instructions, classical bits, checking time)."""
        return self._limits

    @limits.setter
    def limits(self, value: ProgramLimits) -> None:
        if not isinstance(value, ProgramLimits):
            raise InvalidArgument(f"device.limits takes a ProgramLimits, got {type(value).__name__}.")
        self._limits = value
        self._prepared.cache_clear()
        with self._lock:
            if self._queue is not None and self.session.executor is not None:
                self._queue.runner = SimulationRunner.for_device(self.description, value)

    # ------------------------------------------------------------ queries
    def _property(self, prop: DeviceProperty):
        d = self.description
        values = {
            DeviceProperty.NAME: d.name,
            DeviceProperty.VERSION: d.version,
            DeviceProperty.STATUS: DeviceStatus(d.status),
            DeviceProperty.LIBRARYVERSION: __version__,
            DeviceProperty.QUBITSNUM: d.qubits_num,
            DeviceProperty.COUPLINGMAP: d.coupling_map,
            DeviceProperty.LENGTHUNIT: d.length_unit,
            DeviceProperty.LENGTHSCALEFACTOR: d.length_scale_factor,
            DeviceProperty.DURATIONUNIT: d.duration_unit,
            DeviceProperty.DURATIONSCALEFACTOR: d.duration_scale_factor,
            DeviceProperty.SUPPORTEDPROGRAMFORMATS: self._formats,
            DeviceProperty.CHILDDEVICES: self._children,
            DeviceProperty.NEEDSCALIBRATION: 0,
        }
        if prop not in values:
            raise NotSupported(f"Device {self.id!r} does not report {prop!r}.")
        return values[prop]

    def _site_property(self, index: int, prop: SiteProperty):
        if not 0 <= index < self.description.qubits_num:
            raise InvalidArgument(f"Device {self.id!r} has sites 0..{self.description.qubits_num - 1}, not {index}.")
        site = self.description.sites[index]
        coordinates = site.coordinates or ()
        values = {
            SiteProperty.INDEX: site.index,
            SiteProperty.T1: site.t1,
            SiteProperty.T2: site.t2,
            SiteProperty.NAME: site.name,
            SiteProperty.XCOORDINATE: coordinates[0] if coordinates else None,
            SiteProperty.YCOORDINATE: coordinates[1] if coordinates else None,
            SiteProperty.ZCOORDINATE: coordinates[2] if len(coordinates) > 2 else None,
            SiteProperty.ISZONE: False,
        }
        if values.get(prop) is None:
            raise NotSupported(f"Site {index} of device {self.id!r} does not report {prop!r}.")
        return values[prop]

    def _operation_names(self) -> list[str]:
        return [op.name for op in self.description.operations]

    def _operation_property(self, name: str, prop: OperationProperty, sites, params):
        op = self.description.operation(name)
        if op is None:
            raise InvalidArgument(f"Device {self.id!r} has no operation {name!r}.")
        if params is not None and len(params) != op.parameters_num:
            raise InvalidArgument(f"Operation {name!r} takes {op.parameters_num} parameter(s), got {len(params)}.")
        if prop is OperationProperty.NAME:
            return op.name
        if prop is OperationProperty.QUBITSNUM:
            return op.qubits_num
        if prop is OperationProperty.PARAMETERSNUM:
            return op.parameters_num
        if prop is OperationProperty.ISZONED:
            return False
        if prop is OperationProperty.SITES:
            return tuple(tuple(Site(self, i) for i in s) for s in op.sites)
        if prop not in (OperationProperty.DURATION, OperationProperty.FIDELITY):
            raise NotSupported(f"Operation {name!r} of device {self.id!r} does not report {prop!r}.")
        if sites is None:
            return self._uniform(op, prop)
        if not op.acts_on(sites):
            if len(sites) == 2 and op.acts_on(sites[::-1]):
                sites = sites[::-1]
            else:
                raise InvalidArgument(f"Operation {name!r} of device {self.id!r} is not available on sites {list(sites)}.")
        if prop is OperationProperty.DURATION:
            return op.duration(sites)
        value = operation_fidelity(self.description, name, sites)
        if value is None:
            raise NotSupported(f"Operation {name!r} of device {self.id!r} has no calibrated fidelity.")
        return value

    def _uniform(self, op, prop: OperationProperty):
        if prop is OperationProperty.DURATION:
            values = set(op.durations)
        else:
            values = {operation_fidelity(self.description, op.name, s) for s in op.sites}
        if None in values:
            raise NotSupported(f"Operation {op.name!r} of device {self.id!r} has no calibrated fidelity.")
        if len(values) > 1:
            raise NotSupported(
                f"The {prop.name.lower()} of {op.name!r} on device {self.id!r} differs per site; query it with sites=[...]."
            )
        return values.pop()

    # --------------------------------------------------------------- jobs
    def _check_access(self) -> None:
        if self.description.requires_token and not self.session.has_credentials:
            raise PermissionDenied(
                f"Device {self.id!r} requires a session token: open the session with Session(token=...) "
                "(or username and password)."
            )

    routes = True

    def _prepare(self, fmt: ProgramFormat, program: str, routing: RouteOptions = NO_ROUTING) -> _Prepared:
        return self._prepared(fmt, program, routing)

    def _prepare_program(self, fmt: ProgramFormat, program: str, routing: RouteOptions) -> _Prepared:
        return prepare_program(self.description, self.noise_model(), fmt, program, self._limits, routing)

    def _prepared_job(self, record: JobRecord) -> _Prepared:
        return self._prepared(ProgramFormat(record.program_format), record.program,
                              RouteOptions.from_parameters(record.parameters))

    def _circuit_of(self, record: JobRecord) -> Circuit:
        return self._prepared_job(record).result_circuit

    def _placement(self, fmt: ProgramFormat, program: str, routing: RouteOptions) -> Placement:
        return self._prepared(fmt, program, routing).placement

    def _queue_runner(self):
        if self.session.executor is None:
            return self._run, None
        return SimulationRunner.for_device(self.description, self._limits), self.session.executor

    def _run(self, record: JobRecord) -> dict:
        stop = threading.Event()
        with self._stops_lock:
            self._stops[record.id] = stop
        try:
            if self.session.store.get(record.id).status.finished:
                stop.set()  # canceled between being started and getting here
            return job_results(self._prepared_job(record), record, stop)
        except MemoryError as err:
            raise OutOfMem(f"Job {record.id!r} ran out of memory while it was simulated on device {self.id!r}.") from err
        finally:
            with self._stops_lock:
                self._stops.pop(record.id, None)

    def _stop(self, job_id: str) -> None:
        """Ask a running simulation to stop between two of its steps."""
        with self._stops_lock:
            stop = self._stops.get(job_id)
        if stop is not None:
            stop.set()
