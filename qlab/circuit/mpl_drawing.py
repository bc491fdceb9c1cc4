"""A matplotlib drawing of a :class:`~qlab.circuit.circuit.Circuit`, for slides and papers.

It renders the same shapes as the SVG drawing (:func:`~qlab.circuit.drawing.figure_shapes`),
one pixel of the SVG to one point, so the two look alike. matplotlib is imported
only when a drawing is made.

>>> from qlab import Circuit
>>> ax = mpl_drawing(Circuit(2).h(0).cx(0, 1))
>>> sorted(t.get_text() for t in ax.texts)
['H', 'q[0]', 'q[1]']
>>> import matplotlib.pyplot as plt; plt.close(ax.figure)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .drawing import Shape, figure_shapes

if TYPE_CHECKING:
    from .circuit import Circuit

__all__ = ["mpl_drawing", "new_figure"]

_POINTS_PER_INCH = 72.0
_ANCHORS = {"middle": "center", "start": "left", "end": "right"}


def new_figure(circuit: Circuit, *, pyplot: bool = True):
    """An empty figure sized for ``circuit`` (one SVG pixel to one point) and its full-size axes.

    With ``pyplot=False`` the figure is not registered with pyplot (nothing to
    close, nothing shown), as for saving to a file.
    """
    width, height, _ = figure_shapes(circuit)
    size = (width / _POINTS_PER_INCH, height / _POINTS_PER_INCH)
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size)
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size)
    return fig, fig.add_axes((0, 0, 1, 1))


def mpl_drawing(circuit: Circuit, ax=None):
    """Draw ``circuit`` on matplotlib axes and return them.

    Args:
        circuit: the circuit to draw.
        ax: the axes to draw on; by default a new figure sized so that the
            text has its natural size (save it with ``ax.figure.savefig``).

    Returns:
        The axes, with equal aspect, the circuit's extent and no frame.
    """
    if ax is None:
        _, ax = new_figure(circuit)
    width, height, shapes = figure_shapes(circuit)
    from matplotlib import patches

    ax.add_patch(patches.Rectangle((0, 0), width, height, facecolor="white", edgecolor="none", zorder=0))
    for z, shape in enumerate(shapes, start=1):
        _draw(ax, shape, patches, z)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _color(value: str) -> str:
    return "none" if value == "none" else value


def _draw(ax, s: Shape, patches, z: int) -> None:
    p = s.points
    if s.kind == "text":
        ax.text(
            p[0], p[1], s.text, fontsize=s.size, family="monospace", color=s.fill,
            ha=_ANCHORS[s.anchor], va="center", zorder=z,
        )
    elif s.kind == "line":
        dash = (0, tuple(d / s.stroke_width for d in s.dash)) if s.dash else "solid"
        ax.plot([p[0], p[2]], [p[1], p[3]], color=s.stroke, linewidth=s.stroke_width, linestyle=dash,
                solid_capstyle="butt", zorder=z)
    elif s.kind == "rect":
        ax.add_patch(patches.FancyBboxPatch(
            (p[0], p[1]), p[2], p[3], boxstyle="round,pad=0,rounding_size=3",
            facecolor=_color(s.fill), edgecolor=_color(s.stroke), linewidth=s.stroke_width, zorder=z,
        ))
    elif s.kind == "circle":
        ax.add_patch(patches.Circle((p[0], p[1]), p[2], facecolor=_color(s.fill), edgecolor=_color(s.stroke), zorder=z))
    elif s.kind == "polygon":
        points = list(zip(p[::2], p[1::2]))
        ax.add_patch(patches.Polygon(points, closed=True, facecolor=s.fill, edgecolor="none", zorder=z))
    else:  # arc: the upper half circle (y grows downwards)
        ax.add_patch(patches.Arc((p[0], p[1]), 2 * p[2], 2 * p[2], theta1=180, theta2=360,
                                 edgecolor=s.stroke, zorder=z))
