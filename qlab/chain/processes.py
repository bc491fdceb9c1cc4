"""The host side of plugins in processes: launch, connect, watch, tear down.

The host listens on a Unix socket in a private temporary directory and
starts every plugin process at once (a script as ``python script.py
<address>``, a definition with a spec as ``python -m qlab.chain.worker
<address>``). Each process connects back and receives its configuration and
the sockets of its links; configurations go out backend first, each after the
plugin below reported ready, so ``initialize`` runs in DQCsim's order.

One reader thread watches every control socket and the processes' output:
log records and counters go to the :class:`~qlab.chain.host.HostInbox`, the
plugins' stdout and stderr become log lines (at info and warn), and a control socket that closes
without a stop means the process died: the simulation fails with the plugin's
name, its exit status and the end of its stderr, and the other processes are
killed. Nothing waits for ever.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import msgpack

from ..exceptions import ChainPluginError
from . import protocol as P
from .logs import LogLevel
from .sockets import BROKEN_LINK_EXIT
from .wire import FrameReader, decode_control, encode_control, frame

__all__ = ["ProcessChain"]

BLAME_GRACE = 1.0
"""Seconds to wait for the plugin at fault to be named before naming one that only lost a neighbour."""

STDERR_TAIL = 20
"""Lines of a dead plugin's stderr quoted in the error."""


