"""Drawing outcome histograms and density matrices with one convention.

matplotlib is imported inside the functions only, so importing this module
costs nothing on a server. ``Result.plot`` and ``DensityMatrix.plot`` call
these functions; :mod:`qlab.lab` re-exports them with ``compare``.

Conventions:

- **Histograms** keep the ``top`` most likely outcomes, ordered by
  probability (the exact one when known; ties by key), and write "N more outcomes, p = ..." on the plot
  for the rest. Sampled values carry shot-noise error bars, one binomial
  standard deviation ``sqrt(p (1 - p) / shots)``.
- **Density matrices** follow QuTiP's ``hinton`` and ``matrix_histogram``:
  the diverging ``RdBu`` map (positive blue, negative red), a colour scale
  symmetric around 0 at the largest magnitude shown, rows labelled by bras
  ``⟨b|`` and columns by kets ``|b⟩`` (element ``ρ[i, j] = ⟨i|ρ|j⟩``), qubit 0
  the leftmost character.

>>> from qlab.sim.plotting import top_outcomes
>>> top_outcomes([{"00": 0.5, "11": 0.4, "01": 0.06, "10": 0.04}], top=2)
(['00', '11'], 2, 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..exceptions import QlabTypeError, SimulationError

__all__ = [
    "Distribution",
    "as_distribution",
    "top_outcomes",
    "more_outcomes_note",
    "plot_distributions",
    "plot_density_matrix",
    "basis_labels",
    "KINDS",
]

KINDS = ("real", "imag", "abs")
"""The parts of a density matrix a plot can show."""

CMAP = "RdBu"
"""QuTiP's diverging colour map (``qutip.visualization._diverging_cmap``): positive blue, negative red."""

_COLOURS = ("#4063d8", "#cb3c33", "#389826", "#9558b2", "#e69f00", "#56b4e9")


@dataclass(frozen=True)
class Distribution:
    """Outcome probabilities, measured (with shots) or exact.

    >>> Distribution({"0": 0.25, "1": 0.75}, shots=100).errors(["1", "0"]).round(4).tolist()
    [0.0433, 0.0433]
    """

    probabilities: Mapping[str, float]
    """Outcome key -> probability (sampled frequency when ``shots`` is set)."""
    shots: int | None = None
    """How many shots the frequencies come from; ``None``: exact."""
    exact: Mapping[str, float] | None = None
    """The exact probabilities behind sampled frequencies, when known."""

    def values(self, order: Sequence[str]) -> np.ndarray:
        return np.array([self.probabilities.get(k, 0.0) for k in order])

    def errors(self, order: Sequence[str]) -> np.ndarray | None:
        """One binomial standard deviation per outcome (``None`` when exact)."""
        if not self.shots:
            return None
        p = self.values(order)
        return np.sqrt(p * (1 - p) / self.shots)


def as_distribution(obj) -> Distribution:
    """A :class:`Distribution` from a ``Result`` (also a QPU's), a job with ``counts()``, or a dict of counts or probabilities.

    A dict of integers is read as counts; a dict of floats summing to 1 as probabilities.

    >>> as_distribution({"0": 30, "1": 70}).probabilities, as_distribution({"0": 30, "1": 70}).shots
    ({'0': 0.3, '1': 0.7}, 100)

    Raises:
        QlabTypeError: ``obj`` is none of these.
    """
    if isinstance(obj, Distribution):
        return obj
    if hasattr(obj, "probabilities") and hasattr(obj, "shots") and isinstance(obj.probabilities, Mapping):
        if obj.shots:
            counts = obj.counts
            return Distribution({k: v / obj.shots for k, v in counts.items()}, obj.shots, dict(obj.probabilities))
        return Distribution(dict(obj.probabilities))
    if hasattr(obj, "nbshots") and isinstance(getattr(obj, "probabilities", None), Mapping):
        # a QPU result (myQLM style): frequencies over nbshots shots, or exact probabilities when nbshots is 0
        if not obj.probabilities:
            raise QlabTypeError(f"Cannot plot a {type(obj).__name__} without samples (an observable's result: "
                                f"value {getattr(obj, 'value', None)!r}); plot a sampling job's result.")
        return Distribution(dict(obj.probabilities), obj.nbshots or None)
    if callable(getattr(obj, "counts", None)):
        obj = obj.counts()
    if isinstance(obj, Mapping) and obj:
        values = list(obj.values())
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            total = int(sum(values))
            if total <= 0:
                raise SimulationError(f"Cannot plot counts that add up to {total}.")
            return Distribution({k: v / total for k, v in obj.items()}, total)
        return Distribution({k: float(v) for k, v in obj.items()})
    raise QlabTypeError(
        f"Cannot read outcomes from {type(obj).__name__}: give a Result, a job with counts(), "
        "or a non-empty dict of counts or probabilities."
    )


