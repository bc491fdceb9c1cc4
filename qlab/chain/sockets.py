"""Plugins in their own processes: the plugin side of the local sockets.

A plugin process is started with the host's address as its last command-line
argument (``<socket path>#<plugin index>``). It connects to the host, says
which plugin it is, and receives its configuration together with the
sockets of its two links (passed as file descriptors over the Unix socket).
Then it runs the same :class:`~qlab.chain.runtime.PluginRuntime` as a
thread plugin, on a :class:`SocketPort`.

A plugin script ends with :func:`run_plugin`::

    from qlab.chain import PluginDefinition, run_plugin
    op = PluginDefinition("operator", "mine", "me", "1.0")
    ...
    if __name__ == "__main__":
        run_plugin(op)

All sockets are non-blocking. Sending downstream waits (while reading
responses) once :data:`DOWN_LIMIT` bytes are buffered; sending upstream and
to the host never waits.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
from collections import deque

import msgpack

from ..exceptions import ChainError
from . import protocol as P
from .data import ArbCmd
from .definition import PluginDefinition, PluginSpec
from .logs import LogLevel
from .runtime import Aborted, PluginRuntime
from .wire import FrameReader, decode_batch, decode_control, encode_batch, encode_control, frame

__all__ = ["SocketPort", "run_plugin", "BROKEN_LINK_EXIT", "parse_address"]

DOWN_LIMIT = 256 * 1024
"""Bytes buffered for the downstream plugin before the sender waits."""

BROKEN_LINK_EXIT = 75
"""Exit status of a plugin that stopped because a neighbour or the host went away (not its own fault)."""

_CHUNK = 1 << 16


class _Link:
    """One non-blocking socket with an output buffer and a frame reader."""

    __slots__ = ("sock", "out", "reader", "inbox", "name")

    def __init__(self, sock: socket.socket, inbox: deque, name: str):
        sock.setblocking(False)
        self.sock, self.out, self.reader, self.inbox, self.name = sock, bytearray(), FrameReader(), inbox, name

    def flush(self) -> None:
        if self.out:
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                raise Aborted from None
            del self.out[:sent]

    def read(self, decode) -> bool:
        """Read what is there; return whether anything arrived. EOF aborts the plugin."""
        try:
            data = self.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            raise Aborted from None
        if not data:
            raise Aborted
        for payload in self.reader.feed(data):
            self.inbox.append(decode(payload))
        return True


class SocketPort:
    """A plugin process's connections: the host (control), upstream and downstream links."""

    def __init__(self, control: socket.socket, up: socket.socket | None, down: socket.socket | None):
        self.requests: deque = deque()
        self.responses: deque = deque()
        self.host: deque = deque()
        self.control = _Link(control, self.host, "host")
        self.up = None if up is None else _Link(up, self.requests, "upstream")
        self.down = None if down is None else _Link(down, self.responses, "downstream")
        self.selector = selectors.DefaultSelector()

    # ---------------------------------------------------------------- sending
    def send_down(self, batch: list) -> None:
        self.down.out += encode_batch(batch)
        self.down.flush()

    def send_up(self, batch: list) -> None:
        self.up.out += encode_batch(batch)
        self.up.flush()

    def to_host(self, message: tuple) -> None:
        self.control.out += encode_control(message)
        self.control.flush()

    def stats(self, index: int, counters) -> None:
        self.to_host((P.P_STATS, index, counters))

    def has_credit(self) -> bool:
        self.down.flush()
        return len(self.down.out) < DOWN_LIMIT

    # -------------------------------------------------------------- receiving
    def has_responses(self) -> bool:
        if not self.responses and self.down is not None:
            self.down.read(decode_batch)
        return bool(self.responses)

    def has_requests(self) -> bool:
        if not self.requests and self.up is not None:
            self.up.read(decode_batch)
        return bool(self.requests)

    def pop_requests(self):
        return self.requests.popleft() if self.requests else None

    def pop_responses(self):
        return self.responses.popleft() if self.responses else None

    def pop_host(self):
        return self.host.popleft() if self.host else None

    def wait(self, requests: bool, responses: bool, host: bool, credit: bool) -> None:
        links = [link for link in (self.control, self.up, self.down) if link is not None]
        while True:
            for link in links:
                link.flush()
            if (requests and self.requests) or (responses and self.responses) or (host and self.host):
                return
            if credit and len(self.down.out) < DOWN_LIMIT:
                return
            sel = self.selector
            for link in links:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if link.out else 0)
                sel.register(link.sock, events, link)
            try:
                ready = sel.select()
            finally:
                for link in links:
                    sel.unregister(link.sock)
            for key, mask in ready:
                link = key.data
                if mask & selectors.EVENT_READ:
                    link.read(decode_control if link is self.control else decode_batch)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is buffered (up to ``timeout``), then close the sockets."""
        links = [link for link in (self.control, self.up, self.down) if link is not None]
        for link in links:
            if link.out:
                try:
                    link.sock.settimeout(timeout)
                    link.sock.sendall(link.out)
                except OSError:
                    pass
            link.sock.close()
        self.selector.close()


def parse_address(address: str) -> tuple[str, int]:
    """``"<socket path>#<index>"`` -> (path, index).

    >>> parse_address("/tmp/chain/host.sock#2")
    ('/tmp/chain/host.sock', 2)
    """
    path, sep, index = address.rpartition("#")
    if not sep or not index.isdigit() or not path:
        raise ChainError(f"Bad plugin address {address!r}: expected '<socket path>#<plugin index>', as the host passes it.")
    return path, int(index)


def _connect(address: str) -> tuple[socket.socket, int, dict, list[int]]:
    path, index = parse_address(address)
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.connect(path)
    control.sendall(frame(msgpack.packb(["hello", index])))
    message, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
    reader = FrameReader()
    payloads = reader.feed(message)
    while not payloads:
        more = control.recv(1 << 20)
        if not more:
            raise ChainError("The host closed the connection before sending the plugin's configuration.")
        payloads = reader.feed(more)
    config = msgpack.unpackb(payloads[0], raw=False, strict_map_key=False)
    return control, index, config, fds


def run_plugin(definition: PluginDefinition | None = None, address: str | None = None) -> None:
    """Run a plugin in this process, connected to the host at ``address`` (default: the last argv).

    Plugin scripts call this at the end; ``python -m qlab.chain.worker``
    calls it with no definition, which is then built from the spec the host sends.
    """
    address = sys.argv[-1] if address is None else address
    control, index, config, fds = _connect(address)
    if definition is None:
        definition = PluginSpec(config["spec"]["target"], config["spec"]["kwargs"]).build()
    definition.validate()
    links = iter(socket.socket(fileno=fd) for fd in fds)
    up = next(links) if config["has_up"] else None
    down = next(links) if config["has_down"] else None
    port = SocketPort(control, up, down)
    runtime = PluginRuntime(
        definition, index=index, name=config["name"], port=port, seeds=config["seeds"],
        log_level=LogLevel(config["log_level"]), init_cmds=[ArbCmd.from_dict(c) for c in config["init_cmds"]],
    )
    try:
        runtime.serve()
    except Aborted:
        pass
    aborted = runtime.aborted
    port.close()
    sys.stdout.flush()
    os._exit(BROKEN_LINK_EXIT if aborted else 0)
