"""What an emulator run gives back: per-shot results and metrics as DataFrames.

A tag recorded once per shot becomes one column; a list of measurements
becomes a bit string (character ``i`` is element ``i``, as in qlab's outcome
keys); a tag recorded several times in a shot keeps every value, in order,
as a tuple.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import pandas as pd

from ..exceptions import QlabTypeError

__all__ = ["EmulatorResult", "pipeline_html"]

METRIC_CATEGORIES = ("user_program", "runtime", "error_model", "simulator", "emulator")
_PER_SHOT_ONLY = ("error_model", "simulator")
"""The categories shots sampled from one simulation cannot report (no plugin saw their operations)."""


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        if all(v is True or v is False for v in value):
            return "".join(["1" if v else "0" for v in value])
        return tuple(value)
    return value


def _shot_values(results: list[tuple[str, Any]]) -> dict[str, Any]:
    grouped: dict[str, list] = {}
    for tag, value in results:
        grouped.setdefault(tag, []).append(_cell(value))
    return {tag: values[0] if len(values) == 1 else tuple(values) for tag, values in grouped.items()}


class EmulatorResult:
    """The shots of one run: ``df()``, ``counts(tag)``, ``metrics_df()``, ``plot()``.

    Attributes:
        shots: the :class:`~qlab.emulator.emulator.ShotRecord` of every shot that ran, in order.
        requested: how many shots were asked for.
        seed: the entropy the shot seeds were spawned from (pass it as ``seed`` to repeat the run).
        time_taken: seconds.
    """

    def __init__(self, emulator, shots, requested: int, seed: int, time_taken: float):
        self.emulator = emulator
        self.shots = list(shots)
        self.requested = requested
        self.seed = seed
        self.time_taken = time_taken

    def __len__(self) -> int:
        return len(self.shots)

    @property
    def sampled(self) -> bool:
        """Whether the shots were sampled from one simulation (a program without feed-forward)."""
        return bool(self.shots) and all(s.sampled for s in self.shots)

    def __repr__(self) -> str:
        how = "sampled from one simulation" if self.sampled else "run shot by shot"
        return f"EmulatorResult(<{len(self.shots)} of {self.requested} shots, {how}, {self.time_taken:.3g} s>)"

    # ------------------------------------------------------------- tables
    def df(self) -> pd.DataFrame:
        """One row per shot: ``shot``, a column per result tag, ``status``, ``exit_code``, ``exit_message``."""
        rows = []
        for s in self.shots:
            row = {"shot": s.shot, **_shot_values(s.results)}
            row.update(status=s.status, exit_code=s.exit_code, exit_message=s.exit_message)
            rows.append(row)
        columns = ["shot"]
        for s in self.shots:
            for tag, _ in s.results:
                if tag not in columns:
                    columns.append(tag)
        columns += ["status", "exit_code", "exit_message"]
        return pd.DataFrame(rows, columns=columns)

    def tags(self) -> list[str]:
        """The result tags, in the order first recorded."""
        return list(dict.fromkeys(tag for s in self.shots for tag, _ in s.results))

    def counts(self, tag: str) -> dict[str, int]:
        """How often each value of ``tag`` occurred (as strings: bits ``'0'``/``'1'``, bit strings, numbers)."""
        values = []
        for s in self.shots:
            found = [v for t, v in s.results if t == tag]
            if found:
                v = _cell(found[0]) if len(found) == 1 else tuple(_cell(f) for f in found)
                values.append(("1" if v else "0") if isinstance(v, bool) else str(v))
        if not values and tag not in self.tags():
            raise QlabTypeError(f"EmulatorResult.counts: no result tagged {tag!r}; the tags are {self.tags()}.")
        return dict(sorted(Counter(values).items()))

    def metrics_df(self) -> pd.DataFrame:
        """Tidy metrics: one row per shot, category, name and value.

        Categories: ``user_program`` (what the program asked for), ``runtime``
        (batches and operations per kind, total duration), ``error_model``
        (operations seen, errors by kind), ``simulator``, and ``emulator``.

        Shots sampled from one simulation (:attr:`sampled`) have no
        ``error_model`` or ``simulator`` rows: no plugin saw those shots' operations,
        and their errors were drawn inside the one simulation, not counted per shot.
        Such shots carry ``emulator``/``sampled_from_one_simulation`` = 1, and the
        frame says so in ``frame.attrs["sampled_from_one_simulation"]``; run with
        ``sample_once=False`` to count them shot by shot.
        """
        rows = [(s.shot, cat, name, value) for s in self.shots for (cat, name), value in s.metrics.items()]
        frame = pd.DataFrame(rows, columns=["shot", "category", "name", "value"])
        frame["category"] = pd.Categorical(frame["category"], categories=METRIC_CATEGORIES)
        frame = frame.sort_values(["shot", "category", "name"], kind="stable").reset_index(drop=True)
        frame.attrs["sampled_from_one_simulation"] = self.sampled
        return frame

    def metrics_summary(self) -> pd.DataFrame:
        """Every metric over the shots: ``category``, ``name``, ``shots`` reporting it, ``total``, ``mean``, ``min``, ``max``.

        The same table a running job publishes (:meth:`qlab.emulator.job.EmulatorJob.metrics`).
        """
        from .live import LiveMetrics

        return LiveMetrics().finish(self.shots).summary()

    # -------------------------------------------------------------- plots
    def plot(self, tag: str | None = None, ax=None):
        """Bar chart of :meth:`counts` of ``tag`` (default: the first tag); returns the axes."""
        import matplotlib.pyplot as plt

        tags = self.tags()
        if tag is None:
            if not tags:
                raise QlabTypeError("EmulatorResult.plot: the program recorded no results to plot.")
            tag = tags[0]
        counts = self.counts(tag)
        ax = plt.subplots(figsize=(max(4, 0.5 * len(counts) + 2), 3))[1] if ax is None else ax
        ax.bar(list(counts), list(counts.values()), color="#4c72b0")
        ax.set_xlabel(tag)
        ax.set_ylabel("shots")
        ax.set_title(f"{tag}: {len(self.shots)} shots")
        ax.tick_params(axis="x", rotation=90 if len(counts) > 8 else 0)
        return ax

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        table = self.df().head(10).to_html(index=False)
        return f"<div><p>{head}</p>{pipeline_html(self.emulator, self.metrics_summary())}{table}</div>"


def pipeline_html(emulator, summary: pd.DataFrame | None = None) -> str:
    """The program -> runtime -> error model -> simulator pipeline as an HTML diagram (no JavaScript).

    With a :meth:`EmulatorResult.metrics_summary`, each box lists the mean of its metrics;
    for shots sampled from one simulation, the error model and simulator boxes say
    why they have none.
    """
    def metrics(category: str) -> str:
        if summary is None or not len(summary):
            return ""
        rows = summary[summary["category"] == category]
        if not len(rows) and category in _PER_SHOT_ONLY and (summary["name"] == "sampled_from_one_simulation").any():
            return "<br><small><i>sampled from one simulation: no per-shot counts</i></small>"
        return "".join(f"<br><small><i>{html.escape(n)}</i>: {m:.4g}</small>" for n, m in zip(rows["name"], rows["mean"]))

    def box(title: str, lines: str) -> str:
        return ("<div style='border:1px solid #888;border-radius:6px;padding:6px 10px;min-width:9em'>"
                f"{title}{lines}</div>")

    boxes = [box("<b>program</b>", f"<br><small>{emulator.n_qubits} qubits</small>{metrics('user_program')}")]
    for role, plugin in emulator.plugins().items():
        params = "".join(f"<br><small>{html.escape(k)} = {html.escape(repr(v))}</small>" for k, v in plugin.describe().items())
        title = f"<b>{html.escape(type(plugin).__name__)}</b><br><small>{role.replace('_', ' ')}</small>"
        boxes.append(box(title, params + metrics(role)))
    arrow = "<div style='align-self:center;padding:0 6px'>&rarr;</div>"
    return f"<div style='display:flex;align-items:flex-start;gap:2px'>{arrow.join(boxes)}</div>"
