"""The lab's widgets driven without a browser: clicking buttons and setting traits."""

from __future__ import annotations

import asyncio
import threading
import time

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from qlab.exceptions import QlabError  # noqa: E402
from qlab.jobs import JobRecord, JobStatus, JobStore  # noqa: E402
from qlab.lab import DeviceConsole, JobQueue  # noqa: E402
from qlab.lab.console import EXAMPLES, TABS  # noqa: E402
from qlab.qdmi import Session  # noqa: E402

PNG = b"\x89PNG"


@pytest.fixture
def session():
    with Session(store=JobStore(":memory:"), mqt=False) as s:
        yield s


def until(predicate, refresh, timeout: float = 60.0) -> None:
    """Call ``refresh()`` until ``predicate()`` holds (the kernel's refresh task, by hand)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
        refresh()


def hold(device):
    """Make the device's jobs wait in its runner until the returned event is set."""
    release, inner = threading.Event(), device._run

    def held(record):
        assert release.wait(30)
        return inner(record)

    device._run = held
    return release


# ------------------------------------------------------------------ console
def test_console_has_the_five_tabs_and_the_overview(session):
    console = DeviceConsole(session.device("training5"))
    assert [console.tabs.get_title(i) for i in range(5)] == list(TABS)
    overview = console.overview.value
    for needle in ("training5", "cx", "qasm2", "queue length"):
        assert needle in overview
    assert "IDLE" in console.header.value
    calibration = console.tabs.children[1]
    assert "sites (µs, µm)" in calibration.children[0].value
    assert all(bytes(image.value).startswith(PNG) for image in calibration.children[1:])
    first = console.topology.value
    console.color_by.value = "readout_fidelity"
    assert bytes(console.topology.value).startswith(PNG) and console.topology.value != first
    console.close()
    assert not console.refresher.running


def test_submit_click_adds_a_job_whose_result_opens_when_done(session):
    device = session.device("training5")
    console = DeviceConsole(device)
    console.example.value = "GHZ, 3 qubits"
    assert console.program.value == EXAMPLES["GHZ, 3 qubits"]
    console.shots.value, console.seed.value = 500, "11"
    console.submit_button.click()
    job = console.pending
    assert job is not None and "Submitted job" in console.submit_message.value
    assert job.id in set(console.jobs.rows()["id"])
    until(lambda: console.pending is None, console.refresh)
    assert "is DONE" in console.submit_message.value
    assert bytes(console.result_image.value).startswith(PNG)
    counts = job.counts()
    assert sum(counts.values()) == 500
    top = max(counts, key=counts.get)
    assert top in ("000", "111") and f"<td>{top}</td>" in console.result_table.value
    console.jobs.refresh()
    assert console.jobs.rows().set_index("id").loc[job.id, "status"] == "done"
    console.close()


@pytest.mark.parametrize(
    ("program", "shots", "seed", "message"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n', 100, "", "line 5"),
        (EXAMPLES["Bell pair"], 0, "", "SHOTSNUM"),
        (EXAMPLES["Bell pair"], 10**12, "", "SHOTSNUM"),
        (EXAMPLES["Bell pair"], 100, "seven", "The seed must be a whole number &gt;= 0 or empty (random), got &#x27;seven&#x27;"),
    ],
    ids=["qasm-syntax", "zero-shots", "absurd-shots", "bad-seed"],
)
def test_bad_input_is_shown_in_the_submit_tab(session, program, shots, seed, message):
    console = DeviceConsole(session.device("training5"))
    console.program.value, console.shots.value, console.seed.value = program, shots, seed
    console.submit_button.click()
    assert console.pending is None
    assert "The job was not submitted" in console.submit_message.value
    assert message in console.submit_message.value
    assert console.jobs.rows().empty
    # the widget stays usable
    console.program.value, console.shots.value, console.seed.value = EXAMPLES["Bell pair"], 100, "1"
    console.submit_button.click()
    assert console.pending is not None
    console.close()


def test_a_failed_job_and_a_closed_session_are_reported_in_the_widget():
    session = Session(store=JobStore(":memory:"), mqt=False)
    device = session.device("training5")

    def broken(record):
        raise RuntimeError("the fridge warmed up")

    device._run = broken
    console = DeviceConsole(device)
    console.submit_button.click()
    until(lambda: console.pending is None, console.refresh)
    assert "FAILED" in console.submit_message.value and "the fridge warmed up" in console.submit_message.value
    session.close()
    console.submit_button.click()
    assert "The job was not submitted" in console.submit_message.value and "closed" in console.submit_message.value
    console.refresh()
    console.close()


def test_a_description_gets_a_console_without_submit():
    console = DeviceConsole("sc20")
    assert console.submit_button.disabled and "Session().device(id)" in console.submit_message.value
    assert console.jobs is None and "sc20" in console.overview.value
    console.close()


# ---------------------------------------------------------------- job queue
def test_queue_filters_by_device_family_and_status():
    store = JobStore(":memory:")
    for i, (family, device) in enumerate([("qdmi", "ideal"), ("qpu", "ideal"), ("qdmi", "sc20"), ("chain", "sim")]):
        store.add(JobRecord.new(family, device, "x q;", "qasm3", {"shots": 10 + i}, id=f"j{i}"))
    store.set_status("j3", "submitted")
    table = JobQueue(store)
    assert list(table.rows()["id"]) == ["j0", "j1", "j2", "j3"]
    assert set(table.family_filter.options) == {"all", "qdmi", "qpu", "chain"}
    table.device_filter.value = "ideal"
    assert list(table.rows()["id"]) == ["j0", "j1"] and len(table.body.children) == 2
    table.family_filter.value = "qpu"
    assert list(table.rows()["id"]) == ["j1"]
    table.device_filter.value, table.family_filter.value, table.status_filter.value = "all", "all", "submitted"
    assert list(table.rows()["id"]) == ["j3"] and len(table.body.children) == 1
    assert "j3" in repr(table) and "times UTC" in repr(table)
    table.close()