def top_outcomes(distributions: Sequence[Mapping[str, float]], top: int | None) -> tuple[list[str], int, float]:
    """The ``top`` outcomes by their largest probability over ``distributions``, and what is left out.

    Returns:
        ``(order, left_out, p_left_out)``: the kept keys, most likely first (ties by
        key); how many outcomes are left out; the largest probability they carry
        together in any one distribution.
    """
    weight: dict[str, float] = {}
    for dist in distributions:
        for key, p in dist.items():
            weight[key] = max(weight.get(key, 0.0), p)
    ranked = sorted(weight, key=lambda k: (-weight[k], k))
    if top is not None and top < 1:
        raise SimulationError(f"top must be at least 1, got {top}.")
    kept = ranked if top is None else ranked[:top]
    rest = ranked[len(kept):]
    p_rest = max((sum(d.get(k, 0.0) for k in rest) for d in distributions), default=0.0)
    return kept, len(rest), p_rest


def more_outcomes_note(left_out: int, p_left_out: float) -> str:
    """ "N more outcomes, p = ..." (empty when nothing is left out).

    >>> more_outcomes_note(3, 0.0123)
    '3 more outcomes, p = 0.0123'
    """
    if not left_out:
        return ""
    return f"{left_out} more outcome{'s' if left_out != 1 else ''}, p = {p_left_out:.3g}"


def plot_distributions(dists: Sequence[Distribution], labels: Sequence[str] | None = None, *, ax=None,
                       top: int | None = 16, log: bool = False, counts: bool = False):
    """Bars side by side for each distribution on one common outcome order; returns the axes.

    Args:
        dists: the distributions.
        labels: one legend entry each (no legend for a single unnamed one).
        ax: the matplotlib axes to draw on (a new figure when ``None``).
        top: how many outcomes to show (the most likely); ``None``: all.
        log: a logarithmic probability axis.
        counts: draw counts instead of probabilities (one distribution with shots only).
    """
    import matplotlib.pyplot as plt

    if labels is not None and len(labels) != len(dists):
        raise SimulationError(f"Got {len(labels)} labels for {len(dists)} results; give one label per result.")
    order, left_out, p_left_out = top_outcomes([d.exact or d.probabilities for d in dists], top)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.5, 0.35 * len(order) * len(dists) + 2), 3.2), layout="constrained")
    width = 0.8 / len(dists)
    x = np.arange(len(order))
    scale = dists[0].shots if counts and dists[0].shots else 1
    for i, dist in enumerate(dists):
        offset = (i - (len(dists) - 1) / 2) * width
        errors = dist.errors(order)
        ax.bar(x + offset, dist.values(order) * scale, width, color=_COLOURS[i % len(_COLOURS)],
               label=None if labels is None else labels[i],
               yerr=None if errors is None else errors * scale, ecolor="black", capsize=2, error_kw={"lw": 0.8})
        if dist.exact is not None and len(dists) == 1:
            exact = np.array([dist.exact.get(k, 0.0) for k in order]) * scale
            ax.scatter(x + offset, exact, color="#cb3c33", zorder=3, s=14, marker="D", label="exact")
    ax.set_xticks(x, order, rotation=90 if len(order) > 8 else 0)
    ax.set_xlabel("outcome")
    ax.set_ylabel("counts" if scale != 1 else "probability")
    if log:
        ax.set_yscale("log")
    note = more_outcomes_note(left_out, p_left_out)
    if note:
        ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    if labels is not None or (len(dists) == 1 and dists[0].exact is not None):
        ax.legend(frameon=False, loc="upper right", bbox_to_anchor=(1.0, 0.88 if note else 1.0), fontsize=8)
    return ax


