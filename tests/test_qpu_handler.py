"""QPUHandler behaviour: plugin stacks, specs, resource estimates and limits, DeviceQPU, Dask executors."""

from __future__ import annotations

import numpy as np
import pytest

from qlab import Circuit
from qlab.devices import load_device
from qlab.exceptions import QlabTypeError, QPUDataError, ResourceLimitError
from qlab.jobs import JobStore
from qlab.qdmi import QdmiError, Session
from qlab.qpu import (AllocationModel, Batch, BatchResult, CostModel, DensityMatrixQPU, DeviceQPU, GateSetRewriter, Job,
                      Observable, ObservableSplitter, Plugin, PluginChain, PluginStack, QPUHandler, ReadoutMitigation,
                      Result)
from qlab.sim import NoiseModel, ReadoutError, depolarizing

from reference import simulate as reference_simulate

BELL = Circuit(2).h(0).cx(0, 1)


class Recorder(Plugin):
    """Appends its name to a shared log on compile and post_process."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def compile(self, batch, specs):
        self.log.append(("compile", self.name))
        return batch

    def post_process(self, batch_result):
        self.log.append(("post", self.name))
        return batch_result

    def __repr__(self):
        return f"Recorder({self.name!r})"


class Counting(DensityMatrixQPU):
    """Remembers the jobs it ran."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ran = []

    def submit_job(self, job):
        self.ran.append(job)
        return super().submit_job(job)


def test_stacks_compile_in_order_and_post_process_in_reverse():
    log = []
    a, b, c = (Recorder(x, log) for x in "abc")
    qpu = DensityMatrixQPU()
    stack = a | b | (c | qpu)
    assert isinstance(stack, PluginStack) and stack.plugins == (a, b, c) and stack.qpu is qpu
    assert repr(stack) == "Recorder('a') | Recorder('b') | Recorder('c') | DensityMatrixQPU()"
    stack.submit(Job(BELL))
    assert log == [("compile", "a"), ("compile", "b"), ("compile", "c"), ("post", "c"), ("post", "b"), ("post", "a")]


def test_stacks_are_immutable_and_are_qpus():
    log = []
    a, b = Recorder("a", log), Recorder("b", log)
    qpu = DensityMatrixQPU()
    first = a | qpu
    second = b | first
    assert qpu.plugins == () and first.plugins == (a,) and second.plugins == (b, a)
    chain = a | b
    assert isinstance(chain, PluginChain) and chain.plugins == (a, b)
    assert (chain | qpu).plugins == (a, b)
    assert isinstance(second, QPUHandler)
    with pytest.raises(AttributeError):
        first.plugins = ()
    with pytest.raises(TypeError):
        qpu | a
    with pytest.raises(QlabTypeError, match="plugin chain takes qlab.qpu.Plugin"):
        PluginChain([a, "b"])
    assert QPUHandler(plugins=[a]).plugins == (a,)


def test_single_job_gives_a_result_and_batches_keep_job_order():
    qpu = DensityMatrixQPU()
    assert isinstance(qpu.submit(Job(Circuit(1).x(0))), Result)
    jobs = [Job(Circuit(3).x(i), qubits=[0, 1, 2], meta_data={"i": i}) for i in range(3)]
    out = qpu.submit(Batch(jobs, {"owner": "me"}), meta_data={"run": 1})
    assert isinstance(out, BatchResult)
    assert [r.probabilities for r in out] == [{"100": 1.0}, {"010": 1.0}, {"001": 1.0}]
    assert [r.meta_data["i"] for r in out] == [0, 1, 2]
    assert out.meta_data == {"owner": "me", "run": 1}
    with pytest.raises(QlabTypeError, match="submit takes a qlab.qpu.Batch or Job"):
        qpu.submit([Job(BELL)])


def test_abstract_handler_says_what_to_implement():
    with pytest.raises(NotImplementedError, match="must implement submit_job"):
        QPUHandler().submit(Job(BELL))
    assert QPUHandler().get_specs().nbqbits is None


