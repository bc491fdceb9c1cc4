"""The emulator's plugin interfaces, runtimes, program context, errors and run semantics."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pytest

from qlab.emulator import (
    API_VERSION,
    ClassicalReplay,
    Coinflip,
    DensityMatrixSimulator,
    DepolarizingErrorModel,
    DeviceErrorModel,
    Emulator,
    EmulatorTimeout,
    IdealErrorModel,
    LazyRuntime,
    LeakageErrorModel,
    PluginError,
    ProgramError,
    ProgramPanic,
    SimpleRuntime,
    SoftRZRuntime,
    StabilizerSimulator,
    StatevectorSimulator,
    check_api_version,
    pack_version,
    plugin_class,
    unpack_version,
)
from qlab.emulator.programs import ghz
from qlab.emulator import plugin as plugin_module
from qlab.emulator.operations import RXY, RZZ, Measure, Reset
from qlab.exceptions import QlabTimeoutError, QlabTypeError




def coin(ctx):
    q = ctx.qalloc()
    ctx.h(q)
    m = ctx.measure(q)
    ctx.result("first", m)
    if m:  # feed-forward
        ctx.x(q)
    ctx.result("again", ctx.measure(q))


# ------------------------------------------------------------------ API version
def test_api_version_packs_four_bytes():
    assert pack_version(0, 1, 2, 3) == 0x00010203
    assert unpack_version(pack_version(0, 255, 0, 7)) == (0, 255, 0, 7)
    with pytest.raises(PluginError, match="major must be an int in 0..255, got 256"):
        pack_version(0, 256, 0, 0)


@pytest.mark.parametrize(
    "version, why",
    [
        (pack_version(0, 1, 1, 0), "major"),
        (pack_version(0, 0, 2, 0), "minor"),
        (pack_version(1, 0, 1, 0), "reserved"),
        (2**40 + API_VERSION, "reserved"),
    ],
)
def test_plugins_with_another_api_version_are_refused_with_both_versions(version, why):
    class Foreign(SimpleRuntime):
        api_version = version

    _, major, minor, patch = unpack_version(version)
    with pytest.raises(PluginError, match=rf"written for plugin API {major}\.{minor}\.{patch}.*this emulator speaks 0\.1\.0"):
        Emulator(2, runtime=Foreign())


def test_a_different_patch_version_is_accepted():
    class Patched(SimpleRuntime):
        api_version = pack_version(0, 0, 1, 9)

    check_api_version(Patched())


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: DepolarizingErrorModel(p_meas=2), "p_meas must be a probability between 0 and 1"),
        (lambda: DepolarizingErrorModel(p_2q=-0.1), "p_2q must be a probability"),
        (lambda: LeakageErrorModel(leak_measurement_bias=1.5), "leak_measurement_bias must be a probability"),
        (lambda: SimpleRuntime(duration_ns_rzz=-1), "duration_ns_rzz must be an int >= 0"),
        (lambda: SoftRZRuntime(max_batch_size=0), "max_batch_size must be an int >= 1"),
        (lambda: Coinflip(bias=2), "bias must be a probability"),
        (lambda: StabilizerSimulator(angle_threshold=1.0), "angle_threshold must be in"),
        (lambda: ClassicalReplay(measurements=[[2]]), "outcome must be a bool or 0/1, got 2"),
        (lambda: SimpleRuntime(duration_rxy=3), "parameters are: duration_ns_rxy"),
        (lambda: DeviceErrorModel(device=42), "device must be a DeviceDescription"),
    ],
)
def test_parameters_are_checked_when_a_plugin_is_built(build, message):
    with pytest.raises(PluginError, match=message):
        build()


def test_parameters_are_frozen_and_init_args_round_trip():
    runtime = SoftRZRuntime(max_batch_size=4, duration_ns_rxy=10)
    with pytest.raises(AttributeError):
        runtime.params.max_batch_size = 2
    assert "--max-batch-size=4" in runtime.get_init_args()
    runtime.init(3, args=["--max-batch-size=8", "--duration-ns-rzz=5"])
    assert runtime.params.max_batch_size == 8 and runtime.params.duration_ns_rzz == 5
    with pytest.raises(PluginError, match="cannot read argument '--nope=1'"):
        runtime.init(3, args=["--nope=1"])
    with pytest.raises(PluginError, match="max_batch_size must be an int >= 1, got 0"):
        runtime.init(3, args=["--max-batch-size=0"])
    assert repr(runtime) == "SoftRZRuntime(duration_ns_rxy=10, duration_ns_rzz=5, max_batch_size=8)"


def test_repr_reads_like_the_constructor():
    assert repr(DepolarizingErrorModel(p_1q=0.001)) == "DepolarizingErrorModel(p_1q=0.001)"
    assert repr(Emulator(3, simulator=StatevectorSimulator())) == (
        "Emulator(3, runtime=SimpleRuntime(), error_model=IdealErrorModel(), simulator=StatevectorSimulator())"
    )
    assert "<table>" in DepolarizingErrorModel(p_1q=0.1)._repr_html_()


# ------------------------------------------------------------------ registry
def test_built_in_plugins_are_found_by_name():
    assert plugin_class("runtime", "SoftRZRuntime") is SoftRZRuntime
    assert plugin_class("simulator", "StabilizerSimulator") is StabilizerSimulator
    with pytest.raises(PluginError, match="No simulator plugin named 'Quest'; known: .*StatevectorSimulator"):
        plugin_class("simulator", "Quest")
    with pytest.raises(PluginError, match="unknown plugin kind 'backend'"):
        plugin_class("backend", "X")


def test_plugins_of_other_packages_register_through_entry_points(tmp_path, monkeypatch):
    package = tmp_path / "thirdparty_emu.py"
    package.write_text(
        "from qlab.emulator import Coinflip\n"
        "class AlwaysOne(Coinflip):\n"
        "    def measure(self, qubit):\n"
        "        return True\n"
    )
    info = tmp_path / "thirdparty_emu-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-emu\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[qlab.emulator.simulators]\nAlwaysOne = thirdparty_emu:AlwaysOne\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_module._entry_points.cache_clear()
    try:
        cls = plugin_class("simulator", "AlwaysOne")
        result = Emulator(1, simulator=cls()).run(coin, shots=5, seed=1)
        assert result.counts("first") == {"1": 5}
    finally:
        plugin_module._entry_points.cache_clear()
        sys.modules.pop("thirdparty_emu", None)


# ------------------------------------------------------------------ runtimes
def _batches(runtime, calls):
    runtime.init(4)
    runtime.shot_start(0, 0)
    calls(runtime)
    return list(iter(runtime.get_next_operations, None))


def test_simple_runtime_hands_on_each_operation_in_its_own_timed_batch():
    def calls(rt):
        a, b = rt.qalloc(), rt.qalloc()
        rt.rxy(a, 1.0, 0.0)
        rt.simulate_delay(100)
        rt.rzz(a, b, 0.5)
        rt.measure(b)

    batches = _batches(SimpleRuntime(duration_ns_rxy=10, duration_ns_rzz=200, duration_ns_reset=5), calls)
    assert [(b.start_ns, b.duration_ns, b.operations) for b in batches] == [
        (0, 5, (Reset(0),)), (5, 5, (Reset(1),)), (10, 10, (RXY(0, 1.0, 0.0),)),
        (120, 200, (RZZ(0, 1, 0.5),)), (320, 0, (Measure(1, 0),)),
    ]


def test_lazy_runtime_holds_operations_until_a_result_is_forced_then_layers_them():
    rt = LazyRuntime(max_batch_size=2)
    rt.init(4)
    rt.shot_start(0, 0)
    qs = [rt.qalloc() for _ in range(3)]
    for q in qs:
        rt.rxy(q, 1.0, 0.0)
    rid = rt.measure(qs[0])
    assert rt.get_next_operations() is None
    rt.force_result(rid)
    batches = list(iter(rt.get_next_operations, None))
    assert [b.operations for b in batches] == [
        (Reset(0), Reset(1)), (Reset(2),), (RXY(0, 1.0, 0.0), RXY(1, 1.0, 0.0)), (RXY(2, 1.0, 0.0),), (Measure(0, 0),),
    ]
    assert rt.get_metrics()["rxy_batch_count"] == 2 and rt.get_metrics()["rxy_individual_count"] == 3


def test_soft_rz_folds_rz_into_the_next_rxy_through_rzz_and_drops_it_before_measurement():
    def calls(rt):
        a, b = rt.qalloc(), rt.qalloc()
        rt.rz(a, 0.3)
        rt.rzz(a, b, 0.7)           # commutes with the pending RZ
        rt.rxy(a, 0.5, 0.1)         # phi - 0.3
        rt.rz(b, 1.1)               # trailing: dropped
        rt.force_result(rt.measure(b))

    ops = [op for b in _batches(SoftRZRuntime(), calls) for op in b.operations]
    assert ops == [Reset(0), Reset(1), RZZ(0, 1, 0.7), RXY(0, 0.5, 0.1 - 0.3), Measure(1, 0)]


def test_soft_rz_and_simple_runtimes_give_the_same_physics():
    def program(ctx):
        a, b = ctx.qalloc(), ctx.qalloc()
        ctx.h(a); ctx.t(a); ctx.cx(a, b); ctx.rz(b, 0.4); ctx.ry(b, 0.9); ctx.s(a); ctx.h(a)

    simple = Emulator(2, simulator=StatevectorSimulator()).state(program)
    soft = Emulator(2, runtime=SoftRZRuntime(), simulator=StatevectorSimulator()).state(program)
    # the dropped trailing RZs change phases only: Z-basis populations agree
    np.testing.assert_allclose(np.abs(soft.full().ravel()) ** 2, np.abs(simple.full().ravel()) ** 2, atol=1e-12)


def test_soft_rz_metrics_show_no_rz_and_batched_layers():
    simple = Emulator(4).run(ghz(4), shots=3, seed=1).metrics_df()
    soft = Emulator(4, runtime=SoftRZRuntime(max_batch_size=4)).run(ghz(4), shots=3, seed=1).metrics_df()

    def value(frame, category, name):
        rows = frame[(frame.shot == 0) & (frame.category == category) & (frame.name == name)]
        return rows.value.iloc[0] if len(rows) else 0

    assert value(simple, "runtime", "rz_individual_count") == 7
    assert value(simple, "runtime", "rxy_batch_count") == value(simple, "runtime", "rxy_individual_count") == 7
    assert value(soft, "runtime", "rz_individual_count") == 0
    assert value(soft, "runtime", "reset_batch_count") == 1
    assert value(soft, "runtime", "rxy_batch_count") < value(soft, "runtime", "rxy_individual_count") == 7
    assert value(soft, "user_program", "rz_count") == 7


# ------------------------------------------------------------------ misuse
def _run(program, n=2, **kw):
    return Emulator(n, **kw).run(program, shots=3, seed=1)


def test_using_a_freed_qubit_is_an_error():
    def program(ctx):
        q = ctx.qalloc()
        ctx.qfree(q)
        ctx.x(q)

    with pytest.raises(ProgramError, match=r"Cannot apply rxy on Qubit\(0\) in shot 0: the qubit was freed"):
        _run(program)


def test_a_freed_id_handed_out_again_does_not_revive_the_old_handle():
    def program(ctx):
        q = ctx.qalloc()
        ctx.qfree(q)
        ctx.qalloc()             # same id, new qubit
        ctx.measure(q)

    with pytest.raises(ProgramError, match="the qubit was freed"):
        _run(program)


def test_a_qubit_that_was_never_allocated_is_an_error():
    with pytest.raises(ProgramError, match=r"expected a qubit from ctx.qalloc\(\), got 0 \(int\)"):
        _run(lambda ctx: ctx.h(0))


def test_measuring_twice_with_nothing_between_is_an_error():
    def program(ctx):
        q = ctx.qalloc()
        ctx.measure(q)
        ctx.measure(q)

    with pytest.raises(ProgramError, match="it was just measured, that result was neither read nor recorded"):
        _run(program)


def test_measuring_again_after_a_reset_is_fine():
    def program(ctx):
        q = ctx.qalloc()
        ctx.x(q)
        ctx.result("a", ctx.measure(q))
        ctx.reset(q)
        ctx.result("b", ctx.measure(q))

    assert _run(program).df()[["a", "b"]].values.tolist() == [[True, False]] * 3


def test_reading_a_future_after_its_qubit_was_freed_is_an_error():
    def program(ctx):
        q = ctx.qalloc()
        m = ctx.measure(q)
        ctx.qfree(q)
        bool(m)

    with pytest.raises(ProgramError, match="the qubit was freed before the result was read"):
        _run(program)


def test_a_recorded_future_may_be_read_after_its_qubit_is_freed():
    def program(ctx):
        q = ctx.qalloc()
        ctx.x(q)
        ctx.result("m", ctx.measure(q))
        ctx.qfree(q)

    assert _run(program).counts("m") == {"1": 3}


def test_running_out_of_qubits_names_the_shot_and_the_limit():
    def program(ctx):
        for _ in range(3):
            ctx.qalloc()

    with pytest.raises(ProgramError, match="qalloc in shot 0: no qubit is free; all 2 are allocated"):
        _run(program)


def test_freeing_qubits_lets_a_program_reuse_them():
    def program(ctx):
        for _ in range(5):
            q = ctx.qalloc()
            ctx.x(q)
            ctx.result("m", ctx.measure(q))
            ctx.qfree(q)

    frame = _run(program, n=1).df()
    assert frame["m"].tolist() == [(True,) * 5] * 3


@pytest.mark.parametrize(
    "program, message",
    [
        (lambda ctx: ctx.rz(ctx.qalloc(), float("nan")), "theta must be a finite number, got nan"),
        (lambda ctx: (lambda q: ctx.rzz(q, q, 1.0))(ctx.qalloc()), "both qubits are Qubit"),
        (lambda ctx: ctx.delay(-5), "a duration is an int >= 0 nanoseconds, got -5"),
        (lambda ctx: ctx.result("", 1), "the tag must be a non-empty str"),
        (lambda ctx: ctx.result("x", "text"), "values must be bools, ints, floats"),
        (lambda ctx: ctx.custom_call(-1), "tag must be an unsigned 64-bit int"),
        (lambda ctx: ctx.exit("bye", -3), "code must be an int >= 0"),
    ],
)
def test_bad_calls_are_named(program, message):
    with pytest.raises(ProgramError, match=message):
        _run(program)


# ------------------------------------------------------------------ panic and exit
def test_panic_stops_every_remaining_shot_and_keeps_the_ones_that_ran():
    def program(ctx):
        q = ctx.qalloc()
        ctx.h(q)
        ctx.result("m", ctx.measure(q))
        if ctx.shot == 3:
            ctx.panic("boom")

    with pytest.raises(ProgramPanic, match=r"panicked in shot 3 \(code 1001\): boom; 4 shot\(s\) ran") as info:
        Emulator(2).run(program, shots=10, seed=1)
    frame = info.value.result.df()
    assert frame["shot"].tolist() == [0, 1, 2, 3]
    assert frame["status"].tolist() == ["ok", "ok", "ok", "panic"]


def test_exit_ends_the_shot_keeps_its_results_and_the_run_goes_on():
    def program(ctx):
        q = ctx.qalloc()
        ctx.x(q)
        ctx.result("m", ctx.measure(q))
        if ctx.shot % 2:
            ctx.exit("early exit", 3)
        ctx.result("late", 1)

    frame = Emulator(1).run(program, shots=4, seed=1).df()
    assert frame["status"].tolist() == ["ok", "exit", "ok", "exit"]
    assert frame["exit_code"].tolist() == [0, 3, 0, 3]
    assert frame["exit_message"].tolist() == ["", "early exit", "", "early exit"]
    assert frame["m"].tolist() == [True] * 4
    assert frame["late"].isna().tolist() == [False, True, False, True]


def test_exit_with_a_code_from_1000_acts_as_panic():
    with pytest.raises(ProgramPanic, match="code 1500"):
        Emulator(1).run(lambda ctx: ctx.exit("fatal", 1500), shots=3)


# ------------------------------------------------------------------ seeds, processes, timeouts
def test_neighbouring_seeds_are_not_shifted_copies():
    first = Emulator(1, simulator=StatevectorSimulator()).run(coin, shots=40, seed=5).df()["first"].tolist()
    second = Emulator(1, simulator=StatevectorSimulator()).run(coin, shots=40, seed=6).df()["first"].tolist()
    assert first[1:] != second[:-1]


def test_the_same_seed_gives_the_same_shots_with_any_number_of_processes():
    noisy = Emulator(2, error_model=DepolarizingErrorModel(p_1q=0.1, p_meas=0.1), simulator=StatevectorSimulator())
    one = noisy.run(coin, shots=30, seed=11)
    two = noisy.run(coin, shots=30, seed=11, n_processes=2)
    assert one.df().equals(two.df())
    assert one.metrics_df().equals(two.metrics_df())


def test_seed_none_is_recorded_so_a_run_can_be_repeated():
    em = Emulator(1, simulator=StatevectorSimulator())
    first = em.run(coin, shots=20)
    again = em.run(coin, shots=20, seed=first.seed)
    assert first.df().equals(again.df())


def test_a_timeout_reports_the_completed_shots():
    def slow(ctx):
        q = ctx.qalloc()
        ctx.h(q)
        if ctx.measure(q):
            ctx.x(q)
        time.sleep(0.05)
        ctx.reset(q)

    with pytest.raises(EmulatorTimeout, match=r"timed out after 0.3 s: \d+ of 1000 shot\(s\) completed") as info:
        Emulator(1).run(slow, shots=1000, seed=1, timeout=0.3)
    assert isinstance(info.value, QlabTimeoutError)
    assert 1 <= len(info.value.result) < 1000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shots": 0}, "shots must be an int between 1 and"),
        ({"shots": 1, "seed": -1}, "seed must be an int >= 0"),
        ({"shots": 1, "timeout": 0}, "timeout must be a positive number"),
        ({"shots": 1, "n_processes": 0}, "n_processes must be an int between 1 and 256"),
    ],
)
def test_bad_run_arguments(kwargs, message):
    with pytest.raises(PluginError, match=message):
        Emulator(1).run(coin, **kwargs)


def test_bad_emulator_arguments():
    with pytest.raises(PluginError, match="n_qubits must be an int between 1 and 4096, got 0"):
        Emulator(0)
    with pytest.raises(QlabTypeError, match="simulator must be a Simulator, got SimpleRuntime"):
        Emulator(1, simulator=SimpleRuntime())
    with pytest.raises(QlabTypeError, match="program must be a function"):
        Emulator(1).run("not a program")


# ------------------------------------------------------------------ sampling once
def test_a_program_without_feed_forward_is_simulated_once():
    result = Emulator(3).run(ghz(3), shots=200, seed=3)
    assert result.sampled
    metrics = result.metrics_df()
    assert set(metrics[metrics.category == "emulator"].name) == {"sampled_from_one_simulation"}


def test_sampled_shots_say_they_have_no_per_shot_error_model_or_simulator_counts():
    emulator = Emulator(3, error_model=DepolarizingErrorModel(p_1q=0.01))
    sampled = emulator.run(ghz(3), shots=50, seed=3)
    metrics = sampled.metrics_df()
    assert metrics.attrs["sampled_from_one_simulation"] is True
    assert set(metrics.category) == {"user_program", "runtime", "emulator"}
    assert sampled._repr_html_().count("sampled from one simulation: no per-shot counts") == 2
    one_by_one = emulator.run(ghz(3), shots=5, seed=3, sample_once=False)
    frame = one_by_one.metrics_df()
    assert frame.attrs["sampled_from_one_simulation"] is False and {"error_model", "simulator"} <= set(frame.category)
    assert "no per-shot counts" not in one_by_one._repr_html_()
    # What both report agrees: the program and the runtime saw the same operations.
    def first_shot(table):
        rows = table[table.category.isin(["user_program", "runtime"]) & (table.shot == 0)]
        return {(c, n): float(v) for c, n, v in zip(rows.category, rows.name, rows.value)}

    assert first_shot(metrics) == first_shot(frame)


def test_feed_forward_runs_shot_by_shot_and_sample_once_true_says_why_it_cannot():
    assert not Emulator(1).run(coin, shots=5, seed=1).sampled
    with pytest.raises(PluginError, match="reads a measurement before it ends"):
        Emulator(1).run(coin, shots=5, seed=1, sample_once=True)
    with pytest.raises(PluginError, match="LeakageErrorModel"):
        Emulator(2, error_model=LeakageErrorModel(p_leak=0.1)).run(ghz(2), shots=5, sample_once=True)


def test_sample_once_false_runs_every_shot():
    result = Emulator(3).run(ghz(3), shots=20, seed=3, sample_once=False)
    assert not result.sampled and set(result.counts("c")) <= {"000", "111"}


# ------------------------------------------------------------------ results
def test_results_tables_and_plot():
    result = Emulator(2, simulator=StatevectorSimulator()).run(coin, shots=10, seed=4)
    frame = result.df()
    assert list(frame.columns) == ["shot", "first", "again", "status", "exit_code", "exit_message"]
    assert (frame["again"] == False).all()  # noqa: E712  (the feed-forward undid every 1)
    metrics = result.metrics_df()
    assert list(metrics.columns) == ["shot", "category", "name", "value"]
    names = set(metrics.name)
    for needed in ("qalloc_count", "rxy_count", "measure_request_count", "max_allocated", "total_duration_ns",
                   "rxy_batch_count", "measure_individual_count"):
        assert needed in names
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot("first")
    assert ax.get_xlabel() == "first"
    html = result._repr_html_()
    assert "SimpleRuntime" in html and "StatevectorSimulator" in html
    with pytest.raises(QlabTypeError, match="no result tagged 'nope'"):
        result.counts("nope")


def test_leaked_measurement_reports_two():
    def program(ctx):
        q = ctx.qalloc()
        ctx.x(q)
        ctx.result("leaked", ctx.measure_leaked(q))
        ctx.reset(q)
        ctx.result("after_reset", ctx.measure_leaked(q))

    result = Emulator(1, error_model=LeakageErrorModel(p_leak=1.0), simulator=StatevectorSimulator()).run(
        program, shots=5, seed=1)
    assert result.counts("leaked") == {"2": 5} and result.counts("after_reset") == {"0": 5}


def test_custom_calls_reach_the_runtime_and_pass_through_the_error_model():
    def program(ctx):
        q = ctx.qalloc()
        assert ctx.custom_call(7, b"data") == 0
        ctx.x(q)
        ctx.result("m", ctx.measure(q))

    result = Emulator(1).run(program, shots=2, seed=1)
    assert result.counts("m") == {"1": 2}


def test_classical_replay_and_coinflip():
    replay = Emulator(1, simulator=ClassicalReplay(measurements=[[1, 0], [0, 1]]))
    assert replay.run(coin, shots=2, seed=1).df()[["first", "again"]].values.tolist() == [[True, False], [False, True]]
    with pytest.raises(PluginError, match="shot 2 has no recorded measurements"):
        replay.run(coin, shots=3, seed=1)
    with pytest.raises(PluginError, match="only 1 outcome"):
        Emulator(1, simulator=ClassicalReplay(measurements=[[1]])).run(coin, shots=1)
    assert Emulator(1, simulator=Coinflip(bias=1.0)).run(ghz(1), shots=4).counts("c") == {"1": 4}
    with pytest.raises(PluginError, match="Coinflip holds no quantum state"):
        Emulator(1, simulator=Coinflip()).state(ghz(1))


def test_plugins_given_to_an_emulator_are_not_changed_by_a_run():
    runtime = SimpleRuntime()
    Emulator(1, runtime=runtime).run(coin, shots=2, seed=1)
    assert not hasattr(runtime, "n_qubits")


def test_simulator_refuses_qubits_out_of_range():
    sim = DensityMatrixSimulator()
    sim.init(2)
    sim.shot_start(0, 1)
    with pytest.raises(PluginError, match=r"qubit 5 is out of range \(0..1\)"):
        sim.rxy(5, 1.0, 0.0)


def test_ideal_error_model_is_the_default():
    assert isinstance(Emulator(1).error_model, IdealErrorModel)
    assert math.isclose(Emulator(1).state(lambda ctx: ctx.x(ctx.qalloc())).full()[1, 1].real, 1.0)


def test_simulate_offers_the_emulator_when_branches_outgrow_memory(monkeypatch):
    import qlab
    from qlab.exceptions import SimulationError
    from qlab.sim import engine

    circuit = qlab.Circuit(2, 3)
    for bit in range(3):
        circuit.h(0).cx(0, 1).measure(0, bit).x(1).c_if(bit, 1)
    monkeypatch.setattr(engine, "BRANCH_MEMORY_BYTES", 1)
    with pytest.raises(SimulationError, match=r"sample it shot by shot with the emulator: qlab\.emulator\.Emulator"):
        qlab.simulate(circuit, shots=10)
    result = Emulator(2, simulator=StatevectorSimulator()).run(circuit, shots=50, seed=1)
    assert set(result.counts("c")) <= {format(i, "03b") for i in range(8)} and len(result) == 50


@pytest.mark.parametrize("simulator", [DensityMatrixSimulator, StatevectorSimulator, StabilizerSimulator])
def test_a_reused_ideal_prefix_gives_the_same_shots_as_a_fresh_one(simulator):
    # With two processes each one builds its own prefix cache at a different shot.
    def teleport(ctx):
        src, a, b = ctx.qalloc(), ctx.qalloc(), ctx.qalloc()
        ctx.h(src); ctx.s(src)
        ctx.h(a); ctx.cx(a, b); ctx.cx(src, a); ctx.h(src)
        if ctx.measure(a):
            ctx.x(b)
        if ctx.measure(src):
            ctx.z(b)
        ctx.sdg(b); ctx.h(b)
        ctx.result("b", ctx.measure(b))

    emulator = Emulator(3, simulator=simulator())
    one = emulator.run(teleport, shots=40, seed=8)
    assert one.df().equals(emulator.run(teleport, shots=40, seed=8, n_processes=3).df())
    assert one.counts("b") == {"0": 40}


def test_every_plugin_hears_that_the_run_is_over():
    calls = []

    class Tracked(StatevectorSimulator):
        def exit(self):
            calls.append("exit")

    Emulator(1, simulator=Tracked()).run(coin, shots=3, seed=1)
    assert calls == ["exit"]


@pytest.mark.parametrize("simulator", [DensityMatrixSimulator, StatevectorSimulator, StabilizerSimulator])
def test_postselection_projects_and_records_its_probability(simulator):
    sim = simulator()
    sim.init(2)
    sim.shot_start(0, 1)
    sim.rxy(0, math.pi / 2, 0.0)
    sim.rzz(0, 1, 0.0)
    sim.rxy(1, math.pi, 0.0)
    sim.postselect(0, True)
    assert sim.measure(0) is True and sim.measure(1) is True
    assert sim.get_metrics()["cumulative_postselect_probability"] == pytest.approx(0.5)
    sim.reset(0)
    from qlab.exceptions import SimulationError

    with pytest.raises(SimulationError, match="outcome 1 of qubit 0 has probability"):
        sim.postselect(0, True)
