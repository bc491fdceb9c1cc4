"""Every notebook in ``notebooks/`` runs top to bottom in a fresh kernel.

The kernel is the interpreter running the tests: a kernel spec written for
``sys.executable`` is used instead of whatever ``python3`` spec the machine
has, so ``make test`` checks the notebooks against the ``.venv`` it built.
Figures go through matplotlib's inline backend, which renders with Agg
(no display needed) and turns every figure into an ``image/png`` output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
QUICKSTART = ROOT / "notebooks" / "00_quickstart.ipynb"

KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
"""Inline figures, whatever backend the calling shell selects."""

CELL_TIMEOUT = 300
"""Seconds one cell may take."""


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernel spec directory whose ``python3`` runs this very interpreter."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / "python3")
    return kernels


def execute(nb: nbformat.NotebookNode, cwd: Path, kernel_dir: Path) -> nbformat.NotebookNode:
    """Run ``nb`` in place in a fresh kernel started in ``cwd``; raise on the first failing cell."""
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env={**os.environ, **KERNEL_ENV})
    return nb


@pytest.fixture(scope="session")
def executed(kernel_dir):
    """Run each notebook at most once per test process; ``executed(path)`` returns it run."""
    cache: dict[Path, nbformat.NotebookNode] = {}

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in cache:
            cache[path] = execute(nbformat.read(path, as_version=4), path.parent, kernel_dir)
        return cache[path]

    return run


def code_cell(nb: nbformat.NotebookNode, needle: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains ``needle``."""
    found = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"expected one code cell containing {needle!r}, found {len(found)}"
    return found[0]


def mime_types(cell: nbformat.NotebookNode) -> set[str]:
    return {mime for out in cell.outputs for mime in out.get("data", {})}


def stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


# ------------------------------------------------------------------ all notebooks
def test_the_quickstart_is_there():
    assert QUICKSTART in NOTEBOOKS


def test_kernel_is_this_interpreter(kernel_dir):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, qlab\nprint(sys.executable)\nprint(sys.prefix)\nprint(qlab.__file__)")]
    )
    executable, prefix, qlab_file = stdout(execute(nb, ROOT, kernel_dir).cells[0]).splitlines()
    assert executable == sys.executable
    assert prefix == sys.prefix
    assert Path(qlab_file).resolve().is_relative_to(ROOT / "qlab")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {i} has saved outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, executed):
    nb = executed(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    for cell in code:
        assert cell.execution_count is not None
        errors = [out for out in cell.outputs if out.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}\n{cell.source}"


# ---------------------------------------------------------------- the quickstart
def test_quickstart_shows_the_circuit(executed):
    cell = code_cell(executed(QUICKSTART), "qlab.load_qasm(")
    assert "<svg" in cell.outputs[-1]["data"]["text/html"]
    assert "image/svg+xml" in mime_types(cell)
    drawing = stdout(cell)
    assert "q[0]:" in drawing and "q[1]:" in drawing


def test_quickstart_plots_the_histogram(executed):
    assert "image/png" in mime_types(code_cell(executed(QUICKSTART), "result.plot("))


def test_quickstart_tables_the_counts(executed):
    cell = code_cell(executed(QUICKSTART), "result.df()")
    html = cell.outputs[-1]["data"]["text/html"]
    for column in ("outcome", "probability", "counts"):
        assert column in html
    for outcome in ("00", "01", "10", "11"):
        assert f"<td>{outcome}</td>" in html


def test_quickstart_shows_the_state(executed):
    nb = executed(QUICKSTART)
    table = code_cell(nb, "rho = result.state")
    assert "density matrix" in table.outputs[-1]["data"]["text/html"]
    assert "image/png" in mime_types(code_cell(nb, "qutip.hinton("))


def test_quickstart_reports_a_noisy_bell_state(executed):
    text = stdout(code_cell(executed(QUICKSTART), "rho.purity()"))
    values = {name: float(v) for name, v in re.findall(r"^(purity|fidelity)\b.*?(\d\.\d+)\s*$", text, re.MULTILINE)}
    assert set(values) == {"purity", "fidelity"}
    assert 0.85 < values["purity"] < 1
    assert 0.9 < values["fidelity"] < 1


def test_quickstart_plots_the_sweep(executed):
    assert "image/png" in mime_types(code_cell(executed(QUICKSTART), "for p in strengths"))


def test_make_lab_serves_the_quickstart():
    """`make lab` starts a JupyterLab server that serves the quickstart notebook."""
    port = _free_port()
    args = f"--no-browser --port={port} --ServerApp.token= --ServerApp.password= --ServerApp.open_browser=False"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )
    # Opening a file makes its folder the server's root.
    url = f"http://127.0.0.1:{port}/api/contents/{QUICKSTART.name}?content=0"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    model = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.5)
        assert model["type"] == "notebook" and model["name"] == QUICKSTART.name
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10) as response:
            assert response.status == 200 and b"JupyterLab" in response.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