def test_gate_set_rewriter_rewrites_into_the_target_gates():
    qpu = Counting()
    stack = GateSetRewriter({"rz", "sx", "cz"}) | qpu
    circuit = Circuit(3).h(0).cx(0, 1).ry(0.3, 2).swap(1, 2)
    result = stack.submit(Job(circuit))
    assert set(qpu.ran[0].circuit.count_ops()) <= {"rz", "sx", "cz"}
    expected = {k: v for k, v in reference_simulate(circuit.copy().measure_all()).probabilities.items()
                if v > 1e-12}
    assert result.probabilities == pytest.approx(expected, abs=1e-10)
    device = DeviceQPU("ion12", store=JobStore(":memory:"))
    try:
        specs_stack = GateSetRewriter() | Counting()
        assert specs_stack.submit(Job(BELL)).probabilities == pytest.approx({"00": 0.5, "11": 0.5})
        native = Counting()
        native.get_specs = device.get_specs
        (GateSetRewriter() | native).submit(Job(BELL))
        assert set(native.ran[0].circuit.count_ops()) <= {"rxy", "rzz"}
    finally:
        device.close()


def test_readout_mitigation_refuses_bad_matrices():
    with pytest.raises(QPUDataError, match="rows summing to 1"):
        ReadoutMitigation({0: [[0.9, 0.2], [0.1, 0.9]]})
    with pytest.raises(QPUDataError, match="singular"):
        ReadoutMitigation({0: [[0.5, 0.5], [0.5, 0.5]]})
    with pytest.raises(QPUDataError, match="has no 'qlab.readout_mitigation' plan"):
        ReadoutMitigation().post_process(BatchResult([]))


def test_specs_describe_the_qpu():
    noise = NoiseModel().with_gate_error("cx", depolarizing(0.02, 2)).with_readout_error(ReadoutError(0.01, 0.03))
    specs = DensityMatrixQPU(noise).get_specs()
    assert specs.topology is None and specs.gate_set == ()
    assert specs.readout_confusion(5).tolist() == [[0.99, 0.01], [0.03, 0.97]]
    assert specs.noise["gate_fidelity"]["cx"] == pytest.approx(depolarizing(0.02, 2).average_gate_fidelity())
    with DeviceQPU("training5", store=JobStore(":memory:")) as qpu:
        specs = qpu.get_specs()
        description = load_device("training5")
        assert specs.nbqbits == 5 and specs.topology == description.coupling_map
        assert "measure" not in specs.gate_set and set(specs.gate_set) == {op.name for op in description.operations} - {"measure"}
        assert specs.readout_confusion(0) is not None
        assert specs.df().set_index("property").loc["nbqbits", "value"] == 5
        assert "<table>" in specs._repr_html_()


COST = CostModel(per_coefficient=1e-8, per_job=1e-4, per_shot=1e-7)


def test_resource_estimates_follow_the_cost_model():
    qpu = DensityMatrixQPU(cost_model=COST)
    circuit = Circuit(5).h(0).cx(0, 1).cx(1, 2).barrier().x(4)
    obs = Observable(5, {"ZZIII": 1.0, "XXIII": 1.0})
    model = qpu.estimate_resources_for_batch(Batch([Job(circuit, 100), Job(circuit, 10, observable=obs)]))
    first, second = model.jobs
    assert (first.qubits, first.memory_bytes, first.shots) == (4, 32 * 4**4, 100)
    assert first.seconds == pytest.approx(1e-4 + 4 * 1e-8 * 4**4 + 100 * 1e-7)
    assert second.shots == 20 and second.qubits == 4  # two measurement groups, rotations on qubits 0 and 1
    assert list(model.df().columns) == ["job", "qubits", "memory_bytes", "seconds", "shots"]


