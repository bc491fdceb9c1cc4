"""qlab.lab.ChainDiagram: the live view of a plugin chain (widget logic in plain pytest)."""

from __future__ import annotations

import asyncio

import pytest

from qlab import Circuit
from qlab.chain import PluginDefinition, Simulation, plugins
from qlab.exceptions import QlabTypeError
from qlab.lab import ChainDiagram

pytestmark = pytest.mark.timeout(60)


def talking_frontend():
    def run(state, args):
        state.info("starting")
        q = state.allocate(1)
        for _ in range(args.json.get("n", 10)):
            state.measure(q[0])
        state.send({"done": True})
        state.note("finished")
        return {}

    return PluginDefinition("frontend", "talker", "tests", "1", run=run)


def test_the_view_shows_counters_logs_and_queues():
    sim = Simulation(talking_frontend(), plugins.gate_counter(trace=True), backend=plugins.null_backend(), store=False)
    view = ChainDiagram(sim)
    assert "new" in view.picture.value and "Pick a plugin" in view.log_view.value
    sim.send({"x": 1})
    view.refresh()
    assert "send (host to frontend)</td><td>1</td><td><code>ArbData({&#x27;x&#x27;: 1})" in view.queue_view.value
    with sim:
        sim.start({"n": 7})
        sim.wait()
        view.refresh()
        assert ">7<" in view.picture.value  # the counters: 7 gates through every plugin
        assert "recv (frontend to host)</td><td>1</td>" in view.queue_view.value
        view.plugins.value = "talker"  # as a click in the browser would
        assert "starting" in view.log_view.value and "finished" in view.log_view.value
        assert 'stroke="#dc2626"' in view.picture.value  # the picked plugin is outlined
        view.plugins.value = "tracer"
        assert view.log_view.value.count("Gate.measure(1)") == 7
    view.close()


def test_the_view_refreshes_itself_on_the_event_loop_while_the_chain_runs():
    sim = Simulation(plugins.circuit_frontend(Circuit(2).h(0).cx(0, 1).measure_all(), shots=50),
                     plugins.gate_counter(), backend=plugins.density_matrix_backend(), store=False)

    async def watch():
        view = ChainDiagram(sim, interval=0.01)
        assert view.live
        future = sim.submit()
        result = await asyncio.wrap_future(future)
        before = view.picture.value
        for _ in range(200):  # no refresh() call here: the view's own task redraws it
            if view.picture.value != before and ">200<" in view.picture.value:
                break
            await asyncio.sleep(0.01)
        view.close()
        return result, view

    result, view = asyncio.run(watch())
    assert sum(result.json["counts"].values()) == 50
    assert ">200<" in view.picture.value and not view.live
    sim.stop()


def test_the_view_needs_a_simulation():
    with pytest.raises(QlabTypeError, match="ChainDiagram needs a qlab.chain.Simulation, got str"):
        ChainDiagram("sim")