# ---------------------------------------------------------------- the emulator notebook
EMULATOR = ROOT / "notebooks" / "04_emulator_runtime.ipynb"


def test_emulator_notebook_teleports_the_state(executed):
    text = stdout(code_cell(executed(EMULATOR), "fidelity of the received qubit"))
    assert float(text.split(":")[-1]) == pytest.approx(1, abs=1e-9)


def test_emulator_notebook_compares_runtime_metrics(executed):
    html = code_cell(executed(EMULATOR), 'table.loc["runtime"]').outputs[-1]["data"]["text/html"]
    for needle in ("rz_individual_count", "rxy_batch_count", "SoftRZRuntime", "SimpleRuntime"):
        assert needle in html


def test_emulator_notebook_plots_rus_and_the_device_decay(executed):
    nb = executed(EMULATOR)
    assert "image/png" in mime_types(code_cell(nb, "def repeat_until_success"))
    assert "image/png" in mime_types(code_cell(nb, "T1 decay on training5"))


# ------------------------------------------------------------- the plugin chain
CHAIN = ROOT / "notebooks" / "06_plugin_chain.ipynb"


def test_chain_notebook_draws_the_chain_with_counters(executed):
    nb = executed(CHAIN)
    for needle in ("sim  # the diagram", "threads and processes agree"):
        cell = code_cell(nb, needle)
        svg = next(out["data"]["image/svg+xml"] for out in cell.outputs if "image/svg+xml" in out.get("data", {}))
        assert "<svg" in svg and "gates" in svg and "tally" in svg


def test_chain_notebook_runs_threads_and_processes_alike(executed):
    nb = executed(CHAIN)
    assert "threads and processes agree: True" in stdout(code_cell(nb, "threads and processes agree"))
    assert "same counts: True" in stdout(code_cell(nb, "Reproduction.load(path)"))
    assert "application/vnd.jupyter.widget-view+json" in mime_types(code_cell(nb, "view = ChainDiagram(live)"))
# ------------------------------------------------------- the lab in notebooks
WIDGET = "application/vnd.jupyter.widget-view+json"
JOB_QUEUE = ROOT / "notebooks" / "02_job_queue.ipynb"
NOISE = ROOT / "notebooks" / "03_noise_with_qutip.ipynb"
EXERCISES = ROOT / "notebooks" / "08_exercises.ipynb"


def test_quickstart_opens_a_console_and_compares_with_one_call(executed):
    nb = executed(QUICKSTART)
    assert WIDGET in mime_types(code_cell(nb, "console = DeviceConsole("))
    assert WIDGET in mime_types(code_cell(nb, "queue = JobQueue("))
    assert "image/png" in mime_types(code_cell(nb, "compare([ideal, result, job]"))


def test_devices_notebook_uses_the_library_plots_and_the_console(executed):
    path = ROOT / "notebooks" / "01_devices_and_jobs.ipynb"
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "def plot_" not in source and "LineCollection" not in source
    nb = executed(path)
    assert "image/png" in mime_types(code_cell(nb, "plot_coupling_map(sc20, ax=left)"))
    assert WIDGET in mime_types(code_cell(nb, "DeviceConsole(sc20)"))