def test_the_cost_model_is_measured():
    cost = CostModel.calibrate(qubits=6, gates=10)
    assert 0 < cost.per_coefficient < 1e-3 and 0 < cost.per_job < 1 and 0 <= cost.per_shot < 1e-3
    assert cost.seconds(8, 10, 0) > cost.seconds(4, 10, 0)


@pytest.mark.parametrize("limits, match", [
    (AllocationModel(max_qubits=3), r"job 1 needs qubits = 4 \(estimate\) but the limit is max_qubits = 3"),
    (AllocationModel(max_memory_bytes=1000), r"job 1 needs memory_bytes = 8192 \(estimate\) but the limit is max_memory_bytes = 1000"),
    (AllocationModel(max_shots=50), r"job 0 needs shots = 100 \(estimate\) but the limit is max_shots = 50"),
    (AllocationModel(max_seconds=1.5e-4), r"job 1 needs seconds = 0.000162 \(estimate\) but the limit is max_seconds = 0.00015"),
    (AllocationModel(max_jobs=1), r"it has jobs = 2 but the limit is max_jobs = 1"),
])
def test_limits_refuse_a_batch_before_anything_runs(limits, match):
    qpu = Counting(cost_model=COST)
    qpu.apply_resource_consumption_limits(limits)
    big = Circuit(4).h(0).cx(0, 1).cx(1, 2).cx(2, 3)
    for _ in range(20):
        big.rx(0.1, 3)
    batch = Batch([Job(Circuit(2).h(0), 100), Job(big, 10)])
    with pytest.raises(ResourceLimitError, match=match):
        qpu.submit(batch)
    assert qpu.ran == []


def test_limits_on_a_stack_judge_the_compiled_batch():
    qpu = Counting(cost_model=COST)
    stack = ObservableSplitter() | qpu
    stack.apply_resource_consumption_limits(AllocationModel(max_jobs=2))
    assert qpu.limits == AllocationModel(max_jobs=2) == stack.limits
    obs = Observable(2, {"ZZ": 1.0, "XX": 1.0, "YY": 1.0})  # three bases -> three jobs after splitting
    with pytest.raises(ResourceLimitError, match="jobs = 3 but the limit is max_jobs = 2"):
        stack.submit(Job(BELL, 10, observable=obs))
    assert qpu.ran == []
    assert stack.submit(Job(BELL, 10, observable=Observable(2, {"ZZ": 1.0}))).value == 1.0
    with pytest.raises(QlabTypeError, match="AllocationModel"):
        qpu.apply_resource_consumption_limits({"max_jobs": 1})


def test_device_qpu_runs_through_the_device_queue_into_the_store():
    store = JobStore(":memory:")
    with DeviceQPU("ideal", store=store, seed=3) as qpu:
        exact = qpu.submit(Job(BELL))
        sampled = qpu.submit(Batch([Job(BELL, 200), Job(Circuit(3).x(2), 10, qubits=[2, 0])]))
        value = qpu.submit(Job(BELL, observable=Observable(2, {"XX": 1.0, "ZZ": 1.0})))
    assert exact.probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    assert set(sampled[0].probabilities) == {"00", "11"} and sum(sampled[0].probabilities.values()) == pytest.approx(1)
    assert sampled[1].probabilities == {"10": 1.0}
    assert value.value == pytest.approx(2.0)
    table = store.df()
    assert set(table["family"]) == {"qpu"} and set(table["device"]) == {"ideal"} and set(table["status"]) == {"done"}
    assert len(table) == 1 + 2 + 2
    assert sampled[0].meta_data["job_ids"][0] in set(table["id"])


