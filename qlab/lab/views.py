"""Static result views and the helpers every widget shares.

A view is plain HTML plus a PNG (rendered with matplotlib's Agg canvas, no
pyplot, no JavaScript), so it shows the same in a widget, in exported HTML
and in a terminal-less test.

>>> counts_of_record(_demo_record())
{'00': 3, '11': 1}
>>> "2 outcome(s)" in result_html({"00": 3, "11": 1})
True
"""

from __future__ import annotations

import html
import io
import time

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..exceptions import QlabError
from ..qdmi.results import outcome_counts
from ..sim.plotting import as_distribution, more_outcomes_note, plot_distributions, top_outcomes

__all__ = ["Png", "counts_of_record", "result_html", "histogram_png", "figure_png", "error_html", "format_time", "COUNT_READERS"]

COUNT_READERS: dict[str, object] = {}
"""Family name -> function(record) -> counts, for families whose results dict differs from QDMI's."""


def counts_of_record(record) -> dict[str, int]:
    """The histogram of a finished job record of any family.

    A family registers its own reader in :data:`COUNT_READERS`; the default
    reads the QDMI results dict (``keys`` plus their ``counts``, or per-shot indices ``shots``).

    Raises:
        QlabError: the record has no results (not DONE) or none this reader understands.
    """
    if record.results is None:
        raise QlabError(f"Job {record.id!r} has no results: it is {record.status.value}.")
    reader = COUNT_READERS.get(record.family)
    if reader is not None:
        return reader(record)
    results = record.results
    if "keys" in results and ("counts" in results or "shots" in results):
        keys = list(results["keys"])
        counts = outcome_counts(results)
        return {k: int(c) for k, c in zip(keys, counts) if c}
    if "counts" in results:
        return {str(k): int(v) for k, v in results["counts"].items()}
    raise QlabError(f"Job {record.id!r} ({record.family}) has results qlab.lab cannot read as counts: {sorted(results)}.")


def figure_png(draw, figsize=(6, 3.5), dpi: int = 90) -> bytes:
    """PNG bytes of a figure drawn by ``draw(ax)`` on a fresh Agg canvas (no pyplot, nothing left open)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def histogram_png(result, top: int = 16, title: str = "") -> bytes:
    """The histogram of a result (``Result``, counts dict, job) as PNG bytes."""
    dist = as_distribution(result)
    order, _, _ = top_outcomes([dist.probabilities], top)

    def draw(ax):
        plot_distributions([dist], ax=ax, top=top)
        ax.set_title(title, fontsize=9)

    return figure_png(draw, (max(3.5, 0.4 * len(order) + 2), 3))


def result_html(result, top: int = 16) -> str:
    """A table of outcomes sorted by probability, the top ``top``, with "N more outcomes" below."""
    dist = as_distribution(result)
    order, left_out, p_left_out = top_outcomes([dist.probabilities], top)
    frame = pd.DataFrame({"outcome": order, "probability": [round(dist.probabilities[k], 6) for k in order]})
    if dist.shots:
        frame["counts"] = [round(dist.probabilities[k] * dist.shots) for k in order]
        frame["± (1σ)"] = [round(e, 6) for e in dist.errors(order)]
    note = more_outcomes_note(left_out, p_left_out)
    shots = f", {dist.shots} shots" if dist.shots else ""
    return (f"<p>{len(dist.probabilities)} outcome(s){shots}</p>" + frame.to_html(index=False)
            + (f"<p>{html.escape(note)}</p>" if note else ""))


def error_html(where: str, err: BaseException) -> str:
    """An error shown inside a widget: what failed, the message, and the QASM line when there is one."""
    line = getattr(err, "line", None)
    cause = err.__cause__
    if line is None and cause is not None:
        line = getattr(cause, "line", None)
    at = f" (line {line})" if line else ""
    return (
        "<div style='color:#a4161a;border-left:3px solid #a4161a;padding-left:6px'>"
        f"<b>{html.escape(where)}{at}</b>: {html.escape(str(err))}</div>"
    )


def format_time(stamp: float | None) -> str:
    """A unix time as ``HH:MM:SS`` UTC (empty for ``None``)."""
    if stamp is None or not np.isfinite(stamp):
        return ""
    return time.strftime("%H:%M:%S", time.gmtime(stamp))


def _demo_record():
    from ..jobs import JobRecord

    record = JobRecord.new("qdmi", "ideal")
    record.results = {"keys": ["00", "11"], "shots": [0, 1, 0, 0]}
    return record


class Png(widgets.Image):
    """A PNG shown at its own size (never stretched to the cell's width), hidden while empty."""

    def __init__(self, value: bytes = b""):
        super().__init__(value=value, format="png",
                         layout=widgets.Layout(align_self="flex-start", display="" if value else "none"))
        self.observe(self._toggle, names="value")

    def _toggle(self, change) -> None:
        self.layout.display = "" if change["new"] else "none"
