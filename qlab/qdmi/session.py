"""A QDMI session: credentials, the devices it sees, and the job store they share.

A session opens the built-in catalog (:mod:`qlab.devices.catalog`), any
descriptions it is given, and, when MQT Core is installed, the devices of
its QDMI driver (``mqt.ddsim.default``, ``mqt.sc.iqm.garnet``, ...; see
:mod:`qlab.qdmi.mqt`). Every device has one FIFO job queue; jobs and their
results go to the session's :class:`~qlab.jobs.JobStore` (the default,
persistent store unless ``store`` is given).

>>> with Session(store=":memory:", mqt=False) as session:
...     [d.id for d in session.devices]
['ideal', 'ion12', 'sc20', 'training5']
>>> Session(store=":memory:", mqt=False).device("nope")
Traceback (most recent call last):
...
qlab.qdmi.errors.NotFound: No device 'nope' in this session; it has ideal, ion12, sc20, training5.
"""

from __future__ import annotations

import difflib
import html
import os
import threading
from typing import Any
from collections.abc import Iterable, Mapping

import pandas as pd

from ..devices import DeviceDescription, device_ids, load_description, load_device
from ..exceptions import DeviceDescriptionError, JobStoreError
from ..jobs import JobStore, default_store
from .device import Device, Handles, _find
from .errors import BadState, Fatal, InvalidArgument, NotFound
from .local import LocalDevice
from .mqt import mqt_devices

__all__ = ["Session", "default_session", "device"]

_CUSTOM = ("custom1", "custom2", "custom3", "custom4", "custom5")