class ProcessChain:
    """Launches and connects the plugin processes of a simulation.

    Args:
        records: the plugins (:class:`~qlab.chain.reproduction.PluginRecord`).
        args: per plugin, the runtime settings (index, name, seeds, log_level, init_cmds).
        inbox: the simulation's host inbox.
        timeout: seconds for every plugin to connect and initialise.
    """

    def __init__(self, records, args: list[dict], inbox, timeout: float):
        self.records = records
        self.args = args
        self.inbox = inbox
        self.timeout = timeout
        self.procs: list[subprocess.Popen] = []
        self.controls: list[socket.socket | None] = [None] * len(records)
        self.stderr_tail = [deque(maxlen=STDERR_TAIL) for _ in records]
        self.stopping = False
        self.closed = False
        self._released = False
        self._dir = tempfile.TemporaryDirectory(prefix="qlab-chain-")
        self.path = str(Path(self._dir.name) / "host.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(len(records))
        self._wake_r, self._wake_w = socket.socketpair()
        self.reader: threading.Thread | None = None

    # --------------------------------------------------------------- launch
    def _command(self, i: int) -> list[str]:
        address = f"{self.path}#{i}"
        record = self.records[i]
        if record.script is not None:
            return [sys.executable, record.script, address]
        return [sys.executable, "-m", "qlab.chain.worker", address]

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        for i in range(len(self.records)):
            self.procs.append(subprocess.Popen(
                self._command(i), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, start_new_session=True,
            ))
        deadline = time.monotonic() + self.timeout
        self._accept_all(deadline)
        links = [socket.socketpair() for _ in range(len(self.records) - 1)]
        self.reader = threading.Thread(target=self._read_loop, name="qlab-chain-reader", daemon=True)
        self.reader.start()
        for i in reversed(range(len(self.records))):
            fds = []
            if i > 0:
                fds.append(links[i - 1][1].fileno())
            if i + 1 < len(self.records):
                fds.append(links[i][0].fileno())
            a = self.args[i]
            record = self.records[i]
            config = {
                "name": a["name"], "seeds": a["seeds"], "log_level": a["log_level"].value,
                "init_cmds": [c.to_dict() for c in a["init_cmds"]], "has_up": i > 0, "has_down": i + 1 < len(self.records),
                "spec": None if record.spec is None else record.spec.to_dict(),
            }
            socket.send_fds(self.controls[i], [frame(msgpack.packb(config, use_bin_type=True))], fds)
            self.inbox.wait_ready(i, max(0.1, deadline - time.monotonic()))
        for a, b in links:
            a.close()
            b.close()

    def _accept_all(self, deadline: float) -> None:
        self.listener.settimeout(0.1)
        pending = set(range(len(self.records)))
        while pending:
            for i, proc in enumerate(self.procs):
                if i in pending and proc.poll() is not None:
                    raise self._error(i, "before connecting to the host")
            if time.monotonic() > deadline:
                names = [self.records[i].name for i in sorted(pending)]
                raise ChainPluginError(f"Plugin(s) {names} did not connect to the host within {self.timeout} s.",
                                       plugin=self.records[min(pending)].name)
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(self.timeout)
            reader = FrameReader()
            payloads: list[bytes] = []
            while not payloads:
                data = conn.recv(4096)
                if not data:
                    break
                payloads = reader.feed(data)
            hello = msgpack.unpackb(payloads[0]) if payloads else None
            if not (isinstance(hello, list) and len(hello) == 2 and hello[0] == "hello" and hello[1] in pending):
                conn.close()
                continue
            conn.settimeout(None)
            self.controls[hello[1]] = conn
            pending.discard(hello[1])
        self.listener.close()

    def _error(self, i: int, when: str) -> ChainPluginError:
        name = self.records[i].name
        return ChainPluginError(f"Plugin {name!r} failed: {self._death(i, when)}", plugin=name)

    def _death(self, i: int, when: str) -> str:
        """What happened to plugin ``i``'s process, with the end of its stderr."""
        proc = self.procs[i]
        try:
            code = proc.wait(2.0)
        except subprocess.TimeoutExpired:
            code = None
        self._drain_stderr(i)
        if code is None:
            status = "stopped answering"
        elif code < 0:
            status = f"was killed by signal {signal.Signals(-code).name}"
        else:
            status = f"exited with status {code}"
        stderr = "\n".join(self.stderr_tail[i])
        message = f"its process (pid {proc.pid}) {status} {when}."
        if stderr:
            message += f" Its last stderr lines:\n{stderr}"
        return message

    def _drain_stderr(self, i: int) -> None:
        """Read what an ended process left on stderr (for the error message)."""
        stream = self.procs[i].stderr
        if stream is None or stream.closed:
            return
        chunks = []
        sel = selectors.DefaultSelector()
        try:
            sel.register(stream, selectors.EVENT_READ)
            while sel.select(0.2):
                data = os.read(stream.fileno(), 1 << 16)
                if not data:
                    break
                chunks.append(data)
        except (OSError, ValueError):
            pass
        finally:
            sel.close()
        self.stderr_tail[i].extend(b"".join(chunks).decode(errors="replace").splitlines())

    # --------------------------------------------------------------- reading
    def _read_loop(self) -> None:
        sel = selectors.DefaultSelector()
        readers = {}
        for i, conn in enumerate(self.controls):
            sel.register(conn, selectors.EVENT_READ, ("control", i))
            readers[conn] = FrameReader()
        for i, proc in enumerate(self.procs):
            sel.register(proc.stdout, selectors.EVENT_READ, ("stdout", i))
            sel.register(proc.stderr, selectors.EVENT_READ, ("stderr", i))
        sel.register(self._wake_r, selectors.EVENT_READ, ("wake", -1))
        partial: dict = {}
        open_controls = len(self.controls)
        try:
            while open_controls and not self.closed:
                for key, _ in sel.select():
                    kind, i = key.data
                    if kind == "wake":
                        return
                    if kind == "control":
                        try:
                            data = key.fileobj.recv(1 << 16)
                        except OSError:
                            data = b""
                        if not data:
                            sel.unregister(key.fileobj)
                            open_controls -= 1
                            self._control_closed(i)
                            continue
                        for payload in readers[key.fileobj].feed(data):
                            self.inbox.receive(decode_control(payload))
                    else:
                        data = os.read(key.fileobj.fileno(), 1 << 16)
                        if not data:
                            sel.unregister(key.fileobj)
                            continue
                        text = partial.pop(key.fileobj, b"") + data
                        *lines, rest = text.split(b"\n")
                        if rest:
                            partial[key.fileobj] = rest
                        level = LogLevel.INFO if kind == "stdout" else LogLevel.WARN
                        for line in lines:
                            decoded = line.decode(errors="replace")
                            if kind == "stderr":
                                self.stderr_tail[i].append(decoded)
                            if level.python_level >= self.args[i]["log_level"].python_level:
                                self.inbox.receive((P.P_LOG, i, level.value, decoded))
        finally:
            sel.close()

    def _control_closed(self, i: int) -> None:
        if self.stopping or self.closed or self.inbox.failure is not None:
            return
        proc = self.procs[i]
        try:
            code = proc.wait(2.0)
        except subprocess.TimeoutExpired:
            code = None
        if code == BROKEN_LINK_EXIT:  # a neighbour died: name that one, unless none ever says so
            threading.Timer(BLAME_GRACE, self._blame_if_silent, (i,)).start()
            return
        self.inbox.fail(self.records[i].name, None, self._death(i, "while the simulation was running"))

    def _blame_if_silent(self, i: int) -> None:
        if not (self.stopping or self.closed or self.inbox.failure is not None):
            self.inbox.fail(self.records[i].name, None, "its process ended because a neighbouring plugin went away, "
                                                        "and no plugin reported why.")

    # ----------------------------------------------------------- host calls
    def to_frontend(self, message: tuple) -> None:
        data = encode_control(message)
        if message[0] == P.H_STOP:
            self.stopping = True  # before sending: the plugins may end before sendall returns
        try:
            self.controls[0].sendall(data)
        except OSError:
            self.inbox.raise_failure()
            raise ChainPluginError(f"Plugin {self.records[0].name!r} is not reachable (its process ended).", plugin=self.records[0].name) from None

    def counters(self, index: int):
        return self.inbox.stats[index]

    def abort(self) -> None:
        """Kill every plugin process and stop the reader."""
        if self.closed:
            return
        self.closed = True
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    proc.kill()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def join(self, timeout: float) -> None:
        """Wait for the processes to end (killing those that outlast ``timeout``) and release everything."""
        if self._released:
            return
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(max(0.1, deadline - time.monotonic()))
            if self.reader.is_alive():
                self.abort()
                self.reader.join(1.0)
        if not self.closed:
            return  # ended cleanly; abort() and a second join release the rest
        self._released = True
        for proc in self.procs:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for conn in self.controls:
            if conn is not None:
                conn.close()
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._dir.cleanup()

