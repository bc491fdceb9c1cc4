"""The emulator's lab view: pipeline, live job progress, results table."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from qlab.emulator import DepolarizingErrorModel, Emulator, LiveMetrics, SoftRZRuntime, StatevectorSimulator
from qlab.jobs import JobStore
from qlab.lab import EmulatorView


def coin(ctx):
    q = ctx.qalloc()
    ctx.h(q)
    m = ctx.measure(q)
    if m:
        ctx.x(q)
    time.sleep(0.002)
    ctx.result("m", m)


def emulator():
    return Emulator(1, runtime=SoftRZRuntime(max_batch_size=2), error_model=DepolarizingErrorModel(p_1q=0.01),
                    simulator=StatevectorSimulator())


def test_the_view_shows_every_plugin_with_its_parameters_and_metrics():
    em = emulator()
    view = EmulatorView(em)
    for text in ("SoftRZRuntime", "max_batch_size", "DepolarizingErrorModel", "p_1q", "StatevectorSimulator"):
        assert text in view.diagram.value
    view.show(em.run(coin, shots=10, seed=1))
    assert "gates_1q" in view.diagram.value and "rxy_individual_count" in view.diagram.value
    assert view.table.value.count("<tr") == 11  # header + 10 shots
    assert "10 of 10 shots" in view.status.value


def test_the_view_follows_a_job_on_the_event_loop(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    em = emulator()
    view = EmulatorView(em)
    seen = []

    async def follow():
        job = em.submit(coin, shots=200, seed=2, store=store)
        task = view.watch(job, interval=0.02)
        while not task.done():
            seen.append(view.status.value)
            await asyncio.sleep(0.02)

    asyncio.run(follow())
    assert any("shots" in s and "running" in s for s in seen)
    assert "200 of 200 shots" in view.status.value and "gates_1q" in view.diagram.value
    store.close()


def test_outside_an_event_loop_watch_waits_and_prints(tmp_path, capsys):
    store = JobStore(tmp_path / "jobs.sqlite")
    em = emulator()
    view = EmulatorView(em)
    assert view.watch(em.submit(coin, shots=5, seed=3, store=store)) is None
    assert "5 of 5 shots" in capsys.readouterr().out
    view.close()
    store.close()


def slow_coin(ctx):
    coin(ctx)
    time.sleep(0.003)


def test_refresh_shows_metrics_that_grow_while_the_job_runs(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    em = emulator()
    view = EmulatorView(em)
    job = em.submit(slow_coin, shots=150, seed=4, store=store, live=LiveMetrics(every=15, interval=0.1))
    view.job = job
    totals = []  # (shots in the snapshot, total of the runtime's individual rxy count) while running
    while not view.refresh():
        if view.metrics is not None:
            row = view.metrics[view.metrics["name"] == "rxy_individual_count"]
            totals.append((int(view.metrics["shots"].max()), float(row["total"].iloc[0])))
            assert "rxy_individual_count" in view.diagram.value and "running" in view.status.value
        time.sleep(0.02)
    assert len(totals) >= 2 and totals[0][0] < totals[-1][0] and totals[0][1] < totals[-1][1]  # seen, growing
    assert all(0 < shots < 150 for shots, _ in totals)
    # Finished: the view shows the aggregates of every shot, as computed from the tidy table.
    expected = job.result().metrics_df().groupby(["category", "name"], observed=True)["value"]
    expected = expected.agg(["count", "sum", "mean", "min", "max"]).reset_index()
    shown = view.metrics
    assert list(shown["name"]) == list(expected["name"]) and list(shown["category"]) == list(expected["category"])
    assert list(shown["shots"]) == list(expected["count"]) and (expected["count"] <= 150).all()
    for ours, theirs in (("total", "sum"), ("mean", "mean"), ("min", "min"), ("max", "max")):
        assert np.allclose(shown[ours], expected[theirs], rtol=1e-12, atol=0), ours
    assert job.metrics().summary().equals(shown)
    store.close()