def test_device_qpu_exact_results_include_readout_and_observables_do_not():
    description = load_device("training5")
    noise = description.noise_model()
    with DeviceQPU(description, store=JobStore(":memory:")) as qpu:
        circuit = Circuit(5).x(0).cx(0, 1)
        exact = qpu.submit(Job(circuit, qubits=[0, 1]))
        value = qpu.submit(Job(circuit, observable=Observable(5, {"ZZIII": 1.0}))).value
    confusion = [noise.readout_error(q).matrix for q in (0, 1)]
    # a perfect |11> read through both confusion matrices gives P(record r0 r1) = A0[1, r0] A1[1, r1]
    assert exact.probabilities["00"] < 0.1
    assert value > 0.8  # ZZ of a nearly perfect |11>: readout errors do not bias it
    assert len(exact.raw_data) == 4
    assert abs(exact.probabilities["11"] - confusion[0][1, 1] * confusion[1][1, 1]) < 0.1


def test_device_qpu_on_a_qdmi_device_and_its_errors():
    with Session(store=":memory:", mqt=False) as session:
        qpu = DeviceQPU(session.device("sc20"))
        result = qpu.submit(Job(Circuit(2).h(0).cx(0, 1), 100))
        assert session.store.get(result.meta_data["job_ids"][0]).family == "qpu"
        before = len(session.store.df())
        with pytest.raises(QdmiError, match="sites 0 and 7 are not coupled"):
            qpu.submit(Batch([Job(Circuit(2).h(0), 10), Job(Circuit(8).cx(0, 7))]))
        assert len(session.store.df()) == before  # nothing was queued
    with pytest.raises(QlabTypeError, match="DeviceQPU takes a device id"):
        DeviceQPU(5)


def test_dask_executor_runs_batches_on_worker_processes():
    distributed = pytest.importorskip("distributed")
    noise = NoiseModel().with_gate_error(["h", "ry"], depolarizing(0.05)).with_readout_error(ReadoutError(0.02, 0.04))
    jobs = [Job(Circuit(2).ry(0.3 * i, 0).cx(0, 1), qubits=[1, 0]) for i in range(4)]
    jobs.append(Job(BELL, observable=Observable(2, {"XX": 1.0})))
    local = DensityMatrixQPU(noise).submit(Batch(jobs))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        remote = DensityMatrixQPU(noise, executor=client).submit(Batch(jobs))
        pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2 and __import__("os").getpid() not in pids
    for a, b in zip(local, remote):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-12)
        assert a.value == pytest.approx(b.value) if a.value is not None else b.value is None


def test_a_thread_pool_is_an_executor_too():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        out = DensityMatrixQPU(executor=pool, seed=1).submit(Batch([Job(Circuit(1).x(0)), Job(BELL, 50)]))
    assert out[0].probabilities == {"1": 1.0} and set(out[1].probabilities) <= {"00", "11"}


def test_reprs_read_like_constructors():
    assert repr(DensityMatrixQPU(seed=3)) == "DensityMatrixQPU(seed=3)"
    assert repr(GateSetRewriter(["cz", "rz"]) | DensityMatrixQPU()) == "GateSetRewriter(['cz', 'rz']) | DensityMatrixQPU()"
    assert repr(Job(BELL, 10)) == "Job(Circuit(2).h(0).cx(0, 1), nbshots=10, qubits=(0, 1))"
    assert "DensityMatrixQPU" in DensityMatrixQPU()._repr_html_()
    np.testing.assert_equal(repr(AllocationModel(max_jobs=2, max_qubits=4)), "AllocationModel(max_qubits=4, max_jobs=2)")


def test_device_qpu_on_mqt_cores_simulator():
    pytest.importorskip("mqt.core")
    with DeviceQPU("mqt.ddsim.default", store=JobStore(":memory:")) as qpu:
        sampled = qpu.submit(Job(Circuit(3).h(0).cx(0, 1).x(2), 200, qubits=[2, 0, 1]))
        exact = qpu.submit(Job(Circuit(2).x(1)))
        assert qpu.store.df()["family"].tolist() == ["qpu", "qpu"]
    assert set(sampled.probabilities) == {"100", "111"}
    assert exact.probabilities == {"01": 1.0}
