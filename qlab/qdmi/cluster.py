"""Running a local device's jobs on an executor: a Dask cluster, or any ``concurrent.futures`` pool.

``Session(executor=client)`` hands each job of a simulated (catalog or
description) device to the executor as data: the device's description as
JSON text and the job record. A worker rebuilds the description and its
noise model once (cached per description), checks and places the program
(routing it again, with the same fixed seed, when the job's parameters say so) and
simulates it; nothing with a lock or a live device travels. The session's
queue keeps all status bookkeeping and the store stays in the client's
process. A job cancelled while it runs on a worker finishes there but is
recorded as canceled.

>>> from concurrent.futures import ThreadPoolExecutor
>>> import qlab
>>> from qlab.qdmi import Session
>>> with ThreadPoolExecutor(2) as pool, Session(store=":memory:", mqt=False, executor=pool) as session:
...     session.device("ideal").run(qlab.Circuit(2).x(0).measure_all(), shots=100, seed=1).result().counts
{'10': 100}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from ..devices.description import DeviceDescription
from ..devices.routing import RouteOptions
from ..devices.schema import description_from_dict, description_to_dict
from ..jobs import JobRecord
from .enums import ProgramFormat
from .programs import ProgramLimits

__all__ = ["SimulationRunner"]


@dataclass(frozen=True)
class SimulationRunner:
    """A picklable job runner for one simulated device: what a worker needs, as data.

    Attributes:
        description_json: the device's description (``description_to_dict`` as JSON).
        limits: the device's program limits when the runner was made.
    """

    description_json: str
    limits: ProgramLimits

    @classmethod
    def for_device(cls, description: DeviceDescription, limits: ProgramLimits) -> SimulationRunner:
        """The runner of a device with this description and these limits."""
        return cls(json.dumps(description_to_dict(description), sort_keys=True), limits)

    def __call__(self, record: JobRecord) -> dict:
        from .local import job_results, prepare_program  # the worker's side of LocalDevice._prepare_program

        description, noise = _device(self.description_json)
        prepared = prepare_program(description, noise, ProgramFormat(record.program_format), record.program,
                                   self.limits, RouteOptions.from_parameters(record.parameters))
        return job_results(prepared, record)


@lru_cache(maxsize=16)
def _device(description_json: str):
    description = description_from_dict(json.loads(description_json))
    return description, description.noise_model()
