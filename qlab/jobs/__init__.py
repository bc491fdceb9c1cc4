"""Jobs of every family: one record, a SQLite store that survives restarts, and queues.

>>> from qlab.jobs import JobQueue, JobRecord, JobStore
>>> store = JobStore(":memory:")
>>> with JobQueue(lambda record: {"shots": record.parameters["shots"]}, store) as queue:
...     record = JobRecord.new("qdmi", "ideal", "OPENQASM 3.0;", "qasm3", {"shots": 100})
...     queue.submit(record)
...     queue.wait(record.id).results
{'shots': 100}
>>> store.df()[["family", "device", "status"]]
  family device status
0   qdmi  ideal   done
"""

from ..exceptions import AmbiguousJobIdError, JobNotFoundError, JobQueueError, JobStateError, JobStoreError
from .queue import JobQueue
from .record import JobRecord, JobStatus
from .store import JobStore, default_store, df

__all__ = [
    "AmbiguousJobIdError",
    "JobNotFoundError",
    "JobQueue",
    "JobQueueError",
    "JobRecord",
    "JobStateError",
    "JobStatus",
    "JobStore",
    "JobStoreError",
    "default_store",
    "df",
]
