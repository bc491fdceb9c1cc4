"""Emulator runs as jobs of the store: recorded, listed, waited on, cancelled."""

from __future__ import annotations

import time

import pytest

from qlab.emulator import Emulator, LiveMetrics, StatevectorSimulator
from qlab.emulator.job import FAMILY
from qlab.exceptions import JobStateError, PluginError
from qlab.jobs import JobStatus, JobStore


def flip(ctx):
    q = ctx.qalloc()
    ctx.x(q)
    ctx.result("m", ctx.measure(q))


def slow(ctx):
    q = ctx.qalloc()
    ctx.h(q)
    if ctx.measure(q):
        ctx.x(q)
    time.sleep(0.01)
    ctx.result("m", ctx.measure(q))


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as s:
        yield s


def test_a_submitted_run_is_a_job_in_the_store(store):
    job = Emulator(1, simulator=StatevectorSimulator()).submit(flip, shots=20, seed=3, store=store)
    result = job.result(timeout=60)
    assert result.counts("m") == {"1": 20}
    record = store.get(job.id)
    assert record.status is JobStatus.DONE and record.family == FAMILY
    assert record.device == "StatevectorSimulator" and record.program_format == "python"
    assert "ctx.x(q)" in record.program
    assert record.parameters["shots"] == 20 and record.parameters["seed"] == 3
    assert record.parameters["simulator"] == "StatevectorSimulator()"
    assert record.results["counts"] == {"m": {"1": 20}}
    frame = store.df()
    assert FAMILY in set(frame.family)


def test_a_job_gives_the_same_shots_as_run(store):
    emulator = Emulator(1)
    job = emulator.submit(slow, shots=15, seed=4, store=store)
    assert job.result(timeout=60).df().equals(emulator.run(slow, shots=15, seed=4).df())


def test_a_running_job_can_be_cancelled(store):
    job = Emulator(1).submit(slow, shots=100_000, seed=1, store=store)
    deadline = time.monotonic() + 30
    while job.shots_done < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert job.cancel()
    record = job.wait(timeout=30)
    assert record.status is JobStatus.CANCELED
    assert job.shots_done < 100_000
    with pytest.raises(JobStateError, match="ended canceled"):
        job.result(timeout=5)


def test_waiting_with_a_progress_bar(store, capsys):
    job = Emulator(1).submit(slow, shots=30, seed=2, store=store)
    assert job.wait(timeout=60, progress=True).status is JobStatus.DONE
    assert "30/30" in capsys.readouterr().err


def test_qasm_programs_keep_their_text_in_the_record(store):
    from qlab.emulator import qasm_program

    text = 'OPENQASM 3.0; include "stdgates.inc"; qubit[1] q; bit[1] c; x q[0]; c[0] = measure q[0];'
    job = Emulator(1).submit(qasm_program(text), shots=5, seed=1, store=store)
    assert job.result(timeout=60).counts("c") == {"1": 5}
    assert store.get(job.id).program == text and store.get(job.id).program_format == "qasm"


@pytest.mark.parametrize("program, shots, n_processes", [(flip, 2000, 1), (slow, 8, 2)],
                         ids=["sampled", "shot-by-shot-in-two-processes"])
def test_live_metrics_end_with_the_totals_of_every_shot(program, shots, n_processes):
    live = LiveMetrics(every=3)
    result = Emulator(1, simulator=StatevectorSimulator()).run(program, shots=shots, seed=5, n_processes=n_processes,
                                                               live=live)
    groups = result.metrics_df().groupby(["category", "name"], observed=True)["value"]
    snapshot = live.snapshot
    assert snapshot.shots == shots
    assert {key: agg[0] for key, agg in snapshot.aggregates.items()} == groups.size().to_dict()
    assert {key: agg[1] for key, agg in snapshot.aggregates.items()} == pytest.approx(groups.sum().to_dict())


@pytest.mark.parametrize("every, interval, match", [(0, 0.5, "every must be an int >= 1"),
                                                    (10, 0, "interval must be a positive number")])
def test_live_metrics_refuse_bad_settings(every, interval, match):
    with pytest.raises(PluginError, match=match):
        LiveMetrics(every=every, interval=interval)
