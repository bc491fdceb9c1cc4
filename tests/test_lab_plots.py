"""Lab plots and static HTML views, checked against hand-computed values and QuTiP's conventions."""

from __future__ import annotations

import html
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import qutip  # noqa: E402

import qlab  # noqa: E402
from qlab.devices import load_device  # noqa: E402
from qlab.exceptions import QlabError, QlabTypeError, SimulationError  # noqa: E402
from qlab.jobs import JobRecord, JobStore  # noqa: E402
from qlab.lab import compare, device_specs, plot_calibration, plot_coupling_map, plot_histogram  # noqa: E402
from qlab.qdmi import Session  # noqa: E402
from qlab.sim import NoiseModel, depolarizing  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def bars(ax) -> list:
    return [c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer)]


# ------------------------------------------------------------------ histograms
def test_histogram_keeps_the_top_outcomes_and_says_what_it_leaves_out():
    probs = {format(i, "05b"): p for i, p in enumerate(np.arange(1, 33) / np.arange(1, 33).sum())}
    ax = plot_histogram(probs, top=10)
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert shown == [format(i, "05b") for i in range(31, 21, -1)]  # most likely first
    left = sum(range(1, 23)) / sum(range(1, 33))
    notes = [t.get_text() for t in ax.texts]
    assert notes == [f"22 more outcomes, p = {left:.3g}"]


def test_histogram_error_bars_are_one_binomial_standard_deviation():
    counts = {"0": 300, "1": 700}
    ax = plot_histogram(counts)
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([0.7, 0.3])
    (errorbar,) = bars(ax)[0].errorbar.lines[2]
    segments = errorbar.get_segments()
    half_lengths = [(seg[1][1] - seg[0][1]) / 2 for seg in segments]
    assert half_lengths == pytest.approx([math.sqrt(0.7 * 0.3 / 1000)] * 2)


def test_result_plot_shows_counts_with_the_exact_expectation():
    result = qlab.simulate(qlab.Circuit(1).h(0).measure_all(), shots=400, seed=1)
    ax = result.plot(log=True)
    assert ax.get_ylabel() == "counts" and ax.get_yscale() == "log"
    exact = ax.collections[-1].get_offsets()[:, 1]
    assert list(exact) == pytest.approx([200, 200])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exact"]


