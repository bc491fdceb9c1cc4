"""Serving a QPU over HTTP with JSON bodies (:mod:`qlab.qpu.wire`), on Python's ``http.server``.

Server types (as in myQLM's ``QPUHandler.serve``):

==============  ===============================================================
``"simple"``    one connection at a time, one request per connection (default)
``"threaded"``  a thread per connection; connections are kept alive
``"pool"``      at most 10 threads; one request per connection, so a waiting
                client is never stuck behind an idle one
``"fork"``      a process per connection (POSIX); connections are kept alive
==============  ===============================================================

Every request is checked before it is read: the bearer token (a missing or
wrong token is refused with 401 and logged on ``qlab.qpu.server``), the
endpoint, and ``Content-Length`` against ``max_request_bytes``. A body that
stops short (the client stalls for ``timeout`` seconds or disconnects) is
answered with a structured error if the client is still there; the server
keeps serving in every case. ``stop()`` stops accepting, ends idle
keep-alive connections, lets running requests finish, and joins the
server's threads (waits for forked children).

>>> from qlab import Circuit
>>> from qlab.qpu import DensityMatrixQPU, Job, RemoteQPU
>>> with DensityMatrixQPU().serve(0, background=True) as server:
...     RemoteQPU(server.port).submit(Job(Circuit(1).x(0))).probabilities
{'1': 1.0}
"""

from __future__ import annotations

import hmac
import http.server
import json
import logging
import os
import signal
import socket
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor

from ..exceptions import AuthenticationError, QlabError, QlabTypeError, WireFormatError
from .data import Batch
from .resources import AllocationModel, check_limits
from .schema import check_schema, field
from .wire import ENDPOINTS, encode, error_body, status_of

__all__ = ["serve", "QPUServer", "SERVER_TYPES", "MAX_REQUEST_BYTES"]

_log = logging.getLogger(__name__)

SERVER_TYPES = ("simple", "threaded", "pool", "fork")
"""The server types :func:`serve` accepts."""

MAX_REQUEST_BYTES = 16 * 2**20
"""The default request size limit (16 MiB)."""

DRAIN_BYTES = 64 * 2**20
"""An oversized body up to this size is read and dropped before the 413 answer; a larger one is not read."""

LISTEN_BACKLOG = 128
"""Connections the OS queues before the server accepts them (socketserver's default, 5, drops bursts)."""