def basis_labels(num_qubits: int) -> list[str]:
    """``['00', '01', '10', '11']`` for two qubits: qubit 0 is the leftmost character."""
    return [format(i, f"0{num_qubits}b") for i in range(2**num_qubits)]


def plot_density_matrix(matrix: np.ndarray, *, kind: str = "real", ax=None, style: str | None = None,
                        vmax: float | None = None, colorbar: bool = True):
    """Draw one part of a density matrix as a heat map (``style="map"``) or a city plot (``style="city"``).

    Args:
        matrix: the ``2**n x 2**n`` matrix.
        kind: ``"real"``, ``"imag"`` or ``"abs"``.
        ax: the axes (a 3D axes for a city plot); a new figure when ``None``.
        style: ``"map"`` or ``"city"``; ``None`` picks a city plot from 3 qubits on.
        vmax: the colour scale runs from ``-vmax`` to ``vmax`` (``abs``: ``0`` to ``vmax``);
            default: the largest magnitude in the part shown, so small coherences stay visible.
        colorbar: whether to add a colour bar.
    """
    import matplotlib.pyplot as plt
    from matplotlib import colors

    if kind not in KINDS:
        raise SimulationError(f"DensityMatrix.plot: kind must be 'real', 'imag' or 'abs', got {kind!r}.")
    n = int(round(np.log2(matrix.shape[0])))
    style = style or ("city" if n >= 3 else "map")
    if style not in ("map", "city"):
        raise SimulationError(f"DensityMatrix.plot: style must be 'map' or 'city', got {style!r}.")
    values = getattr(np, kind)(matrix)
    top = vmax if vmax is not None else max(float(np.abs(values).max()), 1e-12)
    norm = colors.Normalize(0 if kind == "abs" else -top, top)
    cmap = plt.get_cmap(CMAP)
    title = {"real": "Re ρ", "imag": "Im ρ", "abs": "|ρ|"}[kind]
    labels = basis_labels(n) if n <= 5 else None
    if style == "city":
        if ax is None:
            ax = plt.figure(figsize=(5, 4.2)).add_subplot(projection="3d")
        if not hasattr(ax, "bar3d"):
            raise SimulationError("DensityMatrix.plot: a city plot needs a 3D axes (projection='3d').")
        size = matrix.shape[0]
        cols, rows = np.meshgrid(np.arange(size), np.arange(size))
        heights = values.ravel()
        ax.bar3d(cols.ravel() - 0.35, rows.ravel() - 0.35, np.zeros(size * size), 0.7, 0.7, heights,
                 color=cmap(norm(heights)), shade=True)
        if labels is not None:
            ax.set_xticks(range(size), [f"|{b}⟩" for b in labels], fontsize=7)
            ax.set_yticks(range(size), [f"⟨{b}|" for b in labels], fontsize=7)
        ax.set_zlabel(title)
        ax.view_init(elev=35, azim=-55)
    else:
        if ax is None:
            _, ax = plt.subplots(figsize=(4.4, 3.8), layout="constrained")
        ax.imshow(values, cmap=cmap, norm=norm)
        if labels is not None and n <= 4:
            ax.set_xticks(range(2**n), [f"|{b}⟩" for b in labels], rotation=90)
            ax.set_yticks(range(2**n), [f"⟨{b}|" for b in labels])
        ax.set_xlabel("column (ket)")
        ax.set_ylabel("row (bra)")
    ax.set_title(title)
    if colorbar:
        mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        ax.figure.colorbar(mappable, ax=ax, shrink=0.8, label=title)
    return ax
