"""qlab.chain: data types, plugin definitions, the state API and the host API (plugins in threads)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qlab import Circuit
from qlab.chain import (
    ArbCmd,
    ArbData,
    Backend,
    Frontend,
    Gate,
    GateKind,
    Measurement,
    Operator,
    PluginDefinition,
    QubitRef,
    Reproduction,
    Simulation,
    plugins,
)
from qlab.chain.definition import CALLBACKS
from qlab.exceptions import ChainDefinitionError, ChainError, ChainPluginError, QlabTypeError
from qlab.jobs import JobStore

pytestmark = pytest.mark.timeout(60)


def frontend(run, name="fe", **callbacks):
    return PluginDefinition("frontend", name, "tests", "1", run=run, **callbacks)


def recording_backend(log: list, measure_value=1):
    """A backend that records every callback and measures ``measure_value``."""

    def gate(state, gate):
        log.append(("gate", gate))
        return [Measurement(q, measure_value) for q in gate.measures]

    return PluginDefinition(
        "backend", "rec", "tests", "1", gate=gate,
        allocate=lambda s, q, c: log.append(("allocate", [int(x) for x in q], c)),
        free=lambda s, q: log.append(("free", [int(x) for x in q])),
        advance=lambda s, c: log.append(("advance", c)),
        upstream_arb=lambda s, cmd: (log.append(("arb", cmd)), ArbData({"echo": cmd.operation_id}))[1],
    )


def sim_of(*plugins_, **kw):
    kw.setdefault("store", False)
    return Simulation(plugins_[0], *plugins_[1:-1], backend=plugins_[-1], **kw)


# ------------------------------------------------------------------------ data
def test_arb_data_holds_json_and_binary_args():
    data = ArbData({"a": [1, 2.5, None], "b": {"c": "d"}}, [b"\x00\x01", b""])
    assert data.json == {"a": [1, 2.5, None], "b": {"c": "d"}} and data.args == [b"\x00\x01", b""]
    assert ArbData.from_dict(data.to_dict()) == data
    assert not ArbData() and ArbData({"x": 1})


@pytest.mark.parametrize(
    "json, args, error, match",
    [
        ([1, 2], (), QlabTypeError, "must be a JSON object"),
        ({"x": object()}, (), ChainDefinitionError, "only JSON values"),
        ({"x": float("nan")}, (), ChainDefinitionError, "only JSON values"),
        ({1: 2}, (), ChainDefinitionError, "str keys"),
        ({}, b"abc", QlabTypeError, "list of bytes"),
        ({}, ["text"], QlabTypeError, r"args\[0\] must be bytes"),
    ],
)
def test_arb_data_refuses_what_is_not_json_or_bytes(json, args, error, match):
    with pytest.raises(error, match=match):
        ArbData(json, args)


@pytest.mark.parametrize("iface, oper", [("a b", "x"), ("", "x"), ("x", "op-1"), ("x", "é")])
def test_arb_cmd_identifiers_are_checked(iface, oper):
    with pytest.raises(ChainDefinitionError, match=r"must match \[a-zA-Z0-9_\]\+"):
        ArbCmd(iface, oper)


def test_arb_cmd_round_trip_and_type_errors():
    cmd = ArbCmd("If_1", "op_2", {"k": 1})
    assert ArbCmd.from_dict(cmd.to_dict()) == cmd and cmd.data == ArbData({"k": 1})
    with pytest.raises(QlabTypeError, match="interface_id must be a str"):
        ArbCmd(1, "x")
    with pytest.raises(QlabTypeError, match="ArbCmd data must be ArbData"):
        ArbCmd("a", "b", [1])


def test_gate_kinds():
    x = np.array([[0, 1], [1, 0]])
    u = Gate.unitary([2], x, controls=[1])
    assert u.kind is GateKind.UNITARY and u.targets == (2,) and u.controls == (1,)
    np.testing.assert_allclose(u.full_matrix(), np.eye(4)[[0, 1, 3, 2]])  # a CNOT, control first
    m = Gate.measure(1, 3, basis=np.array([[1, 1], [1, -1]]) / np.sqrt(2))
    assert m.kind is GateKind.MEASUREMENT and m.measures == (1, 3) and m.matrix.shape == (2, 2)
    p = Gate.prepare(2)
    assert p.kind is GateKind.PREPARATION and p.targets == (2,) and p.matrix is None
    c = Gate.custom("my_gate", targets=[1], measures=[2], data={"k": 1})
    assert c.kind is GateKind.CUSTOM and c.name == "my_gate" and c.data.json == {"k": 1}
    lib = Gate.library("rz", 4, params=[0.3])
    np.testing.assert_allclose(lib.matrix, np.diag([np.exp(-0.15j), np.exp(0.15j)]))
    assert lib.with_qubits({4: 7}).targets == (7,)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: Gate.unitary([1], np.ones((2, 2))), ChainDefinitionError, "not unitary"),
        (lambda: Gate.unitary([1, 2], np.eye(2)), ChainDefinitionError, "must be a 4x4 matrix"),
        (lambda: Gate.unitary([1], np.eye(2), controls=[1]), ChainDefinitionError, "both target and control"),
        (lambda: Gate.unitary([], np.eye(1)), ChainDefinitionError, "at least one target"),
        (lambda: Gate.measure(0), ChainDefinitionError, "positive integer, got 0"),
        (lambda: Gate.measure(1, 1), ChainDefinitionError, "more than once"),
        (lambda: Gate.measure(1.5), QlabTypeError, "positive integer"),
        (lambda: Gate.prepare(1, basis=np.ones((2, 2))), ChainDefinitionError, "not unitary"),
        (lambda: Gate.custom("bad name"), ChainDefinitionError, "must match"),
        (lambda: Gate.library("nope", 1), ChainDefinitionError, "nope"),
        (lambda: Gate.library("rx", 1), ChainDefinitionError, "parameter"),
        (lambda: Gate(), QlabTypeError, "Build a Gate with"),
    ],
)
def test_bad_gates_are_refused(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_measurement_values():
    assert Measurement(1, None).value is None
    assert Measurement(QubitRef(2), 1, {"t": 1}).data.json == {"t": 1}
    assert Measurement(1, 0).replace(value=None).value is None
    with pytest.raises(ChainDefinitionError, match="0, 1 or None"):
        Measurement(1, 2)
    with pytest.raises(ChainDefinitionError, match="0, 1 or None"):
        Measurement(1, True)


# ----------------------------------------------------------------- definitions
def test_metadata_is_required_and_immutable():
    d = PluginDefinition("operator", "op", "me", "1.0")
    assert (d.type.value, d.name, d.author, d.version) == ("operator", "op", "me", "1.0")
    with pytest.raises(AttributeError):
        d.name = "other"
    with pytest.raises(ChainDefinitionError, match="name must not be empty"):
        PluginDefinition("operator", "", "me", "1.0")
    with pytest.raises(QlabTypeError, match="version must be a str"):
        PluginDefinition("operator", "op", "me", 1)
    with pytest.raises(ChainDefinitionError, match="Unknown plugin type 'middle'"):
        PluginDefinition("middle", "op", "me", "1")


def test_callback_matrix_is_dqcsims():
    table = {name: "".join(row.values()) for name, row in CALLBACKS.items()}
    assert table == {
        "initialize": "ooo", "drop": "ooo", "run": "x--", "allocate": "-oo", "free": "-oo", "gate": "-ox",
        "modify_measurement": "-o-", "advance": "-oo", "upstream_arb": "-oo", "host_arb": "ooo",
    }


@pytest.mark.parametrize("kind, missing", [("frontend", "run"), ("backend", "gate")])
def test_required_callbacks_are_checked_when_the_definition_is_built(kind, missing):
    d = PluginDefinition(kind, "x", "me", "1")
    with pytest.raises(ChainDefinitionError, match=f"must define the '{missing}' callback"):
        d.validate()
    others = dict(frontend=frontend(lambda s, a: None), backend=plugins.null_backend())
    others[kind] = d
    with pytest.raises(ChainDefinitionError, match=f"must define the '{missing}' callback"):
        Simulation(others["frontend"], backend=others["backend"], store=False)
    with pytest.raises(ChainDefinitionError, match=f"must define the '{missing}' callback"):
        type("Sub", (Frontend if kind == "frontend" else Backend,), {}, name="x", author="me", version="1")()


def test_callbacks_that_do_not_apply_are_refused():
    with pytest.raises(ChainDefinitionError, match="A frontend has no 'gate' callback"):
        PluginDefinition("frontend", "x", "me", "1", gate=lambda s, g: None)
    with pytest.raises(ChainDefinitionError, match="A backend has no 'modify_measurement'"):
        PluginDefinition("backend", "x", "me", "1").callback("modify_measurement")(lambda s, m: m)
    with pytest.raises(ChainDefinitionError, match="Unknown callback 'gates'"):
        PluginDefinition("operator", "x", "me", "1", gates=lambda s, g: None)
    with pytest.raises(ChainDefinitionError, match="needs a name, author and version"):
        type("Anon", (Operator,), {})()


def test_wrong_chain_positions_are_refused():
    with pytest.raises(ChainDefinitionError, match="The backend of a chain must be a backend plugin"):
        Simulation(frontend(lambda s, a: None), backend=PluginDefinition("operator", "op", "me", "1"), store=False)
    with pytest.raises(QlabTypeError, match="operator 1 must be a PluginDefinition"):
        Simulation(frontend(lambda s, a: None), 42, backend=plugins.null_backend(), store=False)


def test_decorator_and_subclass_styles_run_the_same():
    seen = []

    class Doubler(Operator, name="doubler", author="me", version="1"):
        def gate(self, state, gate):
            seen.append("subclass")
            state.gate(gate)
            state.gate(gate)

    deco = PluginDefinition("operator", "deco", "me", "1")

    @deco.callback
    def gate(state, gate):
        seen.append("decorator")
        state.gate(gate)

    def run(state, args):
        (q,) = state.allocate(1)
        state.gate(Gate.library("x", q))
        state.measure(q)
        return {"value": state.get_measurement(q).value}

    log = []
    result = sim_of(frontend(run), Doubler(), deco, recording_backend(log)).run()
    assert result.json == {"value": 1}
    assert sorted(seen) == ["decorator"] * 4 + ["subclass"] * 2  # the two operators run concurrently
    assert sum(1 for e in log if e[0] == "gate") == 4


# ------------------------------------------------------------- defaults & state
def test_operator_defaults_pass_everything_through_and_backend_defaults_do_nothing():
    log = []

    def run(state, args):
        a, b = state.allocate(2, [ArbCmd("init", "q")])
        state.gate(Gate.library("cx", a, b))
        state.advance(5)
        answer = state.arb("iface", "ping", {"n": 1})
        state.measure(a)
        m = state.get_measurement(a)
        state.free(b)
        return {"answer": answer.json, "value": m.value, "cycle": state.get_cycle()}

    op = PluginDefinition("operator", "plain", "me", "1")
    result = sim_of(frontend(run), op, recording_backend(log)).run()
    assert result.json == {"answer": {"echo": "ping"}, "value": 1, "cycle": 5}
    kinds = [e[0] for e in log]
    assert kinds == ["allocate", "gate", "advance", "arb", "gate", "free"]
    assert log[0][1] == [1, 2] and log[0][2] == [ArbCmd("init", "q")] and log[5][1] == [2]

    # a backend with only `gate`: allocate/free/advance/arbs are no-ops, arbs answer empty
    result = sim_of(frontend(run), plugins.null_backend()).run()
    assert result.json == {"answer": {}, "value": 0, "cycle": 5}


def test_modify_measurement_may_drop_change_or_add():
    def modify(state, m):
        if m.qubit == 1:
            return []  # dropped
        if m.qubit == 2:
            return m.replace(value=None)  # changed to undefined
        return [m, Measurement(4, 1, {"extra": True})]  # added

    def run(state, args):
        q = state.allocate(4)
        state.measure(*q[:3])
        out = {}
        for ref in q:
            try:
                out[str(ref)] = state.get_measurement(ref).value
            except ChainError:
                out[str(ref)] = "none"
        return out

    op = PluginDefinition("operator", "mod", "me", "1", modify_measurement=modify)
    assert sim_of(frontend(run), op, plugins.null_backend()).run().json == {"1": "none", "2": None, "3": 0, "4": 1}


def test_modify_measurement_may_only_log_and_draw_random_numbers():
    def modify(state, m):
        state.info(f"{state.random_u64()}")
        state.gate(Gate.library("x", m.qubit))

    def run(state, args):
        (q,) = state.allocate(1)
        state.measure(q)
        state.get_measurement(q)

    sim = sim_of(frontend(run), PluginDefinition("operator", "bad", "me", "1", modify_measurement=modify), plugins.null_backend())
    with pytest.raises(ChainPluginError, match="'bad' .operator. failed in modify_measurement: .*only logging and random numbers"):
        sim.run()
    assert sim.status == "failed"


def test_cycles_between_and_since_measurements():
    def run(state, args):
        (q,) = state.allocate(1)
        state.advance(3)
        state.measure(q)
        state.advance(4)
        state.measure(q)
        state.advance(10)
        return {"since": state.get_cycles_since_measure(q), "between": state.get_cycles_between_measures(q),
                "cycle": state.get_cycle()}

    backend_cycles = []
    be = PluginDefinition("backend", "b", "me", "1", gate=lambda s, g: [Measurement(q, 0) for q in g.measures],
                          advance=lambda s, c: backend_cycles.append(s.get_cycle()))
    sim = sim_of(frontend(run), PluginDefinition("operator", "op", "me", "1"), be)
    assert sim.run().json == {"since": 10, "between": 4, "cycle": 17}
    assert backend_cycles == [3, 7, 17]
    assert [c.cycles for c in sim.counters()] == [17, 17, 17]


def test_state_api_errors():
    def run(state, args):
        kind = args.json["case"]
        if kind == "unallocated":
            state.gate(Gate.library("h", 3))
        elif kind == "unmeasured":
            (q,) = state.allocate(1)
            state.get_measurement(q)
        elif kind == "between":
            (q,) = state.allocate(1)
            state.measure(q)
            state.get_cycles_between_measures(q)
        elif kind == "negative":
            state.advance(-1)
        elif kind == "not a gate":
            state.gate("h 1")

    cases = {
        "unallocated": r"has not allocated qubit\(s\) \[3\]",
        "unmeasured": "qubit 1 of plugin 'fe' has not been measured",
        "between": "has not been measured twice",
        "negative": "cycles must be an int >= 0",
        "not a gate": "expected a Gate, got str",
    }
    for case, match in cases.items():
        with pytest.raises(ChainPluginError, match=f"Plugin 'fe' .frontend. failed in run: .*{match}"):
            sim_of(frontend(run), plugins.null_backend()).run({"case": case})


def test_a_backend_answers_every_measured_qubit_exactly_once(caplog):
    answers = {"gate": lambda s, g: [Measurement(q, 1) for q in g.measures[:1]] + [Measurement(9, 1)]}
    be = PluginDefinition("backend", "sloppy", "me", "1", **answers)

    def run(state, args):
        a, b = state.allocate(2)
        state.measure(a, b)
        return {"a": state.get_measurement(a).value, "b": state.get_measurement(b).value}

    assert sim_of(frontend(run), be).run().json == {"a": 1, "b": None}
    assert any("measures [1, 2] but the backend answered for [1, 9]" in r.getMessage() for r in caplog.records)


def test_plugin_metadata():
    sim = sim_of(frontend(lambda s, a: None, name="f"), plugins.null_backend())
    assert sim.meta("null") == {"type": "backend", "name": "null", "author": "qlab", "version": "0.1.0"}
    assert sim.meta(0)["name"] == "f"


def test_a_backend_has_no_downstream():
    be = PluginDefinition("backend", "b", "me", "1", gate=lambda s, g: s.allocate(1))

    def run(state, args):
        state.gate(Gate.library("h", state.allocate(1)[0]))

    with pytest.raises(ChainPluginError, match="'b' .backend. failed in gate: .*backends have no downstream plugin"):
        sim_of(frontend(run), be).run()


# --------------------------------------------------------------- random numbers
def _rng_chain():
    """A chain whose results depend on random numbers drawn in gate, modify_measurement and host callbacks."""

    def op_gate(state, gate):
        state.gate(gate)
        if gate.measures:
            state.gate(Gate.library("x", gate.measures[0])) if state.random_f64() < 0.5 else None

    def modify(state, m):
        return m.replace(data={"r": state.random_u64()})

    def run(state, args):
        q = state.allocate(3)
        out = []
        for i in range(60):
            state.measure(q[i % 3])
            if i % 7 == 0:
                out.append(state.get_measurement(q[i % 3]).data.json["r"])
        return {"draws": out, "front": state.random_u64()}

    op = PluginDefinition("operator", "rng", "me", "1", gate=op_gate, modify_measurement=modify)
    return frontend(run), op, plugins.density_matrix_backend()


def test_random_numbers_follow_the_seed():
    a = sim_of(*_rng_chain(), seed=11).run()
    b = sim_of(*_rng_chain(), seed=11).run()
    c = sim_of(*_rng_chain(), seed=12).run()
    assert a == b
    assert a.json["draws"] != c.json["draws"] and a.json["front"] != c.json["front"]
    assert sim_of(*_rng_chain(), seed="eleven").run() == sim_of(*_rng_chain(), seed="eleven").run()


def test_bad_seed_is_refused():
    with pytest.raises(ChainDefinitionError, match=r"seed must be an int in \[0, 2\*\*64\)"):
        sim_of(*_rng_chain(), seed=-1)


# ---------------------------------------------------------------------- logging
def test_plugin_logs_reach_python_logging_under_the_plugin_name(caplog):
    def run(state, args):
        for level in ("trace", "debug", "info", "note", "warn", "error", "fatal"):
            state.log(level, f"at {level}")
        state.note("a note")
        return {}

    caplog.set_level(1)
    sim = sim_of(frontend(run, name="talker"), plugins.null_backend(), log_level="debug")
    sim.run()
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "talker"]
    assert records == [
        ("talker", "DEBUG", "at debug"), ("talker", "INFO", "at info"), ("talker", "NOTE", "at note"),
        ("talker", "WARNING", "at warn"), ("talker", "ERROR", "at error"), ("talker", "CRITICAL", "at fatal"),
        ("talker", "NOTE", "a note"),
    ]
    assert [line[2] for line in sim.logs("talker")][:2] == ["at debug", "at info"]
    with pytest.raises(ChainDefinitionError, match="Unknown log level 'loud'"):
        sim_of(frontend(run), plugins.null_backend(), log_level="loud")


def test_tracer_logs_every_gate(caplog):
    caplog.set_level(logging.INFO, logger="tracer")
    sim_of(plugins.circuit_frontend(Circuit(1).h(0).measure_all()), plugins.gate_counter(trace=True), plugins.null_backend()).run()
    assert [r.getMessage() for r in caplog.records if r.name == "tracer"] == ["Gate.library('h', 1)", "Gate.measure(1)"]


# ------------------------------------------------------------------------- host
def echo_frontend():
    def run(state, args):
        total = 0
        for _ in range(args.json["n"]):
            got = state.recv()
            total += got.json["x"]
            state.send({"running_total": total})
        return {"total": total}

    def host_arb(state, cmd):
        return {"front": cmd.operation_id}

    return frontend(run, name="echo", host_arb=host_arb)


def test_send_recv_at_yield_points():
    with sim_of(echo_frontend(), plugins.gate_counter(), plugins.null_backend()) as sim:
        sim.start({"n": 3})
        sim.send({"x": 1})
        sim.send({"x": 2})
        assert sim.recv().json == {"running_total": 1}
        assert sim.recv().json == {"running_total": 3}
        sim.send({"x": 10})
        sim.yield_()
        assert sim.arb("echo", "iface", "hello").json == {"front": "hello"}
        assert sim.arb(1, ArbCmd("counter", "counts")).json == {}
        assert sim.wait().json == {"total": 13}
        assert sim.recv().json == {"running_total": 13}
    assert sim.status == "stopped"


def test_host_misuse_is_refused_with_a_reason():
    with sim_of(echo_frontend(), plugins.null_backend()) as sim:
        with pytest.raises(ChainError, match="wait: no run in progress; call start"):
            sim.wait()
        with pytest.raises(ChainError, match="recv: the frontend is not running"):
            sim.recv()
        sim.start({"n": 1})
        with pytest.raises(ChainError, match="already running"):
            sim.start({"n": 1})
        with pytest.raises(ChainError, match="Deadlock: the frontend waits in recv"):
            sim.wait()
        with pytest.raises(ChainError, match="Deadlock"):
            sim.recv()
        sim.send({"x": 5})  # the run is still alive: give it what it waits for
        assert sim.recv().json == {"running_total": 5}
        assert sim.wait().json == {"total": 5}
        with pytest.raises(ChainError, match="No plugin named 'nope'"):
            sim.arb("nope", "a", "b")
        with pytest.raises(ChainError, match="No plugin at index 5"):
            sim.arb(5, "a", "b")
    with pytest.raises(ChainError, match="was stopped"):
        sim.start()


def test_stop_while_the_frontend_waits_for_the_host_drops_every_plugin():
    dropped = []
    fe = echo_frontend()
    fe.callback("drop")(lambda state: dropped.append("echo"))
    be = PluginDefinition("backend", "be", "me", "1", gate=lambda s, g: None, drop=lambda s: dropped.append("be"))
    sim = sim_of(fe, be)
    sim.start({"n": 2})
    with pytest.raises(ChainError, match="Deadlock"):
        sim.wait()
    sim.stop()
    assert sim.status == "stopped" and dropped == ["echo", "be"]


def test_recv_after_the_run_returned_without_data():
    with sim_of(frontend(lambda s, a: {"done": 1}), plugins.null_backend()) as sim:
        sim.start()
        with pytest.raises(ChainError, match="returned without sending"):
            sim.recv()
        assert sim.wait().json == {"done": 1}


def test_host_arb_failure_is_returned_not_fatal():
    def host_arb(state, cmd):
        raise ValueError("no such knob")

    with sim_of(frontend(lambda s, a: None), PluginDefinition("operator", "op", "me", "1", host_arb=host_arb),
                plugins.null_backend()) as sim:
        with pytest.raises(ChainError, match="arb to plugin 'op' failed: plugin 'op' answered with an error: ValueError: no such knob"):
            sim.arb("op", "knob", "set")
        assert sim.run().json == {}


def test_initialize_and_drop_run_once_in_chain_order():
    order = []

    def plugin(kind, name, **cb):
        return PluginDefinition(kind, name, "me", "1", initialize=lambda s, cmds: order.append(("init", name, cmds)),
                                drop=lambda s: order.append(("drop", name)), **cb)

    fe = plugin("frontend", "f", run=lambda s, a: None)
    be = plugin("backend", "b", gate=lambda s, g: None)
    sim = sim_of(fe, plugin("operator", "o"), be, init_cmds={"o": [ArbCmd("x", "y")]})
    sim.run()
    assert order == [("init", "b", []), ("init", "o", [ArbCmd("x", "y")]), ("init", "f", []),
                     ("drop", "f"), ("drop", "o"), ("drop", "b")]
    with pytest.raises(ChainDefinitionError, match="init_cmds for unknown plugins"):
        sim_of(fe, be, init_cmds={"zz": []})


@pytest.mark.parametrize("where", ["initialize", "run", "gate", "allocate", "drop"])
def test_a_failing_callback_ends_the_simulation_with_its_plugin_and_message(where):
    def boom(*args):
        raise RuntimeError(f"broken {where}")

    def run(state, args):
        (q,) = state.allocate(1)
        state.gate(Gate.library("h", q))
        state.measure(q)
        return {"v": state.get_measurement(q).value}

    cbs = {"gate": lambda s, g: [Measurement(q, 0) for q in g.measures]}
    cbs[where if where != "run" else "gate"] = cbs.get(where, boom) if where != "gate" else boom
    if where == "run":
        fe = frontend(boom)
        be = plugins.null_backend()
        name, kind = "fe", "frontend"
    else:
        fe = frontend(run)
        cbs[where] = boom
        be = PluginDefinition("backend", "be", "me", "1", **cbs)
        name, kind = "be", "backend"
    sim = sim_of(fe, PluginDefinition("operator", "op", "me", "1"), be, store=":memory:")
    with pytest.raises(ChainPluginError, match=f"Plugin '{name}' .{kind}. failed in {where}: RuntimeError: broken {where}") as info:
        sim.run()
    assert info.value.plugin == name and sim.status == "failed"
    with pytest.raises(ChainPluginError, match=f"broken {where}"):
        sim.start()


def test_an_arb_error_downstream_fails_the_asker_naming_the_origin():
    be = PluginDefinition("backend", "be", "me", "1", gate=lambda s, g: None,
                          upstream_arb=lambda s, cmd: 1 / 0)

    def run(state, args):
        state.arb("x", "y")

    with pytest.raises(ChainPluginError, match="Plugin 'be' .backend. failed in run: ZeroDivisionError"):
        sim_of(frontend(run), PluginDefinition("operator", "op", "me", "1"), be).run()


# --------------------------------------------------------------- long streams
def test_a_long_stream_without_synchronisation_does_not_deadlock():
    """DQCsim hangs after about 500 gates without a sync; this sends 40 times more, measurements included."""

    def run(state, args):
        q = state.allocate(2)
        h, mz = Gate.library("h", q[0]), Gate.measure(q[1])
        for i in range(20_000):
            state.gate(h if i % 2 else mz)
        return {}

    sim = sim_of(frontend(run), PluginDefinition("operator", "op", "me", "1"), plugins.null_backend())
    sim.run()
    assert [c.gates for c in sim.counters()] == [20_000] * 3
    assert [c.measurements for c in sim.counters()] == [10_000] * 3


# ------------------------------------------------------------------ jobs, repro
def test_a_run_is_a_job_of_family_chain():
    store = JobStore(":memory:")
    sim = sim_of(plugins.circuit_frontend(Circuit(1).x(0).measure_all(), shots=4), plugins.density_matrix_backend(),
                 store=store, seed=3)
    sim.run()
    (record,) = store.list()
    assert (record.family, record.status.value, record.device) == ("chain", "done", "density_matrix")
    assert record.program == "circuit -> density_matrix" and record.parameters["seed"] == 3
    full = store.get(record.id)
    assert full.results["result"]["json"]["counts"] == {"1": 4}
    assert full.results["counters"]["density_matrix"]["gates"] == 8

    failing = sim_of(frontend(lambda s, a: 1 / 0), plugins.null_backend(), store=store)
    with pytest.raises(ChainPluginError):
        failing.run()
    failed = [r for r in store.list() if r.status.value == "failed"]
    assert len(failed) == 1 and "ZeroDivisionError" in failed[0].error


def test_reproduction_file_replays_to_the_same_results(tmp_path):
    circuit = Circuit(2).h(0).cx(0, 1).measure_all()
    sim = sim_of(plugins.circuit_frontend(circuit, shots=30), plugins.readout_flip(0.2), plugins.density_matrix_backend(), seed=9)
    with sim:
        sim.start()
        first = sim.wait()
        sim.start({"shots": 5})
        second = sim.wait()
        counts = sim.arb("readout_flip", "unknown", "op")
    path = sim.reproduction().save(tmp_path / "run.json")
    record = Reproduction.load(path)
    assert [c["call"] for c in record.calls] == ["start", "wait", "start", "wait", "arb", "stop"]
    assert record.replay() == [first, second, counts]


def test_replay_needs_interpreter_plugins_and_detects_differences(tmp_path):
    def run(state, args):
        return {"r": state.random_u64()}

    sim = sim_of(frontend(run, name="mine"), plugins.null_backend(), seed=1)
    sim.run()
    record = Reproduction.load(sim.reproduction().save(tmp_path / "r.json"))
    with pytest.raises(ChainDefinitionError, match="'mine' was defined in the interpreter; give it to replay"):
        record.replay()
    assert record.replay({"mine": frontend(run, name="mine")}) == [sim.reproduction().replay({"mine": frontend(run, name="mine")})[0]]
    record.seed = 2
    with pytest.raises(ChainError, match="Replay differs at call 1 .wait."):
        record.replay({"mine": frontend(run, name="mine")})
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ChainDefinitionError, match="not a qlab chain reproduction file"):
        Reproduction.load(tmp_path / "bad.json")
