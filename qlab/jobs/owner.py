"""Which process owns an active job, and whether that process still runs.

A store writes the owner (host, pid, a start identity and the process-id
namespace) into every job it moves into ``submitted``, ``queued`` or
``running``, and the owner keeps a lease on the store (see
:class:`qlab.jobs.JobStore`). A job is failed only when its owner is gone:
its pid no longer runs (checked only from the same host, boot and pid
namespace, where a pid means the same process) or its lease expired.

The start identity guards against a reused pid: on Linux it is the boot id
and the process start time from ``/proc``; elsewhere it is psutil's
``create_time`` when psutil is installed, else ``None`` (pid only). A
process that is a zombie counts as gone. Jobs owned by another host are
never judged by pid, since its processes cannot be checked from here; nor
are owners in another pid namespace (another container with the same host
name), whose pids mean other processes here. Their leases decide.

>>> me = current()
>>> me.pid == os.getpid(), is_alive(me)
(True, True)
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Owner", "current", "is_alive"]

HOST = socket.gethostname()


@dataclass(frozen=True)
class Owner:
    """A process, as a job row records it."""

    host: str
    """The host name."""
    pid: int
    """The process id on that host."""
    start: str | None
    """What tells this process from a later one with the same pid, if known."""
    namespace: str | None = None
    """The boot and pid namespace the pid is valid in (Linux), if known."""

    @property
    def key(self) -> str:
        """The owner's lease key in a store."""
        return f"{self.host}|{self.pid}|{self.start}|{self.namespace}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_BOOT_ID = _boot_id()


def _namespace() -> str | None:
    try:
        return f"{_BOOT_ID}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None




def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a Linux process from ``/proc/<pid>/stat``, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def _start_of(pid: int) -> str | None:
    if _BOOT_ID:
        stat = _proc_stat(pid)
        return None if stat is None else f"{_BOOT_ID}:{stat[1]}"
    try:
        import psutil
    except ImportError:
        return None
    try:
        return repr(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


_current: Owner | None = None


def current() -> Owner:
    """This process (recomputed after a fork)."""
    global _current
    pid = os.getpid()
    if _current is None or _current.pid != pid:
        _current = Owner(HOST, pid, _start_of(pid), _namespace())
    return _current


def _pid_exists(pid: int) -> bool:
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        import psutil
    except ImportError:
        return True
    return psutil.pid_exists(pid)


def is_alive(owner: Owner) -> bool:
    """Whether ``owner`` may still be running (True whenever it cannot be ruled out by its pid)."""
    if owner.host != HOST or owner.namespace not in (None, current().namespace):
        return True
    if owner.pid <= 0 or not _pid_exists(owner.pid):
        return False
    if _BOOT_ID:
        stat = _proc_stat(owner.pid)
        if stat is not None and stat[0] in ("Z", "X"):
            return False
    return owner.start is None or _start_of(owner.pid) in (None, owner.start)
