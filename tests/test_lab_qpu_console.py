"""DeviceConsole on QPUs (local, device-backed and remote): the specs it reads and the Submit tab."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qlab.jobs import JobStore  # noqa: E402
from qlab.lab import DeviceConsole, device_specs  # noqa: E402
from qlab.lab.console import EXAMPLES  # noqa: E402
from qlab.qpu import AllocationModel, DensityMatrixQPU, DeviceQPU, HardwareSpecs, RemoteQPU  # noqa: E402
from qlab.sim import NoiseModel, ReadoutError  # noqa: E402

PNG = b"\x89PNG"


def settle(console, timeout: float = 60.0) -> None:
    """Refresh by hand (the kernel's refresh task) until the submitted job's outcome is shown."""
    deadline = time.monotonic() + timeout
    while console.pending is not None:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.02)
        console.refresh()


@pytest.fixture
def training5_qpu():
    with DeviceQPU("training5", store=JobStore(":memory:"), seed=3) as qpu:
        yield qpu


# ------------------------------------------------------------------ specs
def test_device_qpu_specs_match_the_catalog_description(training5_qpu):
    catalog = device_specs("training5")  # read from the description, not through the QPU
    specs = device_specs(training5_qpu)
    assert (specs.id, specs.num_qubits, specs.coupling_map) == ("training5", 5, catalog.coupling_map)
    for column in ("t1", "t2", "readout_fidelity"):
        np.testing.assert_allclose(specs.sites[column], catalog.sites[column])
    medians = catalog.gates.groupby("gate")["fidelity"].median()
    reported = specs.gates.set_index("gate")["fidelity"]
    for gate in ("rx", "cx"):
        assert reported[gate] == pytest.approx(medians[gate])
    assert "cx" in specs.native_gates and specs.overview()["coupling"] == "4 pairs"


def test_density_matrix_qpu_specs_read_its_noise_summary():
    noise = NoiseModel().with_readout_error(ReadoutError(p1_given_0=0.03, p0_given_1=0.08))
    specs = device_specs(DensityMatrixQPU(noise).get_specs())
    # readout fidelity = 1 - (P(1|0) + P(0|1)) / 2, the same on every qubit
    assert specs.sites["readout_fidelity"].tolist() == pytest.approx([1 - 0.11 / 2] * specs.num_qubits)
    overview = specs.overview()
    assert overview["coupling"] == "all-to-all" and overview["native gates"] == "any library gate"
    assert specs.coupling_map is None and "noisy" in specs.name


def test_specs_without_a_qubit_count_give_an_empty_device():
    specs = device_specs(HardwareSpecs(description="a black box"))
    assert (specs.num_qubits, specs.sites.empty, specs.name) == (0, True, "a black box")


# ------------------------------------------------------------------ submit
def test_submit_on_a_local_qpu_shows_exact_and_sampled_results():
    console = DeviceConsole(DensityMatrixQPU(seed=5))
    assert console.seed.disabled and console.jobs is None
    console.shots.value = 0  # exact probabilities
    job = console.submit()
    settle(console)
    assert "is DONE" in console.submit_message.value
    assert job.result().probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    assert "<td>0.5</td>" in console.result_table.value
    console.example.value, console.shots.value = "GHZ, 3 qubits", 400
    console.submit_button.click()
    job = console.pending
    settle(console)
    counts = job.counts()
    assert counts.shots == 400 and set(counts.probabilities) <= {"000", "111"}
    assert bytes(console.result_image.value).startswith(PNG) and "400 shots" in console.result_table.value
    console.close()


@pytest.mark.parametrize(
    ("program", "shots", "message"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n', 100, "line 5"),
        (EXAMPLES["Bell pair"], -1, "nbshots must be an int"),
    ],
    ids=["qasm-syntax", "negative-shots"],
)
def test_bad_input_on_a_qpu_is_shown_in_the_submit_tab(program, shots, message):
    console = DeviceConsole(DensityMatrixQPU())
    console.program.value, console.shots.value = program, shots
    console.submit_button.click()
    assert console.pending is None
    assert "The job was not submitted" in console.submit_message.value and message in console.submit_message.value
    console.close()


def test_a_refused_job_is_reported_in_the_widget():
    qpu = DensityMatrixQPU()
    qpu.apply_resource_consumption_limits(AllocationModel(max_qubits=1))
    console = DeviceConsole(qpu)
    console.submit_button.click()
    settle(console)
    message = console.submit_message.value
    assert "FAILED" in message and "max_qubits" in message, message
    console.close()


def test_device_qpu_jobs_appear_in_the_jobs_tab(training5_qpu):
    console = DeviceConsole(training5_qpu)
    assert "training5" in console.header.value and console.jobs is not None
    console.shots.value = 200
    console.submit_button.click()
    settle(console)
    assert "is DONE" in console.submit_message.value
    console.jobs.refresh()
    rows = console.jobs.rows()
    assert rows[["family", "device", "status"]].values.tolist() == [["qpu", "training5", "done"]]
    console.close()


def test_remote_qpu_console_submits_through_the_server_and_reports_it_gone():
    with DensityMatrixQPU(seed=1).serve(0, "127.0.0.1", "threaded", background=True) as server:
        remote = RemoteQPU(server.port, "127.0.0.1")
        console = DeviceConsole(remote)
        assert "all-to-all" in console.overview.value
        console.shots.value = 0
        job = console.submit()
        settle(console)
        assert job.result().probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    console.submit_button.click()  # the server has stopped
    settle(console)
    assert "FAILED" in console.submit_message.value
    console.close()