POOL_THREADS = 10
"""How many requests a ``"pool"`` server runs at once."""


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection: reads requests, answers each with JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "qlab-qpu/1"
    disable_nagle_algorithm = True  # answers go out at once, not after the client's delayed ACK

    def setup(self) -> None:
        self.timeout = self.server.qpu_server.timeout
        super().setup()
        self.server.qpu_server._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.qpu_server._track(self.connection, False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        _log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._reply(405, encode({"error": {"type": "WireFormatError",
                                           "message": f"Use POST for {self.path!r}; endpoints: {_endpoint_list()}."}}))

    def do_POST(self) -> None:
        owner = self.server.qpu_server
        if not owner.keep_alive:
            self.close_connection = True
        try:
            endpoint = self._endpoint()
            self._authenticate(owner)
            body = self._read_body(owner.max_request_bytes)
            answer = owner._answer(endpoint, body)
        except QlabError as err:
            self._reply(status_of(err) if not isinstance(err, _HttpError) else err.status, error_body(err))
            return
        except Exception as err:  # a server failure: answered, logged, and the server keeps serving
            _log.exception("QPU server failed on %s from %s", self.path, self.address_string())
            self._reply(500, error_body(err))
            return
        self._reply(200, answer)

    def _endpoint(self) -> str:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] != "v1" or parts[1] not in ENDPOINTS:
            self.close_connection = True
            raise _HttpError(404, f"Unknown endpoint {self.path!r}; this server answers {_endpoint_list()}.")
        return parts[1]

    def _authenticate(self, owner: QPUServer) -> None:
        if owner.token is None:
            return
        given = self.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), owner.token.encode()):
            self.close_connection = True
            _log.warning("Refused %s from %s: %s bearer token", self.path, self.address_string(),
                         "missing" if not given else "wrong")
            raise AuthenticationError(
                "The QPU server refused the call: " + ("no bearer token was sent" if not given else "the bearer token is wrong")
                + "; give RemoteQPU(..., token=...) the server's token."
            )

    def _read_body(self, limit: int) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise _HttpError(411, "The request has no Content-Length header; send the JSON body with its length.")
        try:
            size = int(length)
            if size < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise _HttpError(400, f"Invalid Content-Length {length!r}: expected a non-negative integer.") from None
        if size > limit:
            self.close_connection = True
            if size <= DRAIN_BYTES:  # read and drop it, so the client gets the answer rather than a reset connection
                self._discard(size)
            raise _HttpError(413, f"The request body has {size:,} bytes, more than this server's limit of {limit:,} bytes; "
                                  "split the batch into smaller ones.")
        body = b""
        try:
            while len(body) < size:
                chunk = self.rfile.read(size - len(body))
                if not chunk:
                    break
                body += chunk
        except (TimeoutError, socket.timeout, OSError):
            pass
        if len(body) < size:
            self.close_connection = True
            raise WireFormatError(f"The request body is truncated: got {len(body):,} of {size:,} bytes.")
        return body

    def _discard(self, size: int) -> None:
        try:
            while size > 0:
                chunk = self.rfile.read(min(size, 1 << 16))
                if not chunk:
                    return
                size -= len(chunk)
        except OSError:
            return

    def _reply(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError as err:  # the client went away; nothing to answer
            _log.info("Could not answer %s: %s", self.address_string(), err)
            self.close_connection = True


class _HttpError(WireFormatError):
    """A wire-format error with its own HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _endpoint_list() -> str:
    return ", ".join(f"POST /v1/{e}" for e in ENDPOINTS)


class _Simple(http.server.HTTPServer):
    """One connection at a time; waiting connections queue in the listen backlog."""

    request_queue_size = LISTEN_BACKLOG


class _Threaded(http.server.ThreadingHTTPServer):
    """A thread per connection; ``server_close`` joins them (idle ones are woken by ``stop``)."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = False
    block_on_close = True


class _Pool(http.server.HTTPServer):
    """Requests run on a pool of at most :data:`POOL_THREADS` threads."""

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="qlab-qpu-pool")

    def process_request(self, request, client_address) -> None:
        self._pool.submit(self._work, request, client_address)

    def _work(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=True)


_CLASSES = {"simple": _Simple, "threaded": _Threaded, "pool": _Pool}
if hasattr(os, "fork"):
    class _Forking(socketserver.ForkingMixIn, http.server.HTTPServer):
        """A process per connection; ``SIGUSR1`` asks a child to finish its request and leave."""

        request_queue_size = LISTEN_BACKLOG

        def finish_request(self, request, client_address) -> None:  # runs in the child
            signal.signal(signal.SIGUSR1, lambda *_: _shut_read(request))
            super().finish_request(request, client_address)

        def wind_down(self) -> None:
            """Ask every child to stop reading requests (a running one still answers)."""
            for pid in list(self.active_children or ()):
                try:
                    os.kill(pid, signal.SIGUSR1)
                except ProcessLookupError:
                    pass

    _CLASSES["fork"] = _Forking


def _shut_read(conn: socket.socket) -> None:
    """End the reading side of a connection: an idle keep-alive reader sees end-of-file, replies still go out."""
    try:
        conn.shutdown(socket.SHUT_RD)
    except OSError:
        pass


