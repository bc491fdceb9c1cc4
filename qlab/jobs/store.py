"""The embedded job store: one SQLite file (WAL) that outlives the kernel.

Every status change is one short transaction that stamps the time the job
entered the new status; results and the ``done`` status are written in the
same transaction, so a reader never sees half of a result. WAL mode with
``synchronous=NORMAL`` keeps every committed change across a killed process
(only a power cut may lose the last moments).

Jobs left ``submitted``, ``queued`` or ``running`` by a process that died
are marked ``failed`` with the error ``"interrupted"`` the next time a store
opens the file (see :meth:`JobStore.recover`). They are not re-run: a job may
have had side effects, so resubmitting is the user's choice.

>>> store = JobStore(":memory:")
>>> record = JobRecord.new("qdmi", "ideal", "OPENQASM 3.0;", "qasm3", {"shots": 10})
>>> store.add(record)
>>> store.set_status(record.id, "running").status
<JobStatus.RUNNING: 'running'>
>>> store.finish(record.id, {"counts": {"0": 10}}).status
<JobStatus.DONE: 'done'>
>>> store.get(record.id).results
{'counts': {'0': 10}}
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from qlab.exceptions import QlabTypeError

from . import owner
from ..exceptions import JobNotFoundError, JobStateError, JobStoreError
from .record import JobRecord, JobStatus
from .serialize import decode_parameters, decode_results, encode_parameters, encode_results

__all__ = ["JobStore", "default_store", "df"]

MEMORY = ":memory:"
_SCHEMA_VERSION = 1
_STATUSES = tuple(JobStatus)
_TIME_COLUMNS = ", ".join(f"t_{s.value}" for s in _STATUSES)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    device TEXT NOT NULL,
    program TEXT NOT NULL,
    program_format TEXT NOT NULL,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL,
    {", ".join(f"t_{s.value} REAL" for s in _STATUSES)},
    error TEXT,
    results TEXT,
    arrays BLOB,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_start TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""
_HEAD = f"id, family, device, program, program_format, parameters, status, {_TIME_COLUMNS}, error"
_SELECT_ONE = f"SELECT {_HEAD} FROM jobs WHERE id = ?"
_SELECT_FULL = f"SELECT {_HEAD}, results, arrays FROM jobs"
_INSERT_COLUMNS = f"{_HEAD}, results, arrays, owner_host, owner_pid, owner_start".split(", ")
_INSERT = f"INSERT INTO jobs ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
_ACTIVE = (JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING)
_ORDER = " ORDER BY t_created, seq"


@functools.lru_cache(maxsize=None)
def _update_sql(statuses: tuple[JobStatus, ...], with_results: bool) -> str:
    sets = ["status = ?", *(f"t_{s.value} = ?" for s in statuses), "error = COALESCE(?, error)"]
    if with_results:
        sets += ["results = ?", "arrays = ?"]
    if not statuses[-1].finished:
        sets += ["owner_host = ?", "owner_pid = ?", "owner_start = ?"]
    return f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?"


def _record(row: tuple, results: dict | None = None) -> JobRecord:
    times = row[7 : 7 + len(_STATUSES)]
    return JobRecord(
        id=row[0],
        family=row[1],
        device=row[2],
        program=row[3],
        program_format=row[4],
        parameters=decode_parameters(row[5]),
        status=JobStatus(row[6]),
        timestamps={s.value: t for s, t in zip(_STATUSES, times) if t is not None},
        error=row[7 + len(_STATUSES)],
        results=results,
    )


def _full_record(row: tuple) -> JobRecord:
    text, blob = row[-2], row[-1]
    return _record(row, None if text is None else decode_results(text, blob))


def _user_data_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


class JobStore:
    """Job records in one SQLite file (or in memory), safe to share between threads and processes.

    Args:
        path: the database file; ``None`` for :meth:`default_path`,
            ``":memory:"`` for a store that lives only as long as this
            object. Missing parent directories are created.

    Raises:
        JobStoreError: the file cannot be opened or was written by an
            incompatible qlab.

    One connection serves all threads of the process, guarded by a lock.
    Opening a file runs :meth:`recover`.

    >>> with JobStore(":memory:") as store:
    ...     store.add(JobRecord.new("emulator", "sim", id="a"))
    ...     [r.id for r in store.list(status="created")]
    ['a']
    """

    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            path = self.default_path()
        self.path: Path | str = MEMORY if str(path) == MEMORY else Path(path).expanduser()
        """The database file, or ``":memory:"``."""
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = self._open()
        self.recovered: list[str] = self.recover()
        """The ids :meth:`recover` failed when this store opened."""

    @staticmethod
    def default_path() -> Path:
        """``$QLAB_HOME/jobs.sqlite`` if ``QLAB_HOME`` is set, else ``jobs.sqlite`` in the per-user data directory.

        The per-user directory is ``$XDG_DATA_HOME/qlab`` (default
        ``~/.local/share/qlab``) on Linux, ``~/Library/Application
        Support/qlab`` on macOS and ``%LOCALAPPDATA%\\qlab`` on Windows. The
        directory is created.
        """
        home = os.environ.get("QLAB_HOME")
        directory = Path(home).expanduser() if home else _user_data_dir() / "qlab"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / "jobs.sqlite"

    def _open(self) -> sqlite3.Connection:
        target = self.path if self.path == MEMORY else str(self.path)
        try:
            if target != MEMORY:
                self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            conn = sqlite3.connect(target, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;")
        except (OSError, sqlite3.Error) as err:
            raise JobStoreError(f"Cannot open the job store at {target}: {err}.") from err
        if version not in (0, _SCHEMA_VERSION):
            conn.close()
            raise JobStoreError(
                f"Cannot open the job store at {target}: it has schema version {version}, "
                f"this qlab reads version {_SCHEMA_VERSION}; use a matching qlab or another file."
            )
        return conn

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    def _repr_html_(self, last: int = 20) -> str:
        from .._html import frame_table

        table = self.df()
        note = f"{len(table) - last} older job(s) not shown; df() has them all" if len(table) > last else ""
        return frame_table(table.tail(last), caption=f"{self!r}: {len(table)} job(s), times in UTC", note=note)

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._conn is None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise JobStoreError(f"{self!r} is closed; open a new JobStore.")
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _not_found(self, job_id: str) -> JobNotFoundError:
        return JobNotFoundError(f"No job {job_id!r} in {self!r}.")

    def add(self, record: JobRecord) -> None:
        """Store a new record (any status; its results too, if it has them).

        Raises:
            JobStateError: a job with this id is already stored.
            QlabTypeError: a parameter or result cannot be stored; the message names it.
        """
        if not isinstance(record, JobRecord):
            raise QlabTypeError(f"JobStore.add expects a JobRecord, got {type(record).__name__}.")
        self._insert(record, record.status, record.timestamps)

    def _insert(self, record: JobRecord, status: JobStatus, timestamps: dict[str, float]) -> None:
        parameters = encode_parameters(record.parameters, record.id)
        text, blob = (None, None) if record.results is None else encode_results(record.results, record.id)
        times = [timestamps.get(s.value) for s in _STATUSES]
        unknown = set(timestamps) - {s.value for s in _STATUSES}
        if unknown:
            raise JobStateError(f"Cannot add job {record.id!r}: timestamps name unknown statuses {sorted(unknown)}.")
        if times[0] is None:
            times[0] = time.time()
        me = owner.current()
        row = (record.id, record.family, record.device, record.program, record.program_format, parameters,
               status.value, *times, record.error, text, blob, me.host, me.pid, me.start)  # fmt: skip
        with self._connection() as conn:
            try:
                conn.execute(_INSERT, row)
            except sqlite3.IntegrityError as err:
                raise JobStateError(f"Cannot add job {record.id!r} to {self!r}: a job with this id is already stored.") from err

    def set_status(self, job_id: str, status: JobStatus | str, *, error: str | None = None) -> JobRecord:
        """Move a job to ``status`` and stamp the time, in one transaction.

        Args:
            job_id: the job.
            status: the new status (a :class:`JobStatus` or its value).
            error: why, for ``failed`` or ``canceled`` (kept otherwise).

        Returns:
            The record as stored after the change (results are not loaded; a
            job that can still move has none).

        Raises:
            JobNotFoundError: no such job.
            JobStateError: the status is unknown, or the job cannot move
                there (see :class:`JobStatus`).
        """
        record = self._move(job_id, (JobStatus(status),), error=error)
        assert record is not None
        return record

    def finish(self, job_id: str, results: dict) -> JobRecord:
        """Store ``results`` and mark the job ``done``, in one transaction.

        If the results cannot be stored, the job is marked ``failed`` with
        the reason and nothing of the results is written.

        Raises:
            JobNotFoundError: no such job.
            JobStateError: the job is already finished.
            QlabTypeError: a result cannot be stored; the message names it.
        """
        record = self._finish(job_id, results, strict=True)
        assert record is not None
        return record

    def _finish(self, job_id: str, results: dict, *, strict: bool) -> JobRecord | None:
        try:
            payload = encode_results(results, job_id)
        except QlabTypeError as err:
            self._move(job_id, (JobStatus.FAILED,), error=f"{type(err).__name__}: {err}", strict=strict)
            raise
        record = self._move(job_id, (JobStatus.DONE,), payload=payload, strict=strict)
        if record is not None:
            record.results = results
        return record

    def _move(
        self,
        job_id: str,
        statuses: tuple[JobStatus, ...],
        *,
        error: str | None = None,
        payload: tuple[str, bytes | None] | None = None,
        strict: bool = True,
    ) -> JobRecord | None:
        """Enter each of ``statuses`` now, in one transaction; the last one stays.

        With ``strict=False`` an illegal move returns None instead of raising.
        """
        final = statuses[-1]
        now = time.time()
        params: list[object] = [final.value, *(now for _ in statuses), error]
        if payload is not None:
            params += payload
        if not final.finished:
            me = owner.current()
            params += (me.host, me.pid, me.start)
        params.append(job_id)
        with self._transaction() as conn:
            row = conn.execute(_SELECT_ONE, (job_id,)).fetchone()
            if row is None:
                raise self._not_found(job_id)
            current = JobStatus(row[6])
            if not current.can_move_to(statuses[0]):
                if not strict:
                    return None
                raise JobStateError(_illegal(job_id, current, statuses[0]))
            conn.execute(_update_sql(statuses, payload is not None), params)
        record = _record(row)
        record.status = final
        record.timestamps.update((s.value, now) for s in statuses)
        if error is not None:
            record.error = error
        return record

    def _enqueue(self, record: JobRecord) -> None:
        """Move a ``created`` job to ``queued`` (stamping ``submitted`` too) in one write, adding it if absent."""
        try:
            if self._move(record.id, (JobStatus.SUBMITTED, JobStatus.QUEUED), strict=False) is not None:
                return
            status = self.get(record.id).status
        except JobNotFoundError:
            status = record.status
            if status is JobStatus.CREATED:
                now = time.time()
                self._insert(record, JobStatus.QUEUED, {**record.timestamps, "submitted": now, "queued": now})
                return
        raise JobStateError(f"Cannot submit job {record.id!r}: it is {status.value}; only created jobs can be submitted.")

    def get(self, job_id: str) -> JobRecord:
        """The stored record with its results.

        Raises:
            JobNotFoundError: no such job; the message names the id and the store.
        """
        with self._connection() as conn:
            row = conn.execute(_SELECT_FULL + " WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise self._not_found(job_id)
        return _full_record(row)

    def list(
        self,
        *,
        device: str | None = None,
        family: str | None = None,
        status: JobStatus | str | Iterable[JobStatus | str] | None = None,
    ) -> list[JobRecord]:
        """Stored records with their results, oldest first, filtered by any of the arguments.

        Args:
            device: only jobs on this device.
            family: only jobs of this family.
            status: only jobs in this status (or in any of these statuses).

        Raises:
            JobStateError: a status value is unknown.
        """
        where, params = [], []
        if device is not None:
            where.append("device = ?")
            params.append(device)
        if family is not None:
            where.append("family = ?")
            params.append(family)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            values = [JobStatus(s).value for s in wanted]
            where.append(f"status IN ({', '.join('?' * len(values))})")
            params += values
        sql = _SELECT_FULL + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_full_record(row) for row in rows]

    def delete(self, job_id: str) -> None:
        """Remove a job that is not active (``created`` or finished).

        Raises:
            JobNotFoundError: no such job.
            JobStateError: the job is submitted, queued or running; cancel it first.
        """
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise self._not_found(job_id)
            if JobStatus(row[0]) in _ACTIVE:
                raise JobStateError(f"Cannot delete job {job_id!r}: it is {row[0]}; cancel it first.")
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def df(self) -> pd.DataFrame:
        """One row per job, oldest first: ids, status, times (UTC) and errors, without results.

        >>> store = JobStore(":memory:")
        >>> store.add(JobRecord.new("qpu", "ideal", id="a"))
        >>> list(store.df().columns)
        ['id', 'family', 'device', 'status', 'created', 'submitted', 'queued', 'running', 'finished', 'error']
        """
        columns = ["id", "family", "device", "status", "created", "submitted", "queued", "running", "finished", "error"]
        sql = (
            "SELECT id, family, device, status, t_created, t_submitted, t_queued, t_running, "
            "COALESCE(t_done, t_canceled, t_failed), error FROM jobs" + _ORDER
        )
        with self._connection() as conn:
            rows = conn.execute(sql).fetchall()
        table = pd.DataFrame.from_records(rows, columns=columns)
        for name in columns[4:9]:
            table[name] = pd.to_datetime(table[name].astype("float64"), unit="s", utc=True)
        return table

    def recover(self) -> list[str]:
        """Fail the jobs a dead process left active; return their ids.

        A job that is ``submitted``, ``queued`` or ``running`` and whose
        owner process (recorded with each of those moves) no longer runs on
        this host becomes ``failed`` with the error ``"interrupted"``. Jobs of
        live processes, and of other hosts, are left alone. Runs when a store
        opens a file; call it again at any time.
        """
        if self.path == MEMORY:
            return []
        alive: dict[tuple, bool] = {}
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id, owner_host, owner_pid, owner_start FROM jobs WHERE status IN (?, ?, ?)",
                [s.value for s in _ACTIVE],
            ).fetchall()
            dead = []
            for job_id, host, pid, start in rows:
                key = (host, pid, start)
                if key not in alive:
                    alive[key] = pid is not None and owner.is_alive(owner.Owner(host, pid, start))
                if not alive[key]:
                    dead.append(job_id)
            conn.executemany(
                "UPDATE jobs SET status = ?, t_failed = ?, error = ? WHERE id = ?",
                [(JobStatus.FAILED.value, time.time(), "interrupted", job_id) for job_id in dead],
            )
        return dead

    def close(self) -> None:
        """Close the connection (again is fine); the file stays."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _illegal(job_id: str, current: JobStatus, target: JobStatus) -> str:
    if current.finished:
        return f"Cannot move job {job_id!r} from {current.value} to {target.value}: a finished job never changes."
    allowed = ", ".join(s.value for s in _STATUSES if current.can_move_to(s))
    return f"Cannot move job {job_id!r} from {current.value} to {target.value} (allowed from {current.value}: {allowed})."


_default: JobStore | None = None
_default_pid = 0
_default_lock = threading.Lock()


def default_store() -> JobStore:
    """The process-wide store at :meth:`JobStore.default_path`, opened on first use.

    A new one is opened after :meth:`JobStore.close` or in a forked child.
    """
    global _default, _default_pid
    with _default_lock:
        if _default is None or _default.closed or _default_pid != os.getpid():
            _default = JobStore()
            _default_pid = os.getpid()
        return _default


def df() -> pd.DataFrame:
    """``default_store().df()``: the table of every job in the default store."""
    return default_store().df()