def test_compare_puts_results_side_by_side_on_one_order_with_one_legend():
    bell = qlab.Circuit(2).h(0).cx(0, 1).measure_all()
    ideal = qlab.simulate(bell)
    noisy = qlab.simulate(bell, NoiseModel().with_gate_error("cx", depolarizing(0.2, 2)), shots=2000, seed=3)
    ax = compare([ideal, noisy, {"00": 0.5, "11": 0.5}], labels=["ideal", "noisy", "dict"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["00", "11", "01", "10"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ideal", "noisy", "dict"]
    assert len(ax.patches) == 12 and len({p.get_facecolor() for p in ax.patches}) == 3
    ideal_bars = [p.get_height() for p in bars(ax)[0]]
    assert ideal_bars == pytest.approx([0.5, 0.5, 0, 0])
    assert ax.get_legend().get_bbox_to_anchor() is not None and ax.get_legend().axes is ax  # inside the figure's axes


def test_compare_and_histogram_errors():
    with pytest.raises(QlabError, match="give at least one result"):
        compare([])
    with pytest.raises(SimulationError, match="Got 1 labels for 2 results"):
        compare([{"0": 1}, {"1": 1}], labels=["a"])
    with pytest.raises(QlabTypeError, match="Cannot read outcomes from int"):
        plot_histogram(3)
    with pytest.raises(SimulationError, match="top must be at least 1, got 0"):
        plot_histogram({"0": 1}, top=0)
    with pytest.raises(SimulationError, match="counts that add up to 0"):
        plot_histogram({"0": 0})


def test_result_html_is_sorted_by_probability_and_counts_what_it_leaves_out():
    circuit = qlab.Circuit(6)
    for q in range(6):
        circuit.ry(0.3 + 0.2 * q, q)
    result = qlab.simulate(circuit.measure_all())
    page = result._repr_html_()
    shown = re.findall(r"<td>([01]{6})</td>", page)
    assert len(shown) == 32
    probs = [result.probabilities[k] for k in shown]
    assert probs == sorted(probs, reverse=True)
    left = 1 - sum(probs)
    assert f"32 more outcomes, p = {left:.3g}" in page


# ------------------------------------------------------------ density matrices
def test_density_matrix_plot_follows_qutips_hinton_conventions():
    from qutip.visualization import _diverging_cmap

    rho = qlab.DensityMatrix.from_qobj(qutip.ket2dm((qutip.basis(4, 0) - 0.3 * qutip.basis(4, 3)).unit()))
    ax = rho.plot()
    image = ax.images[0]
    assert image.get_cmap().name == _diverging_cmap().name == "RdBu"
    vmin, vmax = image.get_clim()
    largest = np.abs(rho.matrix.real).max()
    assert (vmin, vmax) == pytest.approx((-largest, largest))  # symmetric, at the data's magnitude
    assert [t.get_text() for t in ax.get_yticklabels()] == ["⟨00|", "⟨01|", "⟨10|", "⟨11|"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["|00⟩", "|01⟩", "|10⟩", "|11⟩"]
    # positive entries blue, negative entries red, as in qutip.hinton
    rgba = image.to_rgba(image.get_array())
    assert rgba[0, 0, 2] > rgba[0, 0, 0] and rgba[0, 3, 0] > rgba[0, 3, 2]
    # the HTML table names rows and columns the same way
    page = rho._repr_html_()
    assert "<th>|01⟩</th>" in page and "<th>⟨01|</th>" in page


def test_density_matrix_small_coherences_are_visible_with_the_default_scale():
    rho = qlab.DensityMatrix.from_qobj(0.98 * qutip.ket2dm(qutip.basis(2, 0)) + 0.02 * qutip.qeye(2) / 2
                                       + 0.001 * qutip.sigmay())
    ax = rho.plot(kind="imag")
    assert ax.images[0].get_clim() == pytest.approx((-0.001, 0.001))
    ax = rho.plot(kind="abs", vmax=1)
    assert ax.images[0].get_clim() == pytest.approx((0, 1))


def test_three_qubits_get_a_city_plot():
    ghz = qlab.simulate(qlab.Circuit(3).h(0).cx(0, 1).cx(1, 2)).state
    ax = ghz.plot()
    assert ax.name == "3d" and len(ax.collections) == 1
    assert ghz.plot(style="map").images[0].get_array().shape == (8, 8)
    with pytest.raises(SimulationError, match="style must be 'map' or 'city', got 'bars'"):
        ghz.plot(style="bars")
    _, flat = plt.subplots()
    with pytest.raises(SimulationError, match="a city plot needs a 3D axes"):
        ghz.plot(ax=flat, style="city")


# ------------------------------------------------------------------- devices
@pytest.fixture(scope="module")
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


def test_specs_agree_between_the_description_and_the_qdmi_device(session):
    from_qdmi = device_specs(session.device("sc20"))
    from_file = device_specs(load_device("sc20"))
    for column in ("t1", "t2", "readout_fidelity", "x", "y"):
        assert from_qdmi.sites[column].to_numpy() == pytest.approx(from_file.sites[column].to_numpy())
    assert set(from_qdmi.coupling_map) == set(from_file.coupling_map)
    assert from_qdmi.native_gates == from_file.native_gates
    assert from_qdmi.now() == ("idle", 0) and from_file.now() == ("idle", None)


def test_specs_come_from_get_specs_for_any_family():
    class Qpu:
        def get_specs(self):
            return load_device("training5")

    assert device_specs(Qpu()).id == "training5"
    with pytest.raises(QlabTypeError, match="Cannot show int as a device"):
        device_specs(5)


def test_coupling_map_draws_every_coupling_with_readable_labels(session):
    sc20 = load_device("sc20")
    ax = plot_coupling_map(session.device("sc20"), color_by="readout_fidelity")
    edges = [c for c in ax.collections if hasattr(c, "get_segments")][0]
    assert len(edges.get_segments()) == len(sc20.coupling_map)
    cz = {pair: f for pair, f in zip(sc20.operation("cz").sites, sc20.operation("cz").fidelities)}
    assert list(edges.get_array()) == pytest.approx([cz[p] for p in sc20.coupling_map])
    nodes = ax.collections[-1]
    readout = np.array([s.readout_fidelity for s in sc20.sites])
    faces = nodes.cmap(nodes.norm(readout))  # the colour each site's value maps to
    assert np.allclose(nodes.get_facecolors(), faces)
    ax.figure.canvas.draw()
    drawn_edges = edges.get_colors()
    assert len(drawn_edges) == len(sc20.coupling_map) and len({tuple(c) for c in drawn_edges}) > 1  # coloured by fidelity
    for text, face in zip(ax.texts, faces):
        luminance = 0.2126 * face[0] + 0.7152 * face[1] + 0.0722 * face[2]
        ink = matplotlib.colors.to_rgb(text.get_color())[0]
        assert abs(luminance - ink) > 0.45  # dark ink on light nodes, white on dark ones
    assert ax.get_title() == "sc20: coupling map"
    with pytest.raises(QlabError, match="color_by must be one of t1, t2, readout_fidelity, got 'colour'"):
        plot_coupling_map("sc20", color_by="colour")


def test_coupling_map_without_coordinates_uses_a_circle():
    ax = plot_coupling_map("ideal")
    assert ax.get_xlabel() == "" and len(ax.texts) == 12
    (edges,) = [c for c in ax.collections if hasattr(c, "get_segments")]
    assert len(edges.get_segments()) == 66 and edges.get_array() is None  # perfect gates: no fidelity colours


def test_calibration_plots_show_the_descriptions_numbers():
    t5 = load_device("training5")
    ax = plot_calibration("training5", "coherence")
    t1_bars = [p.get_height() for p in bars(ax)[0]]
    assert t1_bars == pytest.approx([t5.seconds(s.t1) * 1e6 for s in t5.sites])
    ax = plot_calibration("training5", "gates")
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "cx 0,1" in labels
    assert ax.patches[labels.index("cx 0,1")].get_height() == pytest.approx(1 - t5.operation("cx").fidelity((0, 1)))
    with pytest.raises(QlabError, match="what must be one of coherence, readout, gates, got 't1'"):
        plot_calibration("training5", "t1")
    with pytest.raises(QlabError, match="device 'ideal' reports no T1 or T2"):
        plot_calibration("ideal", "coherence")


# ---------------------------------------------------------------- static HTML
def test_calibrated_noise_model_is_a_table_per_gate_and_qubits():
    t5 = load_device("training5")
    model = NoiseModel.from_device(t5)
    table = model.df()
    cx01 = table[(table["name"] == "cx") & (table["qubits"] == "0,1")].iloc[0]
    assert cx01["error"] == pytest.approx(1 - t5.operation("cx").fidelity((0, 1)), abs=1e-9)
    assert cx01["duration_ns"] == pytest.approx(t5.seconds(t5.operation("cx").duration((0, 1))) * 1e9)
    readout = table[table["kind"] == "readout"].set_index("qubits")["error"]
    assert readout["2"] == pytest.approx(1 - t5.sites[2].readout_fidelity)
    page = model._repr_html_()
    assert "errors per gate and qubits" in page and "<td>0,1</td>" in page and "<script" not in page
    assert NoiseModel()._repr_html_() == "<p>NoiseModel(): no noise</p>"


def test_job_record_store_and_operation_render_as_tables(session):
    store = JobStore(":memory:")
    record = JobRecord.new("qpu", "ideal", "x q;", "qasm3", {"shots": 7}, id="job-<1>")
    store.add(record)
    page = record._repr_html_()
    assert "job-&lt;1&gt;" in page and "<th style='text-align:left'>shots</th>" in page
    listing = store._repr_html_()
    assert "1 job(s), times in UTC" in listing and "job-&lt;1&gt;" in listing
    for i in range(25):
        store.add(JobRecord.new("qdmi", "ideal", id=f"more-{i}"))
    assert "6 older job(s) not shown" in store._repr_html_()
    cz = session.device("sc20").operation("cz")
    assert "Operation 'cz' on 'sc20': 2 qubit(s)" in html.unescape(cz._repr_html_())
    assert "<script" not in cz._repr_html_()


def test_a_qpu_result_plots_directly():
    from qlab.qpu import DensityMatrixQPU, Job, Observable

    qpu = DensityMatrixQPU(seed=3)
    bell = qlab.Circuit(2).h(0).cx(0, 1)
    sampled = qpu.submit(Job(bell, nbshots=500))
    ax = plot_histogram(sampled)
    heights = dict(zip([t.get_text() for t in ax.get_xticklabels()], [bar.get_height() for bar in ax.patches]))
    assert heights == pytest.approx(sampled.probabilities)
    assert sum(round(p * 500) for p in heights.values()) == 500 and bars(ax)[0].errorbar is not None   # shot noise shown
    exact = plot_histogram(qpu.submit(Job(bell)))
    assert [bar.get_height() for bar in exact.patches] == pytest.approx([0.5, 0.5])
    with pytest.raises(QlabTypeError, match="without samples \\(an observable's result"):
        plot_histogram(qpu.submit(Job(bell, observable=Observable(2, {"ZZ": 1.0}))))
