"""Text and SVG drawings of a :class:`~qlab.circuit.circuit.Circuit`.

Both drawings share one layout. Every qubit is a wire (``q[0]``), every
classical register is one double wire (``c``), and instructions sit in the
as-soon-as-possible :func:`layers`. Controls are ``■``, the target of an
``x``-type gate is ``⊕``, swaps are ``x``, measurements link down to the
classical wire and name the bit they write, and a classical condition links
down to the register it reads and shows the test (``c==1``).

Angles that are multiples of π print as such (``Rz(π/2)``, ``U(3π/4,0,-π)``).

>>> from qlab import Circuit
>>> print(Circuit(1).rz(0.5, 0).rx(math.pi / 2, 0).draw())
q[0]: ─Rz(0.5)──Rx(π/2)──
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .circuit import Circuit
    from .instruction import Condition, Instruction

__all__ = ["layers", "text_drawing", "svg_drawing", "figure_shapes", "Shape", "format_angle"]

_CONTROLLED: dict[str, tuple[str, int]] = {
    "cx": ("x", 1), "ccx": ("x", 2), "cy": ("y", 1), "cz": ("z", 1), "ch": ("h", 1),
    "crx": ("rx", 1), "cry": ("ry", 1), "crz": ("rz", 1), "cp": ("p", 1), "cu": ("u", 1),
    "cswap": ("swap", 1),
}
"""Controlled library gates: the gate applied to the targets and the number of controls."""

_SYMMETRIC = frozenset({"iswap", "rxx", "ryy", "rzz"})
"""Multi-qubit gates whose qubits can be exchanged; they carry their label on every wire."""

_NAMES = {"id": "I", "sx": "√X", "sxdg": "√Xdg", "iswap": "iSwap"}
"""Display names that are not the library name with a capital first letter."""


# ---------------------------------------------------------------- layout
@dataclass(frozen=True)
class _Wires:
    """The rows of a drawing: one per qubit, then one per classical register."""

    labels: tuple[str, ...]
    num_qubits: int
    bit_rows: dict[int, tuple[int, str, int]]
    """Classical bit -> (row, register name, index in the register)."""

    @classmethod
    def of(cls, circuit: Circuit) -> _Wires:
        labels = [f"{reg.name}[{i}]" for reg in circuit.qregs for i in range(reg.size)]
        bit_rows = {}
        for k, reg in enumerate(circuit.cregs):
            labels.append(reg.name)
            for i, bit in enumerate(reg):
                bit_rows[bit] = (circuit.num_qubits + k, reg.name, i)
        return cls(tuple(labels), circuit.num_qubits, bit_rows)

    def is_classical(self, row: int) -> bool:
        return row >= self.num_qubits


@dataclass
class _Glyphs:
    """How one instruction is drawn.

    ``marks`` maps a row to a (kind, text) pair; kinds are ``box``,
    ``reset``, ``dot``, ``target``, ``swap``, ``measure``, ``barrier``,
    ``bit`` (where a measurement lands) and ``cond`` (a bit a condition
    reads). ``link`` is a single vertical line between quantum rows,
    ``clink`` a double one down to classical rows, ``notes`` text under a
    row's wire, and ``box`` the rows a multi-qubit box spans.
    """

    marks: dict[int, tuple[str, str]] = field(default_factory=dict)
    link: tuple[int, int] | None = None
    clink: tuple[int, int] | None = None
    notes: dict[int, str] = field(default_factory=dict)
    box: tuple[int, int] | None = None
    label: str = ""

    @property
    def span(self) -> tuple[int, int]:
        return min(self.marks), max(self.marks)


def _number(value: float) -> str:
    text = f"{value:.3g}"
    return "0" if text == "-0" else text


def format_angle(value: float, max_denominator: int = 16) -> str:
    """An angle as a multiple of π when it is one (to 1e-9), else to 3 significant digits.

    >>> [format_angle(a) for a in (math.pi / 2, 3 * math.pi / 4, -math.pi, 2 * math.pi, 0.0, 0.25)]
    ['π/2', '3π/4', '-π', '2π', '0', '0.25']
    """
    ratio = Fraction(value / math.pi).limit_denominator(max_denominator)
    if ratio == 0 or abs(value - float(ratio) * math.pi) > 1e-9 or abs(ratio.numerator) > 64:
        return _number(value)
    sign = "-" if ratio < 0 else ""
    numerator = "" if abs(ratio.numerator) == 1 else str(abs(ratio.numerator))
    return f"{sign}{numerator}π" + (f"/{ratio.denominator}" if ratio.denominator != 1 else "")


def _gate_label(name: str, params: tuple[float, ...]) -> str:
    base = _NAMES.get(name, name[:1].upper() + name[1:])
    return f"{base}({','.join(format_angle(p) for p in params)})" if params else base


def _condition_label(cond: Condition, wires: _Wires) -> str:
    if cond.register is not None:
        return f"{cond.register}=={cond.value}"
    bits = ",".join(f"{wires.bit_rows[b][1]}[{wires.bit_rows[b][2]}]" for b in cond.bits)
    return f"{bits}=={cond.value}"


def _glyphs(ins: Instruction, wires: _Wires) -> _Glyphs:
    g = _Glyphs()
    qs = ins.qubits
    if ins.name == "measure":
        row, _, index = wires.bit_rows[ins.clbits[0]]
        g.marks[qs[0]] = ("measure", "M")
        g.marks[row] = ("bit", "╩")
        g.notes[row] = str(index)
        g.clink = (qs[0], row)
    elif ins.name == "barrier":
        g.marks.update((q, ("barrier", "░")) for q in qs)
    elif ins.name == "reset":
        g.marks[qs[0]] = ("reset", "|0>")
    elif ins.name == "delay":
        g.marks[qs[0]] = ("box", f"Delay({_number(ins.params[0])}{ins.unit})")
    elif ins.name in _CONTROLLED or ins.name == "swap":
        base, n = _CONTROLLED.get(ins.name, ("swap", 0))
        g.marks.update((q, ("dot", "■")) for q in qs[:n])
        if base == "x":
            g.marks[qs[n]] = ("target", "⊕")
        elif base == "z":
            g.marks[qs[n]] = ("dot", "■")
        elif base == "swap":
            g.marks.update((q, ("swap", "x")) for q in qs[n:])
        else:
            g.marks[qs[n]] = ("box", _gate_label(base, ins.params))
        g.link = (min(qs), max(qs))
    else:
        label = (ins.label or "unitary") if ins.name == "unitary" else _gate_label(ins.name, ins.params)
        for k, q in enumerate(qs):
            g.marks[q] = ("box", label if k == 0 or ins.name in _SYMMETRIC else f"#{k + 1}")
        if len(qs) > 1:
            g.link = g.box = (min(qs), max(qs))
            g.label = label
    if ins.condition is not None and qs:
        rows = sorted({wires.bit_rows[b][0] for b in ins.condition.bits})
        for row in rows:
            g.marks.setdefault(row, ("cond", "■"))
        bottom = max(rows[-1], g.clink[1] if g.clink else rows[-1])
        g.clink = (max(qs), bottom)
        text = _condition_label(ins.condition, wires)
        g.notes[rows[-1]] = f"{g.notes[rows[-1]]} {text}" if rows[-1] in g.notes else text
    return g


def _layout(circuit: Circuit, wires: _Wires) -> list[list[tuple[Instruction, _Glyphs]]]:
    level = [0] * len(wires.labels)
    out: list[list[tuple[Instruction, _Glyphs]]] = []
    for ins in circuit:
        g = _glyphs(ins, wires)
        if not g.marks:
            continue
        top, bottom = g.span
        k = max(level[top : bottom + 1])
        if k == len(out):
            out.append([])
        out[k].append((ins, g))
        level[top : bottom + 1] = [k + 1] * (bottom + 1 - top)
    return out


def layers(circuit: Circuit) -> list[list[Instruction]]:
    """Group instructions into the as-soon-as-possible layers the drawings use.

    An instruction goes into the first layer after every earlier instruction
    that shares a wire with it. Its wires are its qubits, the classical
    register wires it writes (``measure``) or reads (a condition), and every
    wire in between, so vertical links never cross another instruction of
    the same layer. Barriers take the span of their qubits. Instructions on
    no wire at all (a barrier in a circuit without qubits) are left out.

    Args:
        circuit: the circuit to layer.

    Returns:
        The layers, left to right; each lists its instructions in program order.

    >>> from qlab import Circuit
    >>> [[ins.name for ins in layer] for layer in layers(Circuit(3).h(0).x(2).cx(0, 2).h(1))]
    [['h', 'x'], ['cx'], ['h']]
    """
    wires = _Wires.of(circuit)
    return [[ins for ins, _ in layer] for layer in _layout(circuit, wires)]


# ------------------------------------------------------------------ text
def _text_column(layer: list[tuple[Instruction, _Glyphs]], wires: _Wires) -> list[str]:
    """One layer as equal-width strings: wire line then gap line for every row."""
    cells: dict[int, str] = {}
    for ins, g in layer:
        for row, (_, text) in g.marks.items():
            cells[2 * row] = text
        for span, line, cross in ((g.link, "│", "┼"), (g.clink, "║", None)):
            if span is None:
                continue
            top, bottom = span
            for row in range(top, bottom):
                cells[2 * row + 1] = line
            for row in range(top + 1, bottom):
                if row not in g.marks:
                    cells[2 * row] = cross or ("╬" if wires.is_classical(row) else "╫")
        if ins.name == "barrier":
            cells.update((2 * q + 1, "░") for q in ins.qubits if q + 1 in ins.qubits)
        for row, text in g.notes.items():
            cells[2 * row + 1] = text
    inner = max(map(len, cells.values()), default=1)
    column = []
    for line in range(2 * len(wires.labels)):
        fill = " " if line % 2 else "═" if wires.is_classical(line // 2) else "─"
        text = cells.get(line, "")
        left = (inner - len(text)) // 2 + 1
        column.append(fill * left + text + fill * (inner + 2 - left - len(text)))
    return column


def text_drawing(circuit: Circuit, width: int | None = 100) -> str:
    """Draw ``circuit`` as monospace text, one line per wire.

    Each qubit is a wire labelled with its register and index, each
    classical register one double wire. Gates show their name and their
    parameters to 3 significant digits; a multi-qubit user gate shows its
    label on its first qubit and ``#2``, ``#3``, ... on the others. A
    drawing wider than ``width`` folds: a folded wire ends in ``»`` and
    continues after ``«`` below.

    Args:
        circuit: the circuit to draw.
        width: the widest a line may be, or ``None`` to never fold. A layer
            that does not fit on its own still gets a fold to itself.

    Returns:
        The drawing, or ``""`` for a circuit without registers.

    >>> from qlab import Circuit
    >>> print(text_drawing(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])))
    q[0]: ─H──■──M─────
              │  ║
    q[1]: ────⊕──╫──M──
                 ║  ║
       c: ═══════╩══╩══
                 0  1
    """
    wires = _Wires.of(circuit)
    if not wires.labels:
        return ""
    columns = [_text_column(layer, wires) for layer in _layout(circuit, wires)]
    if not columns:
        columns = [_text_column([], wires)]
    label_width = max(map(len, wires.labels))
    room = None if width is None else width - label_width - 4
    folds: list[list[list[str]]] = [[]]
    used = 0
    for column in columns:
        if room is not None and folds[-1] and used + len(column[0]) > room:
            folds.append([])
            used = 0
        folds[-1].append(column)
        used += len(column[0])
    blocks = []
    for k, fold in enumerate(folds):
        lines = []
        for line in range(2 * len(wires.labels)):
            body = "".join(column[line] for column in fold)
            if line % 2:
                lines.append((" " * (label_width + 3 if k else label_width + 2) + body).rstrip())
                continue
            fill = body[-1]
            start = "«" if k else ""
            end = "»" if k < len(folds) - 1 else fill
            lines.append(f"{wires.labels[line // 2].rjust(label_width)}: {start}{body}{end}")
        while not lines[-1]:
            lines.pop()
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# ------------------------------------------------------------------- svg
_ROW = 40.0
"""Distance between two wires."""
_TOP = 28.0
_FONT = 13.0
_CHAR = 8.0
"""A generous width of one monospace character at the main font size."""
_SMALL = 10.0
_SMALL_CHAR = 6.2
_BOX = 26.0
"""Height of a gate box and smallest width."""
_PAD = 10.0
"""Free space on each side of the widest element of a layer."""
_INK = "#1f2328"
_GATE_FILL = "#dde7fb"
_GATE_STROKE = "#2f4b8f"


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text_width(text: str, char: float = _CHAR) -> float:
    return len(text) * char


def _mark_width(kind: str, text: str) -> float:
    if kind in ("box", "reset"):
        return max(_BOX, _text_width(text) + 12)
    return {"dot": 10.0, "target": 22.0, "swap": 14.0, "measure": 30.0, "barrier": 12.0}.get(kind, 10.0)


def _glyph_width(g: _Glyphs) -> float:
    width = max(_mark_width(kind, text) for kind, text in g.marks.values())
    if g.box is not None:
        width = max(width, _text_width(g.label) + 28)
    notes = [_text_width(text, _SMALL_CHAR) for text in g.notes.values()]
    return max([width, *notes])


@dataclass(frozen=True)
class Shape:
    """One element of a figure, in pixels from the top left (SVG and matplotlib draw the same shapes).

    ``kind`` is ``line`` (``points`` x1, y1, x2, y2), ``rect`` (x, y, width,
    height; rounded corners), ``circle`` (cx, cy, r), ``polygon`` (x1, y1,
    x2, y2, ...), ``arc`` (cx, cy, r: the upper half circle of a meter) or
    ``text`` (x, y of its middle, left or right end, per ``anchor``).
    """

    kind: str
    points: tuple[float, ...]
    text: str = ""
    fill: str = "none"
    stroke: str = "none"
    stroke_width: float = 1.0
    dash: tuple[float, ...] = ()
    size: float = _FONT
    anchor: str = "middle"


def _text(x: float, y: float, text: str, *, size: float = _FONT, anchor: str = "middle", fill: str = _INK) -> Shape:
    return Shape("text", (x, y), text, fill=fill, size=size, anchor=anchor)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = _INK, width: float = 1.0, dash=()) -> Shape:
    return Shape("line", (x1, y1, x2, y2), stroke=stroke, stroke_width=width, dash=dash)


def _rect(x: float, y: float, w: float, h: float, fill: str, stroke: str = "none") -> Shape:
    return Shape("rect", (x, y, w, h), fill=fill, stroke=stroke)


def _circle(x: float, y: float, r: float, fill: str, stroke: str = "none") -> Shape:
    return Shape("circle", (x, y, r), fill=fill, stroke=stroke)


def _mark_shapes(kind: str, text: str, x: float, y: float) -> list[Shape]:
    if kind in ("box", "reset"):
        w = _mark_width(kind, text)
        label = "|0⟩" if kind == "reset" else text
        return [_rect(x - w / 2, y - _BOX / 2, w, _BOX, _GATE_FILL, _GATE_STROKE), _text(x, y, label)]
    if kind in ("dot", "cond"):
        return [_circle(x, y, 5 if kind == "dot" else 4.5, _INK)]
    if kind == "target":
        return [_circle(x, y, 10, "white", _INK), _line(x - 10, y, x + 10, y), _line(x, y - 10, x, y + 10)]
    if kind == "swap":
        return [_line(x - 6, y - 6, x + 6, y + 6, width=2), _line(x - 6, y + 6, x + 6, y - 6, width=2)]
    if kind == "measure":
        return [
            _rect(x - 15, y - _BOX / 2, 30, _BOX, "#eeeeee", _INK),
            Shape("arc", (x, y + 6, 9), stroke=_INK),
            _line(x, y + 6, x + 6, y - 7),
        ]
    if kind == "bit":
        return [Shape("polygon", (x - 5, y - 8, x + 5, y - 8, x, y - 2), fill=_INK)]
    return []


def _glyph_shapes(ins: Instruction, g: _Glyphs, x: float, wires: _Wires) -> list[Shape]:
    def y(row: int) -> float:
        return _TOP + row * _ROW

    out = []
    if ins.name == "barrier":
        qubits = sorted(ins.qubits)
        runs = [[qubits[0]]]
        for q in qubits[1:]:
            if q == runs[-1][-1] + 1:
                runs[-1].append(q)
            else:
                runs.append([q])
        for run in runs:
            top, bottom = y(run[0]) - _ROW / 2 + 4, y(run[-1]) + _ROW / 2 - 4
            out.append(Shape("rect", (x - 6, top, 12, bottom - top), fill="#e6e6e6"))
            out.append(_line(x, top, x, bottom, stroke="#777", width=2, dash=(4, 3)))
    if g.link is not None:
        out.append(_line(x, y(g.link[0]), x, y(g.link[1])))
    if g.clink is not None:
        for dx in (-1.5, 1.5):
            out.append(_line(x + dx, y(g.clink[0]), x + dx, y(g.clink[1])))
    if g.box is not None:
        w = _glyph_width(g)
        top, bottom = y(g.box[0]) - _BOX / 2, y(g.box[1]) + _BOX / 2
        out.append(_rect(x - w / 2, top, w, bottom - top, _GATE_FILL, _GATE_STROKE))
        out.append(_text(x + 4, (top + bottom) / 2, g.label))
        for k, q in enumerate(ins.qubits):
            out.append(_text(x - w / 2 + 4, y(q), str(k), size=_SMALL, anchor="start", fill=_GATE_STROKE))
    for row, (kind, text) in g.marks.items():
        if g.box is None or wires.is_classical(row):
            out.extend(_mark_shapes(kind, text, x, y(row)))
    for row, text in g.notes.items():
        out.append(_text(x, y(row) + 15, text, size=_SMALL))
    return out


def figure_shapes(circuit: Circuit) -> tuple[float, float, list[Shape]]:
    """The figure of ``circuit`` as (width, height, shapes), the layout of :func:`text_drawing` unfolded.

    Both :func:`svg_drawing` and the matplotlib drawing
    (:func:`qlab.circuit.mpl_drawing.mpl_drawing`) render these shapes.

    >>> from qlab import Circuit
    >>> width, height, shapes = figure_shapes(Circuit(1).h(0))
    >>> [s.text for s in shapes if s.kind == "text"]
    ['q[0]', 'H']
    """
    wires = _Wires.of(circuit)
    if not wires.labels:
        return 160, 40, [_text(80, 20, "empty circuit", fill="#777")]
    label_right = 10 + _text_width(max(wires.labels, key=len))
    x = label_right + 10
    body = []
    for layer in _layout(circuit, wires):
        w = max(_glyph_width(g) for _, g in layer) + 2 * _PAD
        for ins, g in layer:
            body.extend(_glyph_shapes(ins, g, x + w / 2, wires))
        x += w
    right = max(x, label_right + 10 + 2 * _BOX) + 10
    width, height = right + 10, _TOP + (len(wires.labels) - 1) * _ROW + _TOP
    head = []
    for row, label in enumerate(wires.labels):
        y = _TOP + row * _ROW
        head.append(_text(label_right, y, label, anchor="end"))
        if wires.is_classical(row):
            head.append(_line(label_right + 6, y - 1.5, right, y - 1.5))
            head.append(_line(label_right + 6, y + 1.5, right, y + 1.5))
        else:
            head.append(_line(label_right + 6, y, right, y))
    return width, height, head + body


def svg_drawing(circuit: Circuit) -> str:
    """Draw ``circuit`` as a self-contained SVG document.

    The layout is that of :func:`text_drawing` without folding: gate boxes
    with names and parameters (angles as multiples of π where they are),
    control dots, measurement boxes with a meter linked to the classical
    wire, classical registers as double wires, condition labels under the
    register they read, and barriers as dashed lines. The SVG uses only
    generic fonts and no scripts, so it renders on GitHub, in Binder and in
    exported HTML.

    Args:
        circuit: the circuit to draw.

    Returns:
        An ``<svg>`` element with ``xmlns``, ``width``, ``height`` and ``viewBox``.

    >>> from qlab import Circuit
    >>> svg = svg_drawing(Circuit(1).rx(0.25, 0).rz(-3.14159265358979, 0))
    >>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    True
    >>> ">Rx(0.25)</text>" in svg, ">Rz(-π)</text>" in svg
    (True, True)
    """
    width, height, shapes = figure_shapes(circuit)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="monospace" role="img">',
            f'<rect width="{_n(width)}" height="{_n(height)}" fill="white"/>',
            *map(_svg_element, shapes),
            "</svg>",
        ]
    )


def _svg_element(s: Shape) -> str:
    p = [_n(v) for v in s.points]
    if s.kind == "text":
        return (
            f'<text x="{p[0]}" y="{p[1]}" dy="0.35em" font-size="{_n(s.size)}" '
            f'text-anchor="{s.anchor}" fill="{s.fill}">{html.escape(s.text)}</text>'
        )
    if s.kind == "line":
        width = f' stroke-width="{_n(s.stroke_width)}"' if s.stroke_width != 1 else ""
        dash = f' stroke-dasharray="{" ".join(map(_n, s.dash))}"' if s.dash else ""
        return f'<line x1="{p[0]}" y1="{p[1]}" x2="{p[2]}" y2="{p[3]}" stroke="{s.stroke}"{width}{dash}/>'
    if s.kind == "rect":
        stroke = f' stroke="{s.stroke}"' if s.stroke != "none" else ""
        return f'<rect x="{p[0]}" y="{p[1]}" width="{p[2]}" height="{p[3]}" rx="3" fill="{s.fill}"{stroke}/>'
    if s.kind == "circle":
        stroke = f' stroke="{s.stroke}"' if s.stroke != "none" else ""
        return f'<circle cx="{p[0]}" cy="{p[1]}" r="{p[2]}" fill="{s.fill}"{stroke}/>'
    if s.kind == "polygon":
        pairs = " ".join(f"{p[i]},{p[i + 1]}" for i in range(0, len(p), 2))
        return f'<polygon points="{pairs}" fill="{s.fill}"/>'
    x, y, r = s.points  # arc
    return (
        f'<path d="M {_n(x - r)} {_n(y)} A {_n(r)} {_n(r)} 0 0 1 {_n(x + r)} {_n(y)}" '
        f'fill="none" stroke="{s.stroke}"/>'
    )
