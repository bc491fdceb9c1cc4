"""Metrics of a run while it runs: a snapshot of the aggregates, published now and then.

The thread running the shots hands every completed shot to :meth:`LiveMetrics.offer`,
which costs one clock reading until a publication is due (every ``every``
shots or ``interval`` seconds). Then the new shots are folded into running
totals and a fresh, immutable :class:`MetricsSnapshot` replaces the old one
under a lock; any other thread (a lab view on the kernel's event loop) reads
:attr:`LiveMetrics.snapshot` without waiting for the run.

>>> from qlab.emulator.emulator import ShotRecord
>>> live = LiveMetrics(every=2)
>>> shots = [ShotRecord(i, [], metrics={("runtime", "rz_count"): i}) for i in range(3)]
>>> for done in range(1, 4):
...     live.offer(shots[:done])
>>> live.snapshot
MetricsSnapshot(shots=2)
>>> live.finish(shots).summary()[["name", "shots", "total", "mean", "min", "max"]].to_dict("records")
[{'name': 'rz_count', 'shots': 3, 'total': 3.0, 'mean': 1.0, 'min': 0.0, 'max': 2.0}]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..exceptions import PluginError

__all__ = ["LiveMetrics", "MetricsSnapshot", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["category", "name", "shots", "total", "mean", "min", "max"]
"""The columns of :meth:`MetricsSnapshot.summary`."""


@dataclass(frozen=True)
class MetricsSnapshot:
    """The metrics of the first ``shots`` completed shots: per (category, name), [shots, total, min, max]."""

    shots: int = 0
    aggregates: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"MetricsSnapshot(shots={self.shots})"

    def summary(self) -> pd.DataFrame:
        """One row per metric: ``category``, ``name``, ``shots`` reporting it, ``total``, ``mean``, ``min``, ``max``."""
        from .result import METRIC_CATEGORIES

        rows = [(cat, name, n, total, total / n, low, high)
                for (cat, name), (n, total, low, high) in self.aggregates.items()]
        frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        frame["category"] = pd.Categorical(frame["category"], categories=METRIC_CATEGORIES)
        return frame.sort_values(["category", "name"], kind="stable").reset_index(drop=True)


class LiveMetrics:
    """Running totals of a run's shot metrics, published as a :class:`MetricsSnapshot`.

    Args:
        every: publish after this many new shots ...
        interval: ... or when this many seconds passed since the last publication.
    """

    def __init__(self, every: int = 1000, interval: float = 0.5):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise PluginError(f"LiveMetrics: every must be an int >= 1, got {every!r}.")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise PluginError(f"LiveMetrics: interval must be a positive number of seconds, got {interval!r}.")
        self.every = every
        self.interval = float(interval)
        self._lock = threading.Lock()
        self._snapshot = MetricsSnapshot()
        self._totals: dict = {}
        self._folded = 0
        self._due = time.monotonic() + self.interval

    def __repr__(self) -> str:
        return f"LiveMetrics(every={self.every}, interval={self.interval})"

    @property
    def snapshot(self) -> MetricsSnapshot:
        """The latest published snapshot (safe to read from any thread)."""
        with self._lock:
            return self._snapshot

    def offer(self, records: Sequence) -> None:
        """Called by the running thread with every shot completed so far; publishes when one is due."""
        if len(records) - self._folded >= self.every or time.monotonic() >= self._due:
            self._publish(records)

    def finish(self, records: Sequence) -> MetricsSnapshot:
        """Publish the aggregates of exactly ``records``, the shots the finished run kept, and return them."""
        self._totals, self._folded = {}, 0
        self._publish(records)
        return self.snapshot

    def _publish(self, records: Sequence) -> None:
        totals = self._totals
        previous, repeats = None, 0
        for record in records[self._folded:]:
            if record.metrics is previous:  # sampled shots share one metrics dict
                repeats += 1
                continue
            _fold(totals, previous, repeats)
            previous, repeats = record.metrics, 1
        _fold(totals, previous, repeats)
        self._folded = len(records)
        snapshot = MetricsSnapshot(self._folded, {key: tuple(value) for key, value in totals.items()})
        with self._lock:
            self._snapshot = snapshot
        self._due = time.monotonic() + self.interval


def _fold(totals: dict, metrics: dict | None, repeats: int) -> None:
    """Add ``repeats`` shots that all reported ``metrics`` to ``totals``."""
    if not repeats:
        return
    for key, value in metrics.items():
        entry = totals.get(key)
        if entry is None:
            totals[key] = [repeats, float(value) * repeats, float(value), float(value)]
        else:
            entry[0] += repeats
            entry[1] += float(value) * repeats
            entry[2] = min(entry[2], float(value))
            entry[3] = max(entry[3], float(value))
