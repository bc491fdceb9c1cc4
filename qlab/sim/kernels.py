"""The engine's hot product: a small matrix applied to the middle axis of a big array.

:func:`apply_block` computes ``dst[a, :, b] = matrix @ src[a, :, b]`` and
trusts its input. Large products are split into contiguous chunks that run
on a small thread pool, one chunk per core, while the BLAS library itself is
held to one thread. BLAS's own threads busy-wait for each other, which on a
shared machine (a notebook server, a CI runner, a Dask worker) can make a
product ten times slower as soon as another process wants a core; plain
threads that release the GIL degrade gracefully instead.

>>> import numpy as np
>>> src, dst = np.arange(8.0), np.empty(8)
>>> apply_block(src, dst, np.array([[0.0, 1.0], [1.0, 0.0]]), 2, 2, 2)
>>> dst.tolist()
[2.0, 3.0, 0.0, 1.0, 6.0, 7.0, 4.0, 5.0]
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

__all__ = ["apply_block", "SPLIT_FROM"]

SPLIT_FROM = 4**8
"""Arrays of at least this many elements are split across the worker threads."""

_WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _SingleThreadedBlas:
    """Hold BLAS to one thread while any product runs (re-entrant across threads)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None
        self._controller = None

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                if self._controller is None:
                    self._controller = threadpoolctl.ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._users += 1

    def __exit__(self, *exc):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._limiter.restore_original_limits()
                self._limiter = None


_SINGLE_BLAS = _SingleThreadedBlas()
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="qlab-kernel")
        return _POOL


def _bounds(size: int, parts: int) -> list[tuple[int, int]]:
    edges = [size * i // parts for i in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(edges, edges[1:]) if hi > lo]


def _tasks(src, dst, matrix, before, k, after, parts):
    """Independent products whose outputs are contiguous slices of ``dst``."""
    if after == 1:
        s, d = src.reshape(before, k), dst.reshape(before, k)
        return [(s[lo:hi], matrix.T, d[lo:hi]) for lo, hi in _bounds(before, parts)]
    if before == 1:
        s, d = src.reshape(k, after), dst.reshape(k, after)
        return [(matrix[lo:hi], s, d[lo:hi]) for lo, hi in _bounds(k, parts)]
    s, d = src.reshape(before, k, after), dst.reshape(before, k, after)
    return [(matrix, s[lo:hi], d[lo:hi]) for lo, hi in _bounds(before, parts)]


def _run(task) -> None:
    left, right, out = task
    np.matmul(left, right, out=out)


def apply_block(src: np.ndarray, dst: np.ndarray, matrix: np.ndarray, before: int, k: int, after: int) -> None:
    """``dst[a, :, b] = matrix @ src[a, :, b]`` for flat arrays viewed as ``(before, k, after)``."""
    parts = _WORKERS if src.size >= SPLIT_FROM else 1
    tasks = _tasks(src, dst, matrix, before, k, after, parts)
    if len(tasks) == 1:
        _run(tasks[0])
        return
    with _SINGLE_BLAS:
        list(_pool().map(_run, tasks))
