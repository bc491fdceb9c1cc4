"""The messages of the gate stream and of the host link, as small tuples.

Requests go down the chain (frontend to backend), responses come up. Every
link carries them in order, in batches (lists). Tokens identify the request a
response answers: ``token = number * MAX_PLUGINS + index of the plugin that
asked``, so a plugin can tell its own answers from ones it passes on.
"""

from __future__ import annotations

# requests: upstream -> downstream
ALLOCATE = 0  # (ALLOCATE, refs, cmds)
FREE = 1  # (FREE, refs)
GATE = 2  # (GATE, gate)
ADVANCE = 3  # (ADVANCE, cycles)
ARB = 4  # (ARB, token, cmd)
SYNC = 5  # (SYNC, token)
HOST_ARB = 6  # (HOST_ARB, token, target index, cmd)
DROP = 7  # (DROP,)

# responses: downstream -> upstream
MEASURED = 10  # (MEASURED, [measurement, ...])
SYNCED = 11  # (SYNCED, token)
ARB_DONE = 12  # (ARB_DONE, token, ok, ArbData or (plugin, message))
HOST_ARB_DONE = 13  # (HOST_ARB_DONE, token, ok, ArbData or (plugin, message))
DROPPED = 14  # (DROPPED,)

# host -> frontend
H_RUN = 20  # (H_RUN, start args ArbData or None, [ArbData sent by the host])
H_ARB = 21  # (H_ARB, target index, cmd)
H_STOP = 22  # (H_STOP,)

# plugin -> host
P_READY = 30  # (P_READY, index, type, name, author, version)
P_RUN = 31  # (P_RUN, state, result ArbData or None, [ArbData sent by the frontend]); state: "done", "blocked", "idle"
P_ARB = 32  # (P_ARB, ok, ArbData or (plugin, message))
P_LOG = 33  # (P_LOG, index, level, message)
P_ERROR = 34  # (P_ERROR, index, plugin name, callback, message)
P_STATS = 35  # (P_STATS, index, [gates, measurements, arbs, cycles])
P_STOPPED = 36  # (P_STOPPED,)

MAX_PLUGINS = 1024
BATCH = 256
"""Requests sent downstream in one batch at most."""
WINDOW = 16
"""Batches a link holds before the sender waits (threads)."""