def test_cancel_per_row_and_the_result_view(session):
    device = session.device("ideal")
    release = hold(device)
    console = DeviceConsole(device)
    console.shots.value, console.seed.value = 200, "3"
    running = console.submit()
    waiting = console.submit()
    table = console.jobs
    table.refresh()
    _, _, cancel_button = table._rows[waiting.id]
    cancel_button.click()
    assert "Canceled job" in table.message.value
    assert session.store.get(waiting.id).status is JobStatus.CANCELED
    assert table._rows[waiting.id][2].disabled
    table.show(running.id)
    assert "No result yet" in table.result_table.value
    release.set()
    assert running.wait(timeout=60).name == "DONE"
    table.refresh()  # the open selection fills in once the job is done
    assert bytes(table.result_image.value).startswith(PNG)
    assert sum(running.counts().values()) == 200 and "200 shots" in table.result_table.value
    table._rows[running.id][2].click()  # cancelling a finished job: the reason is shown, nothing raised
    assert "already finished" in table.message.value
    console.close()


def test_cancel_without_a_live_handle_says_what_to_pass():
    store = JobStore(":memory:")
    store.add(JobRecord.new("qpu", "remote", id="r1"))
    table = JobQueue(store)
    table.cancel("r1")
    assert "pass the session or device that runs it" in table.message.value
    table.close()


def test_queue_refreshes_on_the_event_loop_and_stops_when_closed():
    store = JobStore(":memory:")

    async def scenario():
        table = JobQueue(store, interval=0.02)
        assert table.running and table.rows().empty
        store.add(JobRecord.new("emulator", "selene", id="late"))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if len(table.body.children) == 1:
                break
        assert len(table.body.children) == 1 and "late" in table.summary.value + repr(table)
        table.close()
        await asyncio.sleep(0.05)
        assert not table.running

    asyncio.run(scenario())


def test_queue_rejects_a_bad_interval():
    with pytest.raises(QlabError, match="interval must be a positive number of seconds, got 0"):
        JobQueue(JobStore(":memory:"), interval=0)


# ------------------------------------------------------------ noise explorer
def test_explorer_fidelity_follows_the_depolarizing_formula():
    import qlab
    from qlab.lab import NoiseExplorer

    explorer = NoiseExplorer(qlab.Circuit(2).h(0).cx(0, 1).measure_all())
    assert explorer.fidelity == pytest.approx(1.0) and bytes(explorer.image.value).startswith(PNG)
    for p in (0.05, 0.2):
        explorer.depolarizing.value = p
        # h then depolarizing p: F = 1 - p/2 with |Phi+>; cx then 2-qubit depolarizing p: F -> (1 - p) F + p/4
        assert explorer.fidelity == pytest.approx((1 - p) * (1 - p / 2) + p / 4)
        assert f"{explorer.fidelity:.4f}" in explorer.stats.value


def test_explorer_relaxation_matches_the_t1_decay_of_an_excited_qubit():
    import math

    import qlab
    from qlab.lab import NoiseExplorer

    explorer = NoiseExplorer(qlab.Circuit(1).x(0).measure_all())
    explorer.t1.value, explorer.t2.value, explorer.gate_time.value = 10.0, 10.0, 1000.0
    # the x gate lasts 1 µs with T1 = 10 µs: P(1) = exp(-0.1)
    assert explorer.fidelity == pytest.approx(math.exp(-0.1))
    explorer.readout.value = 0.1
    assert explorer.fidelity == pytest.approx(math.exp(-0.1))  # readout errors do not change the state
    explorer.t2.value = 50.0
    assert "T2 (50 µs) cannot exceed 2·T1 (20 µs)" in explorer.stats.value


# ------------------------------------------------------------------ progress
def test_batch_and_wait_all_with_progress(session, capsys):
    from qlab.lab import submit_batch, wait_all

    device = session.device("ideal")
    programs = [EXAMPLES["Bell pair"], EXAMPLES["X on qubit 1"], EXAMPLES["superposition"]]
    jobs = submit_batch(device, programs, shots=100, seed=5)
    statuses = wait_all(jobs, timeout=120)
    assert [s.name for s in statuses] == ["DONE"] * 3
    assert jobs[1].counts() == {"01": 100}
    assert "jobs: 100%" in capsys.readouterr().err


def test_wait_all_times_out_with_a_clear_message(session):
    from qlab.exceptions import QlabTimeoutError
    from qlab.lab import submit_batch, wait_all

    device = session.device("ideal")
    release = hold(device)
    jobs = submit_batch(device, [EXAMPLES["Bell pair"]] * 2, progress=False)
    with pytest.raises(QlabTimeoutError, match=r"2 of 2 job\(s\) still running after 0.1 s"):
        wait_all(jobs, timeout=0.1, progress=False)
    release.set()
    assert [s.name for s in wait_all(jobs, progress=False)] == ["DONE", "DONE"]