class Session:
    """The devices a client can use, and how to reach them.

    The session parameters are QDMI's. ``token``, ``auth_file``, ``username``
    and ``password`` are credentials: qlab's devices that require a token
    accept any of them, and they are passed on to MQT Core's driver.
    ``auth_url``, ``project_id`` and ``custom1`` .. ``custom5`` mean something
    only to MQT Core's driver; a session without its devices refuses them
    rather than ignoring them.

    Args:
        token: an access token; devices that require one refuse jobs without it.
        base_url: the endpoint of remote devices (kept, and reported; local devices
            do not use it).
        username: a user name (with ``password``, an alternative to a token).
        password: the password of ``username``.
        auth_file: a file holding credentials (it must exist and be readable;
            its first line counts as a token).
        auth_url: where MQT Core's driver authenticates.
        project_id: the project to account jobs to (MQT Core's driver).
        store: the job store: a :class:`~qlab.jobs.JobStore`, a file path,
            ``":memory:"``, or ``None`` for :func:`qlab.jobs.default_store`.
        workers: how many jobs run at once per device, for all devices (an int)
            or per device id (a mapping; others get 1).
        devices: more devices: descriptions or description files (JSON or TOML).
            Their ids must differ from the catalog's.
        mqt: whether to add the devices of MQT Core's QDMI driver: ``None``
            (default) adds them when ``mqt-core`` is installed, ``True`` requires
            it, ``False`` leaves them out.
        executor: where the jobs of simulated devices (the catalog's and given
            descriptions) run: ``None`` (default) on each device's own threads, or a
            ``distributed.Client`` (or any ``concurrent.futures``-style executor).
            Only data travels (the description as JSON and the job record; see
            :mod:`qlab.qdmi.cluster`); a device then keeps as many jobs in flight as
            the executor has threads. MQT Core's devices always run in this process.
        **custom: the custom session parameters ``custom1`` .. ``custom5``
            (passed on to MQT Core's driver).

    Raises:
        InvalidArgument: a custom parameter other than ``custom1`` .. ``custom5``,
            a parameter that is not a str, an unreadable ``auth_file``, a parameter
            only MQT Core uses in a session without its devices, a bad ``workers``
            value, a device id given twice, or an ``executor`` without ``submit()``.
        NotSupported: ``mqt=True`` without ``mqt-core`` installed.
        Fatal: the job store cannot be opened (the message says why).

    >>> Session(store=":memory:", mqt=False, project_id="p1")
    Traceback (most recent call last):
    ...
    qlab.qdmi.errors.InvalidArgument: Session parameter project_id is used only by MQT Core's QDMI driver, and this session has none of its devices (mqt=False); leave it out or open the session with mqt=True.
    """

    def __init__(self, token: str | None = None, base_url: str | None = None, username: str | None = None,
                 password: str | None = None, *, store: JobStore | str | os.PathLike | None = None,
                 workers: int | Mapping[str, int] = 1,
                 devices: Iterable[DeviceDescription | str | os.PathLike] = (), mqt: bool | None = None,
                 auth_file: str | os.PathLike | None = None, auth_url: str | None = None, project_id: str | None = None,
                 executor: Any = None, **custom):
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise InvalidArgument(
                f"Session executor must have submit() (a distributed.Client or a concurrent.futures executor), "
                f"got {type(executor).__name__}."
            )
        self.executor = executor
        """Where simulated devices run their jobs (``None``: on their own threads)."""
        unknown = sorted(set(custom) - set(_CUSTOM))
        if unknown:
            raise InvalidArgument(
                f"Unknown session parameter {unknown[0]!r}; the parameters are token, base_url, username, password, "
                f"auth_file, auth_url, project_id and {', '.join(_CUSTOM)}."
            )
        for name, value in (("token", token), ("base_url", base_url), ("username", username), ("password", password),
                            ("auth_url", auth_url), ("project_id", project_id), *custom.items()):
            if value is not None and not isinstance(value, str):
                raise InvalidArgument(f"Session parameter {name} must be a str, got {type(value).__name__}.")
        self.auth_file = None if auth_file is None else _auth_file(auth_file)
        """The credentials file (or ``None``)."""
        self.auth_url = auth_url
        """Where MQT Core's driver authenticates (or ``None``)."""
        self.project_id = project_id
        """The project jobs are accounted to by MQT Core's driver (or ``None``)."""
        self.token = token
        """The access token (or ``None``)."""
        self.base_url = base_url
        """The endpoint given for remote devices (or ``None``)."""
        self.username = username
        """The user name (or ``None``)."""
        self._password = password
        self.custom = dict(custom)
        """The custom session parameters."""
        self._workers = workers
        self._closed = False
        self._devices: dict[str, Device] = {}
        descriptions = [load_device(i) for i in device_ids()] + [_description(d) for d in devices]
        for description in descriptions:
            self._add(LocalDevice(self, description, self._workers_for(description.id)))
        added = 0
        for device in mqt_devices(self, mqt):
            self._add(device)
            added += 1
        if not added:
            for name, value in (("auth_url", auth_url), ("project_id", project_id), *custom.items()):
                if value is not None:
                    raise InvalidArgument(
                        f"Session parameter {name} is used only by MQT Core's QDMI driver, and this session has none of "
                        f"its devices (mqt={mqt}); leave it out or open the session with mqt=True."
                    )
        unknown = sorted(set(workers) - set(self._devices)) if isinstance(workers, Mapping) else []
        if unknown:
            raise InvalidArgument(
                f"workers names device {unknown[0]!r}, which this session does not have; devices: {', '.join(self._devices)}."
            )
        self._own_store = store is not None and not isinstance(store, JobStore)
        try:
            self.store = default_store() if store is None else store if isinstance(store, JobStore) else JobStore(store)
            """Where this session's jobs and results live."""
        except JobStoreError as err:
            raise Fatal(f"Cannot open the session: the job store failed: {err}") from err

    @property
    def has_credentials(self) -> bool:
        """Whether the session carries a token, an auth file, or a user name and password."""
        return bool(self.token) or self.auth_file is not None or bool(self.username and self._password)

    def _workers_for(self, device_id: str) -> int:
        workers = self._workers.get(device_id, 1) if isinstance(self._workers, Mapping) else self._workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidArgument(f"workers for device {device_id!r} must be an int >= 1, got {workers!r}.")
        return workers

    def _add(self, device: Device) -> None:
        if device.id in self._devices:
            raise InvalidArgument(
                f"Device id {device.id!r} is already in the session; give the description another id "
                "(dataclasses.replace(description, id=...))."
            )
        self._devices[device.id] = device
        for child in device.child_devices:
            self._add(child)

    # ------------------------------------------------------------ devices
    @property
    def devices(self) -> Handles:
        """Every device of the session (children included)."""
        self._check_open()
        return Handles(self._devices.values())

    @property
    def device_ids(self) -> list[str]:
        """The ids of the session's devices."""
        return list(self._devices)

    def device(self, device_id: str) -> Device:
        """The device with id ``device_id``.

        Raises:
            NotFound: no such device (the message lists the ids).
        """
        self._check_open()
        try:
            return self._devices[device_id]
        except KeyError:
            close = difflib.get_close_matches(str(device_id), list(self._devices), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise NotFound(f"No device {device_id!r} in this session; it has {', '.join(self._devices)}.{hint}") from None

    def retrieve_job(self, job_id: str):
        """A job from the session's store by its id or a unique start of it, on whichever device ran it.

        Raises:
            NotFound: no such job, or its device is not in this session.
            InvalidArgument: the id is the start of several jobs' ids (the message lists them).
            PermissionDenied: its device needs a token the session lacks.
            Fatal: the job store cannot be read.
        """
        self._check_open()
        record = _find(self.store, job_id)
        if record.device not in self._devices:
            raise NotFound(f"Job {record.id!r} ran on device {record.device!r}, which this session does not have.")
        return self._devices[record.device].retrieve_job(record.id)

    def df(self) -> pd.DataFrame:
        """One row per device: its main properties."""
        return self.devices.df()

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.df().to_html(index=False)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._devices)} devices"
        return f"<Session {state}, store={self.store!r}>"

    # ------------------------------------------------------------ lifetime
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise BadState("The session is closed; open a new Session().")

    def close(self) -> None:
        """Stop the device queues (waiting jobs are canceled) and close a store the session opened."""
        if self._closed:
            return
        self._closed = True
        for device in self._devices.values():
            device._shutdown()
        if self._own_store:
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: Session | None = None
_default_lock = threading.Lock()


def default_session() -> Session:
    """The process-wide session on the default job store (with MQT Core's devices when installed), opened on first use.

    A new one is opened after it was closed.
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Session()
        return _default


def device(device_id: str) -> Device:
    """A device of :func:`default_session` by id: ``qlab.device("training5")``.

    Its jobs go to the default job store, so ``qlab.jobs.df()`` lists them.

    >>> import qlab
    >>> qlab.device("training5").qubits_num
    5

    Raises:
        NotFound: no such device (the message lists the ids).
    """
    return default_session().device(device_id)


def _auth_file(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidArgument(f"Session parameter auth_file must be a path, got {type(path).__name__}.")
    try:
        with open(path, encoding="utf-8") as handle:
            handle.readline()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgument(f"Session parameter auth_file {os.fspath(path)!r} cannot be read: {err}.") from err
    return os.fspath(path)


def _description(value) -> DeviceDescription:
    if isinstance(value, DeviceDescription):
        return value
    if isinstance(value, (str, os.PathLike)):
        try:
            return load_description(value)
        except DeviceDescriptionError as err:
            raise InvalidArgument(str(err)) from err
    raise InvalidArgument(f"Session(devices=...) takes descriptions or description files, got {type(value).__name__}.")
