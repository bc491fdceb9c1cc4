"""Text, SVG and matplotlib drawings of circuits, and saving them to files."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from qlab.circuit.circuit import Circuit
from qlab.circuit.drawing import format_angle, layers, svg_drawing, text_drawing
from qlab.circuit.gates import GATES
from qlab.exceptions import CircuitError

SVG_NS = "{http://www.w3.org/2000/svg}"


def _bell() -> Circuit:
    return Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])


def _wire(drawing: str, label: str) -> str:
    """The line of ``drawing`` that holds the wire called ``label``."""
    (line,) = [ln for ln in drawing.splitlines() if ln.lstrip().startswith(f"{label}: ")]
    return line


def _svg_texts(svg: str) -> list[str]:
    return [el.text for el in ET.fromstring(svg).iter(f"{SVG_NS}text")]


def _every_gate() -> Circuit:
    c = Circuit(3)
    for name, d in GATES.items():
        c.append(name, list(range(d.num_qubits)), [0.1 * (k + 1) for k in range(d.num_params)])
    return c


# ------------------------------------------------------------------ layers
def test_layers_as_soon_as_possible():
    c = Circuit(3).h(0).x(2).cx(0, 1).y(2).z(0)
    assert [[i.name for i in layer] for layer in layers(c)] == [["h", "x"], ["cx", "y"], ["z"]]


def test_layers_multi_qubit_gate_blocks_the_wires_between():
    c = Circuit(3).cx(0, 2).h(1)
    assert [[i.name for i in layer] for layer in layers(c)] == [["cx"], ["h"]]


def test_layers_measure_and_condition_wait_for_the_classical_wire():
    c = Circuit(2, 1).measure(0, 0).x(1).c_if("c", 1)
    assert [[i.name for i in layer] for layer in layers(c)] == [["measure"], ["x"]]


def test_layers_barrier_takes_its_span():
    c = Circuit(3).h(0).barrier(0, 2).h(1)
    assert [[i.name for i in layer] for layer in layers(c)] == [["h"], ["barrier"], ["h"]]


def test_layers_keep_every_instruction_in_program_order():
    c = _every_gate().measure_all()
    flat = [ins for layer in layers(c) for ins in layer]
    assert sorted(map(id, flat)) == sorted(map(id, c.instructions))
    assert len(layers(c)) >= c.depth()


# -------------------------------------------------------------------- text
def test_text_bell_exact():
    assert text_drawing(_bell()) == (
        "q[0]: ─H──■──M─────\n"
        "          │  ║\n"
        "q[1]: ────⊕──╫──M──\n"
        "             ║  ║\n"
        "   c: ═══════╩══╩══\n"
        "             0  1"
    )


def test_text_bell_labels_and_glyph_order():
    drawing = text_drawing(_bell())
    q0, q1, c = _wire(drawing, "q[0]"), _wire(drawing, "q[1]"), _wire(drawing, "c")
    assert q0.index("H") < q0.index("■") < q0.index("M")
    assert q1.index("⊕") < q1.index("M")
    assert q0.index("■") == q1.index("⊕")
    assert "═" in c and c.count("╩") == 2
    assert str(_bell()) == drawing == _bell().draw()


def test_text_parameters_three_significant_digits_or_multiples_of_pi():
    c = Circuit(1).rz(0.5, 0).u3(np.pi / 2, 0, np.pi, 0).p(-0.0, 0).rx(1.5, 0).ry(3 * np.pi / 4, 0).rz(-np.pi, 0)
    line = _wire(text_drawing(c), "q[0]")
    assert "Rz(0.5)" in line
    assert "U3(π/2,0,π)" in line
    assert "P(0)" in line
    assert "Rx(1.5)" in line and "Ry(3π/4)" in line and "Rz(-π)" in line


@pytest.mark.parametrize(
    "angle,text",
    [
        (np.pi, "π"), (-np.pi, "-π"), (np.pi / 2, "π/2"), (-np.pi / 2, "-π/2"), (3 * np.pi / 4, "3π/4"),
        (2 * np.pi, "2π"), (np.pi / 8, "π/8"), (-5 * np.pi / 3, "-5π/3"), (0.0, "0"), (1.0, "1"),
        (3.14, "3.14"), (np.pi + 1e-6, "3.14"), (np.pi / 17, "0.185"), (1e-12, "1e-12"), (200 * np.pi, "628"),
    ],
)
def test_angles_print_as_multiples_of_pi_where_they_are(angle, text):
    assert format_angle(angle) == text


def test_text_non_gate_instructions():
    c = Circuit(2).reset(0).barrier().delay(100, 1, unit="ns").swap(0, 1)
    drawing = text_drawing(c)
    assert "|0>" in _wire(drawing, "q[0]")
    assert "░" in _wire(drawing, "q[0]") and "░" in _wire(drawing, "q[1]")
    assert "Delay(100ns)" in _wire(drawing, "q[1]")
    assert _wire(drawing, "q[0]").count("x") == 1 and _wire(drawing, "q[1]").count("x") == 1


def test_text_multi_register():
    c = Circuit()
    a, b = c.add_qreg("a", 2), c.add_qreg("anc", 1)
    m, f = c.add_creg("m", 2), c.add_creg("flag", 1)
    c.h(a[0]).cx(a[0], b[0]).measure(b[0], f[0]).measure(a[1], m[1])
    drawing = text_drawing(c)
    lines = drawing.splitlines()
    order = [next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"{x}: ")) for x in
             ("a[0]", "a[1]", "anc[0]", "m", "flag")]
    assert order == sorted(order)
    assert {len(ln.split(": ")[0]) for ln in lines if ": " in ln} == {len("anc[0]")}
    assert _wire(drawing, "m").count("╩") == 1 and _wire(drawing, "flag").count("╩") == 1
    assert "═" in _wire(drawing, "flag")
    assert "╬" in _wire(drawing, "m")


def test_text_conditions():
    c = Circuit(2, 2).h(0).measure(0, 0).x(1).c_if("c", 1).z(1).c_if(1, 0)
    drawing = text_drawing(c)
    assert "c==1" in drawing
    assert "c[1]==0" in drawing
    assert _wire(drawing, "c").count("■") == 2


def test_text_user_gate_label():
    c = Circuit(2).unitary(np.eye(4), [0, 1], label="my")
    drawing = text_drawing(c)
    assert "my" in _wire(drawing, "q[0]")
    assert "#2" in _wire(drawing, "q[1]")
    assert "myx" in text_drawing(Circuit(1).unitary([[0, 1], [1, 0]], 0, label="myx"))


@pytest.mark.parametrize("width", [30, 45, 80])
def test_text_folds_at_width(width):
    c = Circuit(3, 3)
    for k in range(12):
        c.rx(0.1 * k, k % 3).cx(k % 3, (k + 1) % 3)
    c.measure([0, 1, 2], [0, 1, 2])
    drawing = text_drawing(c, width=width)
    assert all(len(line) <= width for line in drawing.splitlines())
    assert "»" in drawing and "«" in drawing
    assert _wire_count(drawing, "q[0]") > 1
    unfolded = text_drawing(c, width=None)
    assert "»" not in unfolded and len(unfolded.splitlines()) == 8


def _wire_count(drawing: str, label: str) -> int:
    return sum(line.lstrip().startswith(f"{label}: ") for line in drawing.splitlines())


def test_text_empty_circuits():
    assert text_drawing(Circuit()) == ""
    assert text_drawing(Circuit(0, 2)) == "c: ════"
    assert text_drawing(Circuit(2)).splitlines()[0] == "q[0]: ────"


# --------------------------------------------------------------------- svg
def test_svg_is_valid_xml_with_namespace_and_size():
    svg = svg_drawing(_bell())
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    for attr in ("width", "height", "viewBox"):
        assert attr in root.attrib
    assert root.attrib["viewBox"] == f"0 0 {root.attrib['width']} {root.attrib['height']}"
    assert not list(root.iter(f"{SVG_NS}script"))


def test_svg_text_per_gate_label():
    c = Circuit(3, 1).h(0).rz(0.5, 1).crx(0.25, 0, 2).rxx(1.0, 0, 2).measure(2, 0).y(1).c_if("c", 1)
    texts = _svg_texts(svg_drawing(c))
    for label in ("q[0]", "q[1]", "q[2]", "c", "H", "Rz(0.5)", "Rx(0.25)", "Rxx(1)", "Y", "c==1", "0"):
        assert label in texts
    assert texts.count("H") == 1


def test_svg_escapes_text():
    c = Circuit(1).unitary([[0, 1], [1, 0]], 0, label="<a&b>")
    svg = svg_drawing(c)
    assert "&lt;a&amp;b&gt;" in svg
    assert "<a&b>" in _svg_texts(svg)


def test_svg_user_gate_label():
    assert "my" in _svg_texts(svg_drawing(Circuit(2).unitary(np.eye(4), [0, 1], label="my")))


@pytest.mark.parametrize("circuit", [Circuit(), Circuit(0, 2), Circuit(2), Circuit(0, 1).barrier()])
def test_svg_empty_circuits(circuit):
    root = ET.fromstring(svg_drawing(circuit))
    assert root.tag == f"{SVG_NS}svg"
    assert float(root.attrib["width"]) > 0 and float(root.attrib["height"]) > 0


def test_repr_html_wraps_svg():
    c = _bell()
    page = c._repr_html_()
    assert c._repr_svg_() == svg_drawing(c)
    assert svg_drawing(c) in page
    assert page.startswith("<div") and page.endswith("</div>")


# -------------------------------------------------------------- coverage
def test_every_library_gate_draws():
    c = _every_gate()
    c.add_creg("c", 3)
    c.measure([0, 1, 2], [0, 1, 2]).reset(0).barrier().delay(5, 1, unit="us").x(2).c_if("c", 5)
    text = text_drawing(c, width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    texts = _svg_texts(svg_drawing(c))
    for label in ("H", "√X", "Rx(0.1)", "U3(0.1,0.2,0.3)", "Rxy(0.1,0.2)", "iSwap", "Rzz(0.1)",
                  "U(0.1,0.2,0.3,0.4)", "Delay(5us)", "|0⟩", "c==5"):
        assert label in texts, label
        assert label.replace("⟩", ">") in text, label


@pytest.mark.parametrize("name", sorted(GATES))
def test_each_library_gate_draws(name):
    d = GATES[name]
    c = Circuit(d.num_qubits + 1).append(name, list(range(d.num_qubits, 0, -1)), [0.5] * d.num_params)
    text = text_drawing(c)
    assert len(text.splitlines()) == 2 * (d.num_qubits + 1) - 1
    ET.fromstring(svg_drawing(c))


# ------------------------------------------------------- outputs and files
def _slide_circuit() -> Circuit:
    return Circuit(2, 2).h(0).rx(np.pi / 2, 1).cu(3 * np.pi / 4, 0, -np.pi, 0, 0, 1).measure(range(2), range(2))


def test_draw_outputs_text_svg_and_mpl():
    c = _slide_circuit()
    assert c.draw() == c.draw("text") == text_drawing(c) == str(c)
    assert c.draw("text", width=20) == text_drawing(c, width=20)
    assert c.draw("svg") == svg_drawing(c)
    assert {"Rx(π/2)", "U(3π/4,0,-π,0)"} <= set(_svg_texts(c.draw("svg")))
    import matplotlib.pyplot as plt

    ax = c.draw("mpl")
    try:
        assert {"Rx(π/2)", "U(3π/4,0,-π,0)", "H", "q[0]", "c"} <= {t.get_text() for t in ax.texts}
        assert ax.get_ylim()[0] > ax.get_ylim()[1] and not ax.axison
    finally:
        plt.close(ax.figure)
    fig, given = plt.subplots()
    try:
        assert c.draw("mpl", ax=given) is given
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "output,options,match",
    [
        ("png", {}, r"Cannot draw the circuit as 'png': allowed outputs are 'text', 'svg' and 'mpl'"),
        ("text", {"ax": None}, r"Cannot draw the circuit as 'text': unknown option\(s\) \['ax'\]; it takes \['width'\]"),
        ("svg", {"width": 3}, r"unknown option\(s\) \['width'\]; it takes none"),
    ],
)
def test_draw_errors(output, options, match):
    with pytest.raises(CircuitError, match=match):
        _slide_circuit().draw(output, **options)


def test_save_writes_svg_pdf_and_png(tmp_path):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    c = _slide_circuit()
    svg = c.save(tmp_path / "fig.svg")
    assert svg.read_text(encoding="utf-8") == svg_drawing(c)
    assert c.save(str(tmp_path / "fig.pdf")).read_bytes().startswith(b"%PDF")
    png = c.save(tmp_path / "fig.png", dpi=100)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert plt.get_fignums() == open_before  # saving leaves no pyplot figure behind
    with pytest.raises(CircuitError, match=r"Cannot save the circuit to '.*fig.docx': unknown format 'docx'; use one of .*\.pdf.*\.png"):
        c.save(tmp_path / "fig.docx")
    assert not (tmp_path / "fig.docx").exists()


def test_text_and_svg_drawings_do_not_import_matplotlib():
    code = (
        "import sys; from qlab import Circuit; c = Circuit(1).h(0); c.draw(); c.draw('svg'); "
        "assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
