"""The embedded job store: one SQLite file (WAL) that outlives the kernel.

Every status change is one short transaction that stamps the time the job
entered the new status; results and the ``done`` status are written in the
same transaction, so a reader never sees half of a result. WAL mode with
``synchronous=NORMAL`` keeps every committed change across a killed process
(only a power cut may lose the last moments).

Jobs left ``submitted``, ``queued`` or ``running`` by a process that died
are marked ``failed`` with the error ``"interrupted"`` when a store opens the
file and whenever someone waits on them (see :meth:`JobStore.recover`). A
process that owns active jobs holds a lease in the store, renewed by a
background thread; a job whose owner's pid is gone (same host and pid
namespace) or whose lease expired (any host) counts as interrupted. Jobs are
not re-run: a job may have had side effects, so resubmitting is the user's
choice.

Stored results carry a SHA-256 checksum that is checked when they are read;
a damaged record raises :class:`~qlab.exceptions.JobStoreError` instead of
returning wrong numbers. Every SQLite or file-system failure (a full disk, a
read-only directory, a damaged file, a closed store) is raised as
``JobStoreError`` with the cause. A store whose file cannot be written is
opened read-only, so old results stay readable.

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
import hashlib
import logging
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
from ..exceptions import AmbiguousJobIdError, JobNotFoundError, JobStateError, JobStoreError
from .record import JobRecord, JobStatus
from .serialize import decode_parameters, decode_results, encode_parameters, encode_results

__all__ = ["JobStore", "default_store", "df"]

MEMORY = ":memory:"
_SCHEMA_VERSION = 2
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
    owner_start TEXT,
    owner_ns TEXT,
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS leases (owner TEXT PRIMARY KEY, expires REAL NOT NULL);
"""
_MIGRATIONS = {
    1: "ALTER TABLE jobs ADD COLUMN owner_ns TEXT; ALTER TABLE jobs ADD COLUMN checksum TEXT; "
    "CREATE TABLE IF NOT EXISTS leases (owner TEXT PRIMARY KEY, expires REAL NOT NULL);",
}
LEASE = 15.0
"""Seconds an owner's lease lasts; it is renewed every third of that while the store is open."""
_log = logging.getLogger(__name__)
_HEAD = f"id, family, device, program, program_format, parameters, status, {_TIME_COLUMNS}, error"
_SELECT_ONE = f"SELECT {_HEAD} FROM jobs WHERE id = ?"
_SELECT_FULL = f"SELECT {_HEAD}, results, arrays, checksum FROM jobs"
_INSERT_COLUMNS = f"{_HEAD}, results, arrays, checksum, owner_host, owner_pid, owner_start, owner_ns".split(", ")
_INSERT = f"INSERT INTO jobs ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
_ACTIVE = (JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING)
_ORDER = " ORDER BY t_created, seq"


@functools.lru_cache(maxsize=None)
def _update_sql(statuses: tuple[JobStatus, ...], with_results: bool) -> str:
    sets = ["status = ?", *(f"t_{s.value} = ?" for s in statuses), "error = COALESCE(?, error)"]
    if with_results:
        sets += ["results = ?", "arrays = ?", "checksum = ?"]
    if not statuses[-1].finished:
        sets += ["owner_host = ?", "owner_pid = ?", "owner_start = ?", "owner_ns = ?"]
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


def _checksum(text: str, blob: bytes | None) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(blob or b"")
    return digest.hexdigest()