class QPUServer:
    """A QPU behind an HTTP server; build it with :meth:`QPUHandler.serve` or :func:`serve`.

    Use it as a context manager, or call :meth:`stop`.
    """

    def __init__(self, qpu, port: int, host_ip: str = "localhost", server_type: str | None = None, *,
                 token: str | None = None, max_request_bytes: int = MAX_REQUEST_BYTES, timeout: float = 30.0):
        from .handler import QPUHandler

        if not isinstance(qpu, QPUHandler):
            raise QlabTypeError(f"Only a QPUHandler can be served, got {type(qpu).__name__}.")
        server_type = "simple" if server_type is None else server_type
        if server_type not in SERVER_TYPES:
            raise WireFormatError(f"Unknown server_type {server_type!r}; allowed: {', '.join(SERVER_TYPES)}.")
        if server_type not in _CLASSES:
            raise WireFormatError("server_type 'fork' needs os.fork, which this platform lacks; use 'threaded'.")
        if server_type == "fork" and not qpu.fork_safe:
            raise WireFormatError(
                f"{qpu!r} cannot be served with server_type 'fork': a forked process would not have its worker "
                "threads (job queues, Dask clients); use 'threaded' or 'pool'."
            )
        if token is not None and (not isinstance(token, str) or not token):
            raise QlabTypeError("token must be a non-empty str or None.")
        if isinstance(max_request_bytes, bool) or not isinstance(max_request_bytes, int) or max_request_bytes < 1:
            raise WireFormatError(f"max_request_bytes must be a positive int, got {max_request_bytes!r}.")
        self.qpu = qpu
        """The QPU that answers."""
        self.server_type = server_type
        """``"simple"``, ``"threaded"``, ``"pool"`` or ``"fork"``."""
        self.token = token
        self.max_request_bytes = max_request_bytes
        """Larger request bodies are refused (413) without being read."""
        self.timeout = timeout
        """Seconds a connection may stay silent (mid-body or between keep-alive requests)."""
        self.keep_alive = server_type in ("threaded", "fork")
        """Whether connections serve several requests."""
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop_running = threading.Event()
        self._server = _CLASSES[server_type]((host_ip, port), _Handler)
        self._server.qpu_server = self
        self._stopped = False

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose when 0 was asked)."""
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server accepts connections."""
        return not self._stopped

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<QPUServer {self.server_type} {self.url} {state}, qpu={self.qpu!r}>"

    # ------------------------------------------------------------ lifetime
    def start(self) -> QPUServer:
        """Serve in a background thread; return at once."""
        self._thread = threading.Thread(target=self._loop, name=f"qlab-qpu-server-{self.port}", daemon=True)
        self._loop_running.set()  # before the thread runs: a stop() right away must still end the loop
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._loop_running.clear()

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (from another thread) or Ctrl-C."""
        self._loop_running.set()
        try:
            self._loop()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop accepting, close idle connections, let running requests finish, release the port."""
        if self._stopped:
            return
        self._stopped = True
        if self._loop_running.is_set():
            self._server.shutdown()  # returns once the serving loop (in whichever thread) has ended
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _shut_read(conn)
        if hasattr(self._server, "wind_down"):
            self._server.wind_down()
        self._server.server_close()

    def __enter__(self) -> QPUServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ requests
    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def _answer(self, endpoint: str, body: bytes) -> bytes:
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, ValueError) as err:
            raise WireFormatError(f"The request body is not valid JSON: {err}.") from err
        except RecursionError:
            raise WireFormatError("The request body nests JSON too deeply.") from None
        request = check_schema(request, f"the {endpoint} request")
        if endpoint == "specs":
            return encode({"specs": self.qpu.get_specs().to_dict()})
        batch = Batch.from_dict(field(request, "batch", dict, f"the {endpoint} request"))
        if endpoint == "estimate":
            return encode({"resources": self.qpu.estimate_resources_for_batch(batch).to_dict()})
        limits = field(request, "limits", (dict, type(None)), "the submit request", None)
        if limits is not None:
            client = AllocationModel.from_dict(limits)
            check_limits(self.qpu.estimate_resources_for_batch(batch), client.tighter(self.qpu.limits))
        return encode({"batch_result": self.qpu.submit(batch).to_dict()})


def serve(qpu, port: int, host_ip: str = "localhost", server_type: str | None = None, *, token: str | None = None,
          background: bool = False, max_request_bytes: int = MAX_REQUEST_BYTES, timeout: float = 30.0) -> QPUServer:
    """Run ``qpu`` inside a server on ``host_ip:port`` (``port=0``: any free port).

    Args:
        qpu: the QPU (any :class:`~qlab.qpu.QPUHandler`, plugin stacks included).
        port: the TCP port.
        host_ip: the address to listen on (default ``"localhost"``).
        server_type: ``"simple"`` (default), ``"threaded"``, ``"pool"`` or ``"fork"``.
        token: if given, every call must carry ``Authorization: Bearer <token>``.
        background: return a running :class:`QPUServer` at once instead of serving
            in this thread until stopped (Ctrl-C stops a foreground server).
        max_request_bytes: the request size limit.
        timeout: seconds a connection may stay silent.

    Returns:
        The server (stopped, when it ran in the foreground).
    """
    server = QPUServer(qpu, port, host_ip, server_type, token=token, max_request_bytes=max_request_bytes, timeout=timeout)
    if background:
        return server.start()
    server.serve_forever()
    return server
