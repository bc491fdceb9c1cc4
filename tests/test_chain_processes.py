"""qlab.chain with plugins in their own processes: scripts, real sockets, long streams, dying plugins."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlab import Circuit
from qlab.chain import ArbCmd, ArbData, Gate, Measurement, Operator, PluginDefinition, PluginSpec, Simulation, plugins
from qlab.circuit import gate_matrix
from qlab.chain.wire import FrameReader, decode_batch, encode_batch
from qlab.exceptions import ChainDefinitionError, ChainError, ChainPluginError

pytestmark = pytest.mark.timeout(120)

STREAM_FRONTEND = """
from qlab.chain import Gate, PluginDefinition, run_plugin

fe = PluginDefinition("frontend", "stream", "tests", "1")

@fe.callback
def run(state, args):
    q = state.allocate(2)
    h, mz = Gate.library("h", q[0]), Gate.measure(q[1])
    n = args.json["n"]
    for i in range(n):
        state.gate(h if i % 2 else mz)
    state.measure(q[0])
    return {"sent": n, "last": state.get_measurement(q[0]).value}

if __name__ == "__main__":
    run_plugin(fe)
"""

FLIP_OPERATOR = """
import sys
from qlab.chain import Operator, run_plugin

class Flip(Operator, name="flip", author="tests", version="1"):
    def initialize(self, state, cmds):
        state.info(f"flip starts with {len(cmds)} init cmds")
        print("hello from the flip operator's stdout")

    def modify_measurement(self, state, m):
        return m.replace(value=1 - m.value)

if __name__ == "__main__":
    run_plugin(Flip())
"""

DYING_BACKEND = """
import os, signal
from qlab.chain import Measurement, PluginDefinition, run_plugin

be = PluginDefinition("backend", "fragile", "tests", "1")
count = 0

@be.callback
def gate(state, gate):
    global count
    count += 1
    if count == {after}:
        import sys
        print("about to go", file=sys.stderr, flush=True)
        {how}
    return [Measurement(q, 0) for q in gate.measures]

if __name__ == "__main__":
    run_plugin(be)