def test_job_queue_notebook_runs_a_batch_and_shows_the_table(executed):
    nb = executed(JOB_QUEUE)
    assert "{'DONE'}" in stdout(code_cell(nb, "statuses = wait_all("))
    assert WIDGET in mime_types(code_cell(nb, "queue = JobQueue("))


def test_noise_notebook_fits_t1_and_t2_and_matches_mesolve(executed):
    nb = executed(NOISE)
    fits = {name: (float(value), float(err)) for name, value, err in
            re.findall(r"fitted (T[12]) = ([\d.]+) ± ([\d.]+) µs", "".join(stdout(c) for c in nb.cells if c.cell_type == "code"))}
    assert fits["T1"][0] == pytest.approx(40, abs=max(3 * fits["T1"][1], 1.0))
    assert fits["T2"][0] == pytest.approx(25, abs=max(3 * fits["T2"][1], 1.0))
    x_diff, z_diff = map(float, re.findall(r"<[XZ]> ([\d.e+-]+)", stdout(code_cell(nb, "largest difference from mesolve")))[:2])
    assert x_diff < 1e-5 and z_diff < 1e-5
    assert WIDGET in mime_types(code_cell(nb, "explorer = NoiseExplorer("))


EXERCISE_SOLUTIONS = {
    1: "math.sin(math.pi / 6) ** 2",
    2: "qlab.simulate(qlab.Circuit(2).h(0).cx(0, 1), NoiseModel().with_gate_error('cx', depolarizing(0.1, 2))).state.purity()",
    3: "2500",
    4: "qlab.simulate(qlab.Circuit(1).measure_all(), NoiseModel().with_readout_error(ReadoutError.symmetric(0.05))).probabilities['0']",
    5: "-1 / np.polyfit(waits[:6], np.log(data[:6]), 1)[0]",
}
"""Right answers, written independently of the notebook's own solutions."""


def _answered(answers: dict[int, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(EXERCISES, as_version=4)
    for number, expression in answers.items():
        cell = code_cell(nb, f"answer = None  # exercise {number}")
        cell.source = cell.source.replace(f"answer = None  # exercise {number}", f"answer = {expression}")
    return nb


def test_exercises_start_unanswered(executed):
    text = "".join(stdout(c) for c in executed(EXERCISES).cells if c.cell_type == "code")
    assert text.count("not answered yet") == 5


def test_exercises_say_right_to_right_answers_and_hint_on_wrong_ones(kernel_dir):
    wrong = {1: "0.5", 2: "1.0", 3: "100", 4: "1.0", 5: "3e-6"}
    right_nb = execute(_answered(EXERCISE_SOLUTIONS), EXERCISES.parent, kernel_dir)
    right = "".join(stdout(c) for c in right_nb.cells if c.cell_type == "code")
    assert right.count(": right") == 5, right
    wrong_nb = execute(_answered(wrong), EXERCISES.parent, kernel_dir)
    text = "".join(stdout(c) for c in wrong_nb.cells if c.cell_type == "code")
    assert text.count("not yet. Hint:") == 5, text
# ------------------------------------------------------------ the compiler runtime
COMPILER_NOTEBOOK = ROOT / "notebooks" / "05_compiler_runtime.ipynb"


def test_compiler_notebook_gains_fidelity_on_sc20(executed):
    nb = executed(COMPILER_NOTEBOOK)
    text = stdout(code_cell(nb, "classical_fidelity(ideal"))
    level0, level3 = (float(x) for x in re.search(r"level 0: (\d\.\d+), at level 3: (\d\.\d+)", text).groups())
    assert 0 < level0 < level3 <= 1
    assert "image/png" in mime_types(code_cell(nb, "classical_fidelity(ideal"))


def test_compiler_notebook_tables_the_two_qubit_gates(executed):
    html = code_cell(executed(COMPILER_NOTEBOOK), "table = pd.DataFrame(").outputs[-1]["data"]["text/html"]
    for column in ("two-qubit gates in", "cz out", "compile seconds"):
        assert column in html


def test_remote_qpu_notebook_opens_a_console_on_the_remote_qpu(executed):
    nb = executed(ROOT / "notebooks" / "07_remote_qpu.ipynb")
    assert WIDGET in mime_types(code_cell(nb, "console = DeviceConsole(remote)"))