def _full_record(row: tuple) -> JobRecord:
    text, blob, checksum = row[-3], row[-2], row[-1]
    if text is None:
        return _record(row)
    if checksum is not None and _checksum(text, blob) != checksum:
        raise JobStoreError(
            f"The stored results of job {row[0]!r} are damaged (their checksum does not match); they are not "
            "returned. Rerun the job, or restore the store file from a backup."
        )
    try:
        results = decode_results(text, blob)
    except (ValueError, TypeError, OSError) as err:
        raise JobStoreError(f"The stored results of job {row[0]!r} cannot be read ({err}); rerun the job.") from err
    return _record(row, results)


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

        lease: seconds an owner's lease lasts (see :data:`LEASE`).

    Raises:
        JobStoreError: the file cannot be opened or was written by an
            incompatible qlab.

    One connection serves all threads of the process, guarded by a lock.
    Opening a file runs :meth:`recover`. A file that cannot be written (a
    read-only directory or file) is opened read-only: :attr:`readonly` is
    True, reads work and every write raises ``JobStoreError``.

    >>> with JobStore(":memory:") as store:
    ...     store.add(JobRecord.new("emulator", "sim", id="a"))
    ...     [r.id for r in store.list(status="created")]
    ['a']
    """

    def __init__(self, path: str | os.PathLike | None = None, *, lease: float = LEASE):
        if path is None:
            path = self.default_path()
        self.path: Path | str = MEMORY if str(path) == MEMORY else Path(path).expanduser()
        """The database file, or ``":memory:"``."""
        if isinstance(lease, bool) or not isinstance(lease, (int, float)) or not lease > 0:
            raise QlabTypeError(f"JobStore(lease=...) must be a positive number of seconds, got {lease!r}.")
        self.lease = float(lease)
        """Seconds an owner's lease lasts."""
        self.readonly = False
        """Whether the file could only be opened for reading."""
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._heartbeat: threading.Thread | None = None
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
        conn = None
        try:
            if target != MEMORY and not self.path.exists():  # type: ignore[union-attr]
                self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            conn = sqlite3.connect(target, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;")
            elif version in _MIGRATIONS:
                conn.executescript(f"BEGIN IMMEDIATE; {_MIGRATIONS[version]} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;")
                version = _SCHEMA_VERSION
        except (OSError, sqlite3.Error) as err:
            if conn is not None:
                conn.close()
            readonly = self._open_readonly(err) if target != MEMORY and self.path.exists() else None  # type: ignore[union-attr]
            if readonly is None:
                raise JobStoreError(f"Cannot open the job store at {target}: {err}.") from err
            conn, version = readonly
        if version not in (0, _SCHEMA_VERSION):
            conn.close()
            raise JobStoreError(
                f"Cannot open the job store at {target}: it has schema version {version}, "
                f"this qlab reads version {_SCHEMA_VERSION}; use a matching qlab or another file."
            )
        return conn

    def _open_readonly(self, cause: Exception) -> tuple[sqlite3.Connection, int] | None:
        """Open a file that cannot be written for reading (None if it cannot be read either)."""
        uri = self.path.resolve().as_uri()  # type: ignore[union-attr]
        for mode in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(f"{uri}?{mode}", uri=True, isolation_level=None, check_same_thread=False)
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
            except sqlite3.Error:
                continue
            self.readonly = True
            self._readonly_cause = f"{cause}"
            return conn, version
        return None

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
            try:
                yield self._conn
            except (sqlite3.Error, OSError) as err:
                if self.readonly:
                    raise JobStoreError(
                        f"{self!r} is read-only (it was opened read-only because {self._readonly_cause}): {err}."
                    ) from err
                raise JobStoreError(f"{self!r} failed: {type(err).__name__}: {err}.") from err

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _claim(self, conn: sqlite3.Connection, me: owner.Owner) -> None:
        """Take or renew this process's lease (inside a write), and keep it renewed while the store is open."""
        if self.path == MEMORY:
            return
        conn.execute("INSERT OR REPLACE INTO leases (owner, expires) VALUES (?, ?)", (me.key, time.time() + self.lease))
        if self._heartbeat is None or not self._heartbeat.is_alive() or self._heartbeat_pid != me.pid:
            self._heartbeat_pid = me.pid
            self._heartbeat = threading.Thread(target=self._renew, args=(me,), name="qlab-jobs-lease", daemon=True)
            self._heartbeat.start()

    def _renew(self, me: owner.Owner) -> None:
        while not self._closing.wait(self.lease / 3):
            try:
                with self._connection() as conn:
                    conn.execute("UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + self.lease, me.key))
            except JobStoreError as err:
                if self.closed:
                    return
                _log.warning("Could not renew the lease of this process in %r: %s", self, err)

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
        checksum = None if text is None else _checksum(text, blob)
        row = (record.id, record.family, record.device, record.program, record.program_format, parameters,
               status.value, *times, record.error, text, blob, checksum, me.host, me.pid, me.start, me.namespace)  # fmt: skip
        with self._transaction() as conn:
            try:
                conn.execute(_INSERT, row)
            except sqlite3.IntegrityError as err:
                raise JobStateError(f"Cannot add job {record.id!r} to {self!r}: a job with this id is already stored.") from err
            if status in _ACTIVE:
                self._claim(conn, me)

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
            params += (*payload, _checksum(*payload))
        me = owner.current()
        if not final.finished:
            params += (me.host, me.pid, me.start, me.namespace)
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
            if not final.finished:
                self._claim(conn, me)
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

    def resolve(self, prefix: str) -> str:
        """The full id of the one stored job whose id is ``prefix`` or starts with it (as git takes short hashes).

        Raises:
            JobNotFoundError: no id starts with ``prefix``.
            AmbiguousJobIdError: several do; the message lists them.

        >>> store = JobStore(":memory:")
        >>> for name in ("a1b2", "a1c3"):
        ...     store.add(JobRecord.new("qdmi", "ideal", id=name))
        >>> store.resolve("a1b")
        'a1b2'
        >>> store.resolve("a1")
        Traceback (most recent call last):
        ...
        qlab.exceptions.AmbiguousJobIdError: Job id 'a1' is ambiguous in JobStore(':memory:'): it starts 2 job ids (a1b2, a1c3); give more characters.
        """
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._connection() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (prefix,)).fetchone():
                return prefix
            rows = conn.execute(
                "SELECT id FROM jobs WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 11", (escaped + "%",)
            ).fetchall()
        ids = [row[0] for row in rows if row[0].startswith(prefix)]
        if not ids:
            raise self._not_found(prefix)
        if len(ids) > 1:
            shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
            raise AmbiguousJobIdError(
                f"Job id {prefix!r} is ambiguous in {self!r}: it starts {len(ids) if len(ids) <= 10 else 'more than 10'} "
                f"job ids ({shown}); give more characters."
            )
        return ids[0]

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
        """One row per job, oldest first: ids, status, shots, program, tag, times (UTC) and errors, without results.

        ``program`` is the job's ``name`` parameter when it has one, else the
        first line of its program that is not an ``OPENQASM`` header or an
        ``include`` (cut at 60 characters). ``shots`` and ``tag`` are the job
        parameters of those names. Times are ``datetime64`` in UTC.

        >>> store = JobStore(":memory:")
        >>> store.add(JobRecord.new("qpu", "ideal", "OPENQASM 3.0;\\nqubit q;", "qasm3", {"shots": 5}, id="a"))
        >>> list(store.df().columns)
        ['id', 'family', 'device', 'status', 'shots', 'program', 'tag', 'created', 'submitted', 'queued', 'running', 'finished', 'error']
        >>> print(store.df().loc[0, ["shots", "program"]].to_dict())
        {'shots': 5, 'program': 'qubit q;'}
        """
        columns = ["id", "family", "device", "status", "shots", "program", "tag", "created", "submitted", "queued",
                   "running", "finished", "error"]
        sql = (
            "SELECT id, family, device, status, json_extract(parameters, '$.shots'), substr(program, 1, 4000), "
            "json_extract(parameters, '$.tag'), t_created, t_submitted, t_queued, t_running, "
            "COALESCE(t_done, t_canceled, t_failed), error, json_extract(parameters, '$.name') FROM jobs" + _ORDER
        )
        with self._connection() as conn:
            rows = conn.execute(sql).fetchall()
        rows = [(*row[:5], row[13] if isinstance(row[13], str) else _program_line(row[5]), *row[6:13]) for row in rows]
        table = pd.DataFrame.from_records(rows, columns=columns)
        table["shots"] = table["shots"].astype("Int64")
        for name in columns[7:12]:
            table[name] = pd.to_datetime(table[name].astype("float64"), unit="s", utc=True)
        return table

    def recover(self, ids: Iterable[str] | None = None) -> list[str]:
        """Fail the jobs whose owner is gone; return their ids.

        A job that is ``submitted``, ``queued`` or ``running`` becomes
        ``failed`` with the error ``"interrupted"`` when its owner process no
        longer runs (judged by pid only on this host and in this pid
        namespace; a zombie counts as gone) or its owner's lease in this
        store expired (any host). Jobs of live owners are left alone. Runs
        when a store opens a file and while a QDMI job is waited for; call it
        again at any time.

        Args:
            ids: look at these jobs only (default: every active job).
        """
        if self.path == MEMORY or self.readonly:
            return []
        wanted = None if ids is None else list(ids)
        alive: dict[tuple, bool] = {}
        now = time.time()
        sql = (
            "SELECT jobs.id, owner_host, owner_pid, owner_start, owner_ns, leases.expires FROM jobs "
            "LEFT JOIN leases ON leases.owner = owner_host || '|' || owner_pid || '|' || "
            "COALESCE(owner_start, 'None') || '|' || COALESCE(owner_ns, 'None') "
            "WHERE status IN (?, ?, ?)"
        )
        params: list[object] = [s.value for s in _ACTIVE]
        if wanted is not None:
            sql += f" AND jobs.id IN ({', '.join('?' * len(wanted))})"
            params += wanted
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        dead = []
        for job_id, host, pid, start, ns, expires in rows:
            key = (host, pid, start, ns)
            if key not in alive:
                alive[key] = pid is not None and owner.is_alive(owner.Owner(host, pid, start, ns))
            if not alive[key] or (expires is not None and expires < now):
                dead.append((job_id, *key))
        if not dead:
            return []
        with self._transaction() as conn:  # only jobs still active with the same owner: they may have moved on
            failed = []
            for job_id, *key in dead:
                changed = conn.execute(
                    "UPDATE jobs SET status = ?, t_failed = ?, error = ? WHERE id = ? AND status IN (?, ?, ?) "
                    "AND owner_host IS ? AND owner_pid IS ? AND owner_start IS ? AND owner_ns IS ?",
                    (JobStatus.FAILED.value, now, "interrupted", job_id, *[s.value for s in _ACTIVE], *key),
                ).rowcount
                if changed:
                    failed.append(job_id)
        return failed

    def close(self) -> None:
        """Close the connection (again is fine); the file stays."""
        self._closing.set()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _program_line(program: str) -> str:
    """The line that names a program in tables: the first that is not an OPENQASM header or include."""
    lines = [line.strip() for line in program.splitlines() if line.strip()]
    body = [line for line in lines if not line.startswith(("OPENQASM", "include"))]
    line = (body or lines or [""])[0]
    return line if len(line) <= 60 else line[:59] + "…"


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