"""


class Parity(Operator, name="parity", author="tests", version="1"):
    """A module-level subclass: importable, so it runs in a plugin process by its spec."""

    def modify_measurement(self, state, measurement):
        return [measurement, Measurement(measurement.qubit + 1000, measurement.value)]


def script(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_wire_frames_round_trip_every_message_kind():
    from qlab.chain import ArbCmd, ArbData, Gate, Measurement
    from qlab.chain import protocol as P
    from qlab.chain.runtime import Counters

    batch = [
        (P.ALLOCATE, (1, 2), [ArbCmd("a", "b", {"x": [1, 2]})]), (P.FREE, (2,)),
        (P.GATE, Gate.unitary([2], [[0, 1], [1, 0]], controls=[1], data={"k": "v"})),
        (P.GATE, Gate.measure(1, basis=[[0, 1], [1, 0]])), (P.GATE, Gate.custom("c", [1], data=ArbData({}, [b"\x00"]))),
        (P.ADVANCE, 7), (P.ARB, 2049, ArbCmd("i", "o")), (P.SYNC, 1025), (P.HOST_ARB, 3073, 2, ArbCmd("i", "o")), (P.DROP,),
        (P.MEASURED, [Measurement(1, None), Measurement(2, 1, {"t": 1})]), (P.SYNCED, 1025),
        (P.ARB_DONE, 2049, True, ArbData({"r": 1})), (P.HOST_ARB_DONE, 3073, False, ("op", "boom")), (P.DROPPED,),
        (P.H_RUN, ArbData({"s": 1}), [ArbData({"d": 2})]), (P.H_ARB, 1, ArbCmd("i", "o")), (P.H_STOP,),
        (P.P_RUN, "done", ArbData(), []), (P.P_ARB, True, ArbData()), (P.P_LOG, 1, "info", "text"),
        (P.P_ERROR, 1, "op", "gate", "boom"), (P.P_STOPPED,),
    ]
    framed = encode_batch(batch) + encode_batch(batch[:1])
    reader = FrameReader()
    payloads = reader.feed(framed[:7]) + reader.feed(framed[7:])
    assert len(payloads) == 2
    assert decode_batch(payloads[0]) == batch and decode_batch(payloads[1]) == batch[:1]
    stats = decode_batch(encode_batch([(P.P_STATS, 2, Counters(1, 2, 3, 4))])[4:])
    assert stats == [(P.P_STATS, 2, [1, 2, 3, 4])]


def test_processes_give_the_same_results_as_threads():
    """The random numbers of every plugin depend on the seed only, not on threads, processes or timing."""
    circuit = Circuit(2).h(0).cx(0, 1).rx(0.4, 1).measure_all()

    def simulate(process):
        sim = Simulation(plugins.circuit_frontend(circuit, shots=40), plugins.readout_flip(0.3, 0.1),
                         backend=plugins.null_backend(), seed=21, process=process, store=False)
        return sim.run(), sim.df()

    (threads, _), (processes, df) = simulate(False), simulate(True)
    assert threads == processes and len(threads.json["counts"]) == 4
    assert df["gates"].tolist() == [40 * 5] * 3 and df["measurements"].tolist() == [80] * 3


def test_a_script_plugin_is_launched_and_connects_back(tmp_path, caplog):
    caplog.set_level("INFO")
    frontend = script(tmp_path, "stream_fe.py", STREAM_FRONTEND)
    flip = script(tmp_path, "flip_op.py", FLIP_OPERATOR)
    sim = Simulation(frontend, flip, plugins.gate_counter(), backend=plugins.null_backend(), store=False)
    assert sim.process
    with pytest.raises(ChainError, match="'flip_op' is a script; its metadata is known once the simulation has started"):
        sim.meta("flip_op")
    with sim:
        assert sim.meta("flip_op") == {"type": "operator", "name": "flip", "author": "tests", "version": "1"}
        sim.start({"n": 30_000})  # DQCsim deadlocks after about 500 gates without synchronisation
        assert sim.wait().json == {"sent": 30_000, "last": 1}  # null backend reads 0, flipped to 1
        assert sim.arb("counter", "counter", "counts").json == {"h": 15_000, "measure": 15_001}
    df = sim.df()
    assert df["type"].tolist() == ["frontend", "operator", "operator", "backend"]
    assert df["gates"].tolist() == [30_001] * 4 and df["measurements"].tolist() == [15_001] * 4
    messages = {(r.name, r.getMessage()) for r in caplog.records}
    assert ("flip_op", "flip starts with 0 init cmds") in messages
    assert ("flip_op", "hello from the flip operator's stdout") in messages


def test_plugins_defined_in_the_interpreter_cannot_be_sent_to_a_process():
    mine = PluginDefinition("operator", "mine", "tests", "1")
    with pytest.raises(ChainDefinitionError, match=r"Plugins \['mine'\] cannot run in a process.*no code is sent"):
        Simulation(plugins.circuit_frontend(Circuit(1)), mine, backend=plugins.null_backend(), process=True, store=False)
    with pytest.raises(ChainDefinitionError, match="pass process=True"):
        Simulation("tests/test_chain_processes.py", backend=plugins.null_backend(), process=False, store=False)
    with pytest.raises(ChainDefinitionError, match="plugin script 'nowhere.py' does not exist"):
        Simulation("nowhere.py", backend=plugins.null_backend(), store=False)
    with pytest.raises(ChainDefinitionError, match="Cannot import plugin 'qlab.chain.plugins:nothing'"):
        Simulation(PluginSpec("qlab.chain.plugins:nothing"), backend=plugins.null_backend(), store=False)


def test_a_script_of_the_wrong_type_is_refused_when_it_starts(tmp_path):
    flip = script(tmp_path, "flip_op.py", FLIP_OPERATOR)
    with pytest.raises(ChainDefinitionError, match="defines a operator, but it was given as the backend"):
        Simulation(plugins.circuit_frontend(Circuit(1)), backend=flip, store=False).run()


@pytest.mark.parametrize(
    "how, status",
    [("os._exit(3)", "exited with status 3"), ("os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal SIGKILL")],
)
def test_a_dying_plugin_process_ends_the_simulation_naming_it(tmp_path, how, status):
    backend = script(tmp_path, "fragile_be.py", DYING_BACKEND.replace("{after}", "2000").replace("{how}", how))
    frontend = script(tmp_path, "stream_fe.py", STREAM_FRONTEND)
    sim = Simulation(frontend, plugins.gate_counter(), backend=backend, store=False)
    with pytest.raises(ChainPluginError, match=f"Plugin 'fragile_be' .backend. failed: its process .pid \\d+. {status} while the simulation was running") as info:
        sim.run({"n": 50_000})
    assert info.value.plugin == "fragile_be"
    assert "about to go" in str(info.value)
    assert sim.status == "failed"


def test_a_script_that_cannot_start_is_named_with_its_stderr(tmp_path):
    broken = script(tmp_path, "broken_op.py", "raise SystemExit('cannot start: missing calibration')\n")
    with pytest.raises(ChainPluginError, match=r"(?s)Plugin 'broken_op' failed: its process .* exited with status 1 before connecting.*missing calibration"):
        Simulation(plugins.circuit_frontend(Circuit(1)), broken, backend=plugins.null_backend(), store=False).run()


def test_a_callback_error_in_a_process_names_the_plugin(tmp_path):
    frontend = script(tmp_path, "stream_fe.py", STREAM_FRONTEND)
    picky = script(tmp_path, "picky_op.py", """
        from qlab.chain import PluginDefinition, run_plugin
        op = PluginDefinition("operator", "picky", "tests", "1")

        @op.callback
        def gate(state, gate):
            if gate.name == "h":
                raise ValueError("no Hadamards here")
            state.gate(gate)

        run_plugin(op)
    """)
    sim = Simulation(frontend, picky, backend=plugins.null_backend(), store=False)
    with pytest.raises(ChainPluginError, match="Plugin 'picky_op' .operator. failed in gate: ValueError: no Hadamards here"):
        sim.run({"n": 10})


def test_a_forgotten_simulation_frees_its_processes(tmp_path):
    import gc
    import os

    frontend = script(tmp_path, "stream_fe.py", STREAM_FRONTEND)
    sim = Simulation(frontend, backend=plugins.null_backend(), store=False)
    sim.start({"n": 10})
    sim.wait()
    pids = sim.pids
    del sim
    gc.collect()
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: the processes are gone


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
arb_data = st.builds(lambda j, a: ArbData(j, a), st.dictionaries(st.text(), json_values, max_size=4), st.lists(st.binary(), max_size=3))
refs = st.lists(st.integers(1, 2**31), min_size=1, max_size=3, unique=True)


@st.composite
def gates(draw):
    kind = draw(st.sampled_from(["unitary", "measure", "prepare", "custom"]))
    qubits = draw(refs)
    if kind == "unitary":
        angles = draw(st.lists(st.floats(-4, 4), min_size=3, max_size=3))
        return Gate.unitary(qubits[:1], gate_matrix("u3", angles), controls=qubits[1:], data=draw(arb_data))
    if kind == "measure":
        return Gate.measure(*qubits, data=draw(arb_data))
    if kind == "prepare":
        return Gate.prepare(*qubits, basis=gate_matrix("h"))
    return Gate.custom(draw(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)), targets=qubits, data=draw(arb_data))


@settings(max_examples=60, deadline=None)
@given(st.lists(gates(), max_size=5), st.lists(st.builds(Measurement, st.integers(1, 99), st.sampled_from([0, 1, None]), arb_data), max_size=4),
       arb_data)
def test_wire_round_trip_property(gate_list, measurements, data):
    from qlab.chain import protocol as P

    batch = [(P.GATE, g) for g in gate_list] + [(P.MEASURED, measurements), (P.H_RUN, data, [data]), (P.ARB, 1025, ArbCmd("i", "o", data))]
    (payload,) = FrameReader().feed(encode_batch(batch))
    assert decode_batch(payload) == batch


def test_an_importable_subclass_runs_in_a_process_by_its_spec():
    op = Parity()
    assert op.spec.target.endswith(":Parity")
    sim = Simulation(plugins.circuit_frontend(Circuit(1).x(0).measure_all(), shots=3), op,
                     backend=plugins.null_backend(), process=True, store=False)
    assert sim.run().json["counts"] == {"0": 3}
    assert sim.df()["measurements"].tolist() == [6, 6, 3]  # the operator added one measurement per result


def test_a_plugin_that_never_connects_times_out_naming_it(tmp_path):
    silent = script(tmp_path, "silent_op.py", "import time\ntime.sleep(600)\n")
    sim = Simulation(plugins.circuit_frontend(Circuit(1)), silent, backend=plugins.null_backend(), store=False, timeout=3)
    with pytest.raises(ChainPluginError, match=r"Plugin\(s\) \['silent_op'\] did not connect to the host within 3.0 s"):
        sim.run()
    assert sim.status == "failed"
