"""Plots for devices and results; each takes ``ax=None`` and returns the axes.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = plot_coupling_map("training5")
>>> ax.get_title()
'training5: coupling map'
>>> [t.get_text() for t in plot_calibration("training5", "coherence").get_legend().get_texts()]
['T1', 'T2']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..exceptions import QlabError
from ..sim.plotting import as_distribution, plot_density_matrix, plot_distributions
from .specs import device_specs

__all__ = ["plot_coupling_map", "plot_calibration", "plot_histogram", "compare", "plot_density_matrix",
           "SITE_PROPERTIES", "CALIBRATION_VIEWS"]

SITE_PROPERTIES = {"t1": ("T1 (µs)", 1e6), "t2": ("T2 (µs)", 1e6), "readout_fidelity": ("readout fidelity", 1.0)}
"""Site properties that can colour the nodes of a coupling map: column -> (label, scale)."""

CALIBRATION_VIEWS = ("coherence", "readout", "gates")
"""What :func:`plot_calibration` can show."""


def _text_colour(rgba) -> str:
    """Black or white, whichever reads better on ``rgba`` (relative luminance)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def site_layout(specs) -> np.ndarray:
    """Site positions in millimetres from their coordinates, else on a circle."""
    xy = specs.sites[["x", "y"]].to_numpy(dtype=float)
    if np.isfinite(xy).all():
        return xy * 1e3
    angle = 2 * np.pi * np.arange(specs.num_qubits) / max(specs.num_qubits, 1)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def plot_coupling_map(device, ax=None, color_by: str = "t1"):
    """Sites at their coordinates coloured by a site property, couplings by two-qubit fidelity.

    Args:
        device: a QDMI device, a description, a catalog id, or anything :func:`device_specs` accepts.
        ax: the axes; a new figure when ``None``.
        color_by: ``"t1"``, ``"t2"`` or ``"readout_fidelity"``.

    Raises:
        QlabError: ``color_by`` is not one of these.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if color_by not in SITE_PROPERTIES:
        raise QlabError(f"plot_coupling_map: color_by must be one of {', '.join(SITE_PROPERTIES)}, got {color_by!r}.")
    specs = device_specs(device)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    xy = site_layout(specs)
    label, scale = SITE_PROPERTIES[color_by]
    values = specs.sites[color_by].to_numpy(dtype=float) * scale
    gate = specs.two_qubit_gate
    pairs = list(specs.coupling_map or ())
    if pairs:
        fid = {}
        if gate is not None:
            rows = specs.gates[specs.gates["gate"] == gate]
            fid = {tuple(sorted(s)): f for s, f in zip(rows["sites"], rows["fidelity"]) if f is not None}
        edge_values = np.array([fid.get(tuple(sorted(p)), np.nan) for p in pairs], dtype=float)
        edges = LineCollection([xy[list(p)] for p in pairs], linewidths=4, zorder=1)
        if np.isfinite(edge_values).any():
            edges.set_array(np.ma.masked_invalid(edge_values))
            edges.set_cmap("viridis")
            ax.figure.colorbar(edges, ax=ax, label=f"{gate} fidelity", shrink=0.8)
        else:
            edges.set_color("0.6")
        ax.add_collection(edges)
    finite = np.isfinite(values)
    colours = {"c": values, "cmap": "coolwarm", "plotnonfinite": True} if finite.any() else {"color": "0.85"}
    nodes = ax.scatter(*xy.T, s=380, edgecolors="black", zorder=2, **colours)
    nodes.update_scalarmappable()  # map the values to colours now, to pick readable label colours
    face = nodes.get_facecolors()
    for i, (x, y) in enumerate(xy):
        colour = face[i] if len(face) > 1 else face[0]
        ax.annotate(str(specs.sites["site"].iloc[i]), (x, y), ha="center", va="center", fontsize=8, zorder=3,
                    color=_text_colour(colour))
    if finite.any():
        ax.figure.colorbar(nodes, ax=ax, label=label, shrink=0.8)
    ax.set_aspect("equal")
    ax.margins(0.12)
    has_coordinates = np.isfinite(specs.sites[["x", "y"]].to_numpy(dtype=float)).all()
    ax.set_xlabel("x (mm)" if has_coordinates else "")
    ax.set_ylabel("y (mm)" if has_coordinates else "")
    if not has_coordinates:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"{specs.id}: coupling map")
    return ax


def plot_calibration(device, what: str = "coherence", ax=None):
    """Bar charts of a device's calibration, per site or per gate and site tuple.

    Args:
        device: anything :func:`device_specs` accepts.
        what: ``"coherence"`` (T1 and T2 per site, µs), ``"readout"`` (readout
            error per site) or ``"gates"`` (gate error per gate and site tuple, log scale).
        ax: the axes; a new figure when ``None``.

    Raises:
        QlabError: ``what`` is unknown, or the device reports nothing to show.
    """
    import matplotlib.pyplot as plt

    if what not in CALIBRATION_VIEWS:
        raise QlabError(f"plot_calibration: what must be one of {', '.join(CALIBRATION_VIEWS)}, got {what!r}.")
    specs = device_specs(device)
    sites = specs.sites
    if what == "gates":
        rows = specs.gates.dropna(subset=["fidelity"])
        rows = rows[~rows["gate"].isin(["measure", "reset"])]
        labels = [f"{g} {','.join(map(str, s))}" for g, s in zip(rows["gate"], rows["sites"])]
        width = len(labels)
    else:
        width = len(sites)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(max(4, 0.3 * width + 2), 14), 3.2), layout="constrained")
    x = np.arange(width)
    if what == "coherence":
        if sites[["t1", "t2"]].isna().all().all():
            raise QlabError(f"plot_calibration: device {specs.id!r} reports no T1 or T2.")
        ax.bar(x - 0.2, sites["t1"] * 1e6, 0.4, label="T1", color="#4063d8")
        ax.bar(x + 0.2, sites["t2"] * 1e6, 0.4, label="T2", color="#389826")
        ax.set_ylabel("time (µs)")
        ax.legend(frameon=False, ncols=2, loc="upper left")
        ax.set_ylim(0, 1.2 * np.nanmax(sites[["t1", "t2"]].to_numpy(dtype=float)))
    elif what == "readout":
        ax.bar(x, 1 - sites["readout_fidelity"].astype(float), color="#cb3c33")
        ax.set_ylabel("readout error")
    else:
        if rows.empty:
            raise QlabError(f"plot_calibration: device {specs.id!r} reports no gate fidelities.")
        colours = {g: c for g, c in zip(dict.fromkeys(rows["gate"]), ("#4063d8", "#cb3c33", "#389826", "#9558b2"))}
        ax.bar(x, 1 - rows["fidelity"].astype(float), color=[colours.get(g, "0.5") for g in rows["gate"]])
        ax.set_yscale("log")
        ax.set_ylabel("gate error (1 − F)")
        ax.set_xticks(x, labels, rotation=90, fontsize=7)
    if what != "gates":
        ax.set_xticks(x, [str(s) for s in sites["site"]])
        ax.set_xlabel("site")
    ax.set_title(f"{specs.id}: {what}")
    return ax


def plot_histogram(result, ax=None, top: int | None = 16, log: bool = False):
    """The histogram of one result (a ``Result``, a job with ``counts()``, or a dict); returns the axes.

    The ``top`` most likely outcomes are drawn, most likely first, and the
    rest summed in a note ("N more outcomes, p = ..."); sampled values carry
    shot-noise error bars.
    """
    return plot_distributions([as_distribution(result)], ax=ax, top=top, log=log)


def compare(results: Sequence, labels: Sequence[str] | None = None, ax=None, top: int | None = 16, log: bool = False):
    """Histograms of several results side by side on one outcome order, with one legend; returns the axes.

    Args:
        results: ``Result`` objects, jobs with ``counts()``, or dicts of counts or probabilities.
        labels: one name per result (default ``"0"``, ``"1"``, ...).
        ax: the axes; a new figure when ``None``.
        top: how many outcomes to show, the most likely in any result; ``None``: all.
        log: a logarithmic probability axis.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = compare([{"00": 0.5, "11": 0.5}, {"00": 480, "01": 30, "11": 490}], labels=["ideal", "noisy"])
    >>> [t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_legend().get_texts()]
    (['00', '11', '01'], ['ideal', 'noisy'])
    """
    results = list(results)
    if not results:
        raise QlabError("compare: give at least one result.")
    names = [str(i) for i in range(len(results))] if labels is None else list(labels)
    return plot_distributions([as_distribution(r) for r in results], names, ax=ax, top=top, log=log)
