"""QPU data: JSON round trips (property-based), the schema version, and every refusal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlab import Circuit
from qlab.exceptions import QlabTypeError, QPUDataError
from qlab.qpu import (AllocationModel, Batch, BatchResult, HardwareSpecs, Job, JobResources, Observable, ResourceModel,
                      Result, Sample)
from qlab.qpu.noise_data import noise_model_from_dict, noise_model_to_dict
from qlab.qpu.schema import circuit_from_dict, circuit_to_dict
from qlab.sim import IdleNoise, NoiseModel, ReadoutError, amplitude_damping, depolarizing

ONE = ["h", "x", "y", "z", "s", "sdg", "t", "sx"]
ROT = ["rx", "ry", "rz"]
TWO = ["cx", "cz", "swap", "rzz"]
floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
meta = st.dictionaries(st.text(max_size=5), st.one_of(st.integers(-5, 5), st.text(max_size=5), st.none()), max_size=3)


@st.composite
def circuits(draw, n=None):
    n = draw(st.integers(1, 4)) if n is None else n
    c = Circuit(n)
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["one", "rot", "two", "unitary", "delay", "barrier"]))
        q = draw(st.integers(0, n - 1))
        if kind == "one":
            c.append(draw(st.sampled_from(ONE)), [q])
        elif kind == "rot":
            c.append(draw(st.sampled_from(ROT)), [q], [draw(floats)])
        elif kind == "two" and n > 1:
            a, b = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
            name = draw(st.sampled_from(TWO))
            c.append(name, [a, b], [draw(floats)] if name == "rzz" else [])
        elif kind == "unitary":
            theta = draw(floats)
            c.unitary(np.array([[np.cos(theta), -1j * np.sin(theta)], [-1j * np.sin(theta), np.cos(theta)]]), q)
        elif kind == "delay":
            c.delay(draw(st.floats(0, 100)), q, unit="ns")
        else:
            c.barrier()
    return c


@st.composite
def observables(draw, n):
    labels = st.text(alphabet="IXYZ", min_size=n, max_size=n)
    return Observable(n, draw(st.dictionaries(labels, floats, max_size=4)), draw(floats))


@st.composite
def jobs(draw):
    c = draw(circuits())
    n = c.num_qubits
    qubits = draw(st.permutations(range(n)))[: draw(st.integers(0, n))]
    obs = draw(st.one_of(st.none(), observables(n)))
    return Job(c, draw(st.integers(0, 10**6)), qubits, obs, draw(meta))


@st.composite
def results(draw):
    k = draw(st.integers(0, 4))
    states = draw(st.lists(st.integers(0, 2**k - 1), unique=True, max_size=4))
    samples = [Sample(s, k, draw(st.floats(0, 1)),
                      draw(st.one_of(st.none(), st.builds(complex, floats, floats))),
                      draw(st.one_of(st.none(), st.floats(0, 1)))) for s in states]
    value = draw(st.one_of(st.none(), floats))
    return Result(samples, tuple(range(k)), draw(st.integers(0, 1000)), value,
                  draw(st.one_of(st.none(), st.floats(0, 1))), draw(meta))


@settings(max_examples=60, deadline=None)
@given(jobs())
def test_job_round_trips_through_json(job):
    back = Job.from_json(job.to_json())
    assert back == job
    assert back.circuit == job.circuit
    assert back.observable == job.observable


@settings(max_examples=30, deadline=None)
@given(st.lists(jobs(), max_size=3), meta)
def test_batch_round_trips_through_json(job_list, meta_data):
    batch = Batch(job_list, meta_data)
    assert Batch.from_json(batch.to_json()) == batch


@settings(max_examples=60, deadline=None)
@given(st.lists(results(), max_size=3), meta)
def test_results_round_trip_through_json(result_list, meta_data):
    batch_result = BatchResult(result_list, meta_data)
    back = BatchResult.from_json(batch_result.to_json())
    assert back.to_dict() == batch_result.to_dict()
    for a, b in zip(back, batch_result):
        assert a.raw_data == b.raw_data
        assert Result.from_json(a.to_json()).to_dict() == a.to_dict()


def test_specs_resources_limits_and_noise_round_trip():
    specs = HardwareSpecs(3, ((0, 1), (1, 2)), ("rz", "sx", "cz"), "line",
                          {"readout_confusion": {"0": [[0.9, 0.1], [0.2, 0.8]]}}, {"qpu": "X"})
    assert HardwareSpecs.from_dict(json.loads(json.dumps(specs.to_dict()))) == specs
    assert specs.readout_confusion(0).tolist() == [[0.9, 0.1], [0.2, 0.8]]
    assert specs.readout_confusion(1) is None
    model = ResourceModel([JobResources(0, 3, 32 * 4**3, 0.5, 10)])
    assert ResourceModel.from_dict(json.loads(json.dumps(model.to_dict()))).jobs == model.jobs
    limits = AllocationModel(max_qubits=3, max_seconds=1.5)
    assert AllocationModel.from_dict(limits.to_dict()) == limits
    noise = (NoiseModel().with_gate_error("cx", depolarizing(0.02, 2), (0, 1))
             .with_gate_error("h", amplitude_damping(0.1))
             .with_idle_noise(IdleNoise.from_t1_t2(50e-6, 30e-6))
             .with_readout_error(ReadoutError(0.01, 0.03), 2).with_duration("cx", 3e-7))
    back = noise_model_from_dict(json.loads(json.dumps(noise_model_to_dict(noise))))
    assert back == noise
    assert back.idle_noise(0).channel(1e-6) == noise.idle_noise(0).channel(1e-6)


def test_job_reads_terminal_measurements_as_the_measured_qubits():
    c = Circuit(3, 3).h(0).cx(0, 2)
    c.measure(2, 0).measure(0, 1)
    job = Job(c, 10)
    assert job.qubits == (2, 0)
    assert "measure" not in job.circuit.count_ops()
    assert Job(Circuit(2).h(0)).qubits == (0, 1)


@pytest.mark.parametrize("make, match", [
    (lambda: Job(Circuit(1), nbshots=-1), "nbshots must be an int"),
    (lambda: Job(Circuit(1), nbshots=1.5), "nbshots must be an int"),
    (lambda: Job(Circuit(2), qubits=[0, 0]), r"qubits must be distinct ints in 0..1, got \[0, 0\]"),
    (lambda: Job(Circuit(2), qubits=[2]), r"qubits must be distinct ints in 0..1"),
    (lambda: Job(Circuit(2), observable=Observable(3, {"ZZZ": 1})), "acts on 3 qubit"),
    (lambda: Job(Circuit(1, 1).measure(0, 0).x(0)), "mid-circuit measurement"),
    (lambda: Job(Circuit(1, 1).x(0).c_if("c", 1)), "classical condition"),
    (lambda: Job(Circuit(1), meta_data={"x": object()}), "JSON-serialisable"),
    (lambda: Observable(2, {"ZQ": 1.0}), "term 'ZQ' must be 2 characters"),
    (lambda: Observable(1, {"Z": 1j}), "finite real number"),
    (lambda: Observable(1, {"Z": math.nan}), "finite real number"),
    (lambda: AllocationModel(max_qubits=0), "max_qubits must be a positive number"),
    (lambda: Sample(4, 2, 0.5), r"state must be an int in 0..3"),
])
def test_bad_values_are_refused(make, match):
    with pytest.raises(QPUDataError, match=match):
        make()


def test_wrong_types_are_refused():
    with pytest.raises(QlabTypeError, match="Job needs a qlab Circuit"):
        Job("OPENQASM 3.0;")
    with pytest.raises(QlabTypeError, match="Batch job 1 must be a qlab.qpu.Job"):
        Batch([Job(Circuit(1)), "job"])


@pytest.mark.parametrize("text, match", [
    ('{"schema": "qlab.qpu/0", "job": {}}', "schema is 'qlab.qpu/0'; this qlab reads 'qlab.qpu/1'"),
    ('{"job": {}}', "schema is None"),
    ('[1, 2]', "expected a JSON object, got list"),
    ('{"schema": "qlab.qpu/1", "job": {"nbshots": 1}}', "field 'circuit' is missing"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1, "instructions": []}, "nbshots": true}}',
     "field 'nbshots' must be int, got bool"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1, "instructions": [{"name": "measure", "qubits": [0]}]}}}',
     "carry no measurements"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1, "instructions": [{"name": "x", "qubits": [3]}]}}}',
     "instruction 0: .*out of range"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1, "instructions": [{"name": "x", "qubits": [0], "cond": 1}]}}}',
     "unknown field 'cond'"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1, "instructions": []}, "observable": {"nqbits": 1, "terms": [["Z"]]}}}',
     r"each term must be \[pauli, coefficient\]"),
    ("{not json", "not valid JSON"),
    ('{"schema": "qlab.qpu/1", "job": {"circuit": {"num_qubits": 1000000000, "instructions": []}}}',
     r"num_qubits must be in 0..4096, got 1000000000"),
])
def test_malformed_documents_are_refused_naming_the_field(text, match):
    with pytest.raises(QPUDataError, match=match):
        Job.from_json(text)


def test_unphysical_noise_dicts_are_refused():
    data = noise_model_to_dict(NoiseModel().with_gate_error("x", depolarizing(0.1)))
    data["gate_errors"][0]["ptm"][1][1] = 3.0
    with pytest.raises(QPUDataError, match="Invalid noise model"):
        noise_model_from_dict(data)


def test_circuit_dicts_keep_unitaries_and_delays_exactly():
    u = np.array([[0, 1j], [1j, 0]])
    c = Circuit(2).unitary(u, 1).delay(12.5, 0, unit="ns").rx(0.1234567890123, 0)
    assert circuit_from_dict(json.loads(json.dumps(circuit_to_dict(c)))) == c
