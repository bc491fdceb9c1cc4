"""``RemoteQPU``: a QPU served elsewhere, used like a local one (plugins stack on it).

Each thread keeps one HTTP connection to the server (kept alive when the
server allows it). When a kept-alive connection turns out to be closed by the
server, the call is sent once more on a fresh connection (a job may then run
twice on the server; QPU jobs have no side effects there beyond a
:class:`~qlab.qpu.DeviceQPU`'s job record). A server-side error comes back as the same qlab
exception type with the same message (:func:`qlab.qpu.wire.error_from_wire`).

>>> from qlab.qpu import RemoteQPU
>>> RemoteQPU(1, timeout=2).get_specs()
Traceback (most recent call last):
...
qlab.exceptions.RemoteQPUError: Cannot reach the QPU server at http://localhost:1/v1/specs: ...
"""

from __future__ import annotations

import http.client
import json
import socket
import threading

from ..exceptions import QlabTypeError, RemoteQPUError, WireFormatError
from .data import Batch, BatchResult, Job, Result
from .handler import QPUHandler
from .resources import ResourceModel
from .schema import check_schema, field
from .specs import HardwareSpecs
from .wire import encode, error_from_wire

__all__ = ["RemoteQPU"]

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class _Connection(http.client.HTTPConnection):
    """An HTTP connection that sends headers and body without waiting for ACKs (no Nagle delay)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RemoteQPU(QPUHandler):
    """A client of a QPU server (:meth:`QPUHandler.serve`).

    Args:
        port: the server's port.
        host: the server's host name or address.
        token: the bearer token, when the server has one.
        timeout: seconds to wait for the server to answer one call.
        plugins: plugins applied here, before the batch is sent.

    Resource limits set with :meth:`apply_resource_consumption_limits` travel
    with each batch; the server checks them (together with its own) before
    it runs anything.
    """

    def __init__(self, port: int, host: str = "localhost", token: str | None = None, *, timeout: float = 300.0,
                 plugins=None):
        super().__init__(plugins)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise QlabTypeError(f"RemoteQPU port must be an int in 1..65535, got {port!r}.")
        self.port = port
        """The server's port."""
        self.host = host
        """The server's host."""
        self._token = token
        self.timeout = timeout
        """Seconds to wait for one answer."""
        self._local = threading.local()

    def _repr_args(self) -> str:
        token = ", token=..." if self._token else ""
        return f"{self.port}, host={self.host!r}{token}"

    # ------------------------------------------------------------ calls
    def submit_job(self, job: Job) -> Result:
        return self._run_batch(Batch([job])).results[0]

    def _run_batch(self, batch: Batch) -> BatchResult:
        limits = None if self._limits is None else self._limits.to_dict()
        answer = self._call("submit", {"batch": batch.to_dict(), "limits": limits})
        return BatchResult.from_dict(field(answer, "batch_result", dict, "the server's answer"))

    def _check_limits(self, batch: Batch) -> None:
        """Limits travel with the batch; the server checks them before running anything."""

    def get_specs(self) -> HardwareSpecs:
        return HardwareSpecs.from_dict(field(self._call("specs", {}), "specs", dict, "the server's answer"))

    def _estimate(self, batch: Batch) -> ResourceModel:
        answer = self._call("estimate", {"batch": batch.to_dict()})
        return ResourceModel.from_dict(field(answer, "resources", dict, "the server's answer"))

    # ------------------------------------------------------------ transport
    def _connection(self) -> tuple[_Connection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        conn = _Connection(self.host, self.port, timeout=self.timeout)
        self._local.conn = conn
        return conn, False

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _call(self, endpoint: str, payload: dict) -> dict:
        body = encode(payload)
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        url = f"http://{self.host}:{self.port}/v1/{endpoint}"
        for attempt in (0, 1):
            conn, reused = self._connection()
            try:
                conn.request("POST", f"/v1/{endpoint}", body, headers)
                response = conn.getresponse()
                data = response.read()
            except _STALE as err:
                self._drop()
                if reused and attempt == 0:  # the server closed an idle keep-alive connection: reconnect once
                    continue
                raise RemoteQPUError(f"The QPU server at {url} dropped the connection: {err!r}.") from err
            except OSError as err:
                self._drop()
                raise RemoteQPUError(f"Cannot reach the QPU server at {url}: {err}.") from err
            if response.will_close:
                self._drop()
            break
        try:
            answer = json.loads(data)
        except ValueError as err:
            raise WireFormatError(f"The QPU server at {url} answered {response.status} with a body that is not "
                                  f"JSON: {data[:200]!r}.") from err
        answer = check_schema(answer, f"the server's answer from {url}")
        if response.status != 200:
            raise error_from_wire(answer.get("error"))
        return answer
