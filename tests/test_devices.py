"""Device descriptions: the catalog, the file format and its errors, calibration and noise."""

import dataclasses
import inspect
import json
import math
import re
import warnings

import numpy as np
import pytest

import qlab
from qlab.devices import (
    DeviceDescription,
    DeviceDescriptionError,
    OperationDescription,
    SiteDescription,
    UnknownDeviceError,
    description_from_dict,
    description_to_dict,
    device_ids,
    load_description,
    load_device,
    parse_description,
)
from qlab.devices.placement import fit_circuit
from qlab.sim import NoiseModel

MINIMAL_TOML = """
id = "pair"
name = "Two coupled qubits"
version = "1"
qubits_num = 2
duration_unit = "ns"
coupling_map = [[0, 1]]
sites = [{index = 0, t1 = 50000, t2 = 40000}, {index = 1, t1 = 60000, t2 = 30000}]
operations = [
    {name = "sx", qubits_num = 1, parameters_num = 0, duration = 35, fidelity = 0.999},
    {name = "rz", qubits_num = 1, parameters_num = 1},
    {name = "cz", qubits_num = 2, parameters_num = 0, duration = 300, fidelity = 0.99},
    {name = "measure", qubits_num = 1, parameters_num = 0, duration = 1000},
]
"""


def minimal() -> dict:
    """A small valid description as a dict, for breaking one field at a time."""
    return {
        "id": "pair", "name": "Pair", "version": "1", "qubits_num": 2, "duration_unit": "ns",
        "coupling_map": [[0, 1]],
        "sites": [{"index": 0, "t1": 50000, "t2": 40000, "readout_fidelity": 0.97}, {"index": 1, "t1": 60000, "t2": 30000}],
        "operations": [
            {"name": "sx", "qubits_num": 1, "parameters_num": 0, "duration": 35, "fidelity": 0.999},
            {"name": "cz", "qubits_num": 2, "parameters_num": 0, "duration": 300, "fidelity": 0.99},
            {"name": "measure", "qubits_num": 1, "parameters_num": 0, "duration": 1000},
        ],
    }


def invalid(problem: str) -> str:
    return re.escape(f"Invalid device description 'pair': {problem}")


# ---------------------------------------------------------------- catalog
def test_catalog_has_the_four_devices():
    assert device_ids() == ["ideal", "ion12", "sc20", "training5"]
    for device_id in device_ids():
        d = load_device(device_id)
        assert d.id == device_id and d.program_formats == ("qasm2", "qasm3")
        assert d.source and d.notes
    assert load_device("sc20") is load_device("sc20")
    assert "<td style='text-align:left'>all-to-all</td>" in load_device("ion12")._repr_html_()


def test_unknown_catalog_device():
    with pytest.raises(UnknownDeviceError, match=re.escape("No built-in device 'sc21'; the catalog has ideal, ion12, sc20, training5.")):
        load_device("sc21")


@pytest.mark.parametrize("device_id", ["ideal", "ion12", "sc20", "training5"])
def test_catalog_noise_models_build_without_warnings(device_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_device(device_id).noise_model()
    assert model.is_ideal == (device_id == "ideal")


def test_sc20_is_a_realistic_square_lattice():
    d = load_device("sc20")
    assert d.qubits_num == 20 and len(d.coupling_map) == 31
    degree = [len(d.neighbours(q)) for q in range(20)]
    assert max(degree) == 4 and min(degree) == 2
    for a, b in d.coupling_map:
        (xa, ya), (xb, yb) = d.sites[a].coordinates, d.sites[b].coordinates
        assert abs(xa - xb) + abs(ya - yb) == 600
    t1 = np.array([d.seconds(s.t1) for s in d.sites])
    t2 = np.array([d.seconds(s.t2) for s in d.sites])
    assert np.all((100e-6 <= t1) & (t1 <= 300e-6)) and np.all(t2 <= 2 * t1)
    cz_error = 1 - np.array(d.operation("cz").fidelities)
    assert np.all((3e-3 <= cz_error) & (cz_error <= 1e-2))
    readout_error = 1 - np.array([s.readout_fidelity for s in d.sites])
    assert np.all((0.005 <= readout_error) & (readout_error <= 0.02))
    assert d.seconds(d.operation("rz").durations[0]) == 0
    assert "IBM Heron" in d.source and "Garnet" in d.source


def test_ion12_is_an_all_to_all_trapped_ion_device():
    d = load_device("ion12")
    assert d.all_to_all and len(d.coupling_map) == 66
    assert d.native_gates == {"rxy", "rzz", "measure", "reset"}
    assert all(d.seconds(s.t1) >= 3600 for s in d.sites)
    assert all(0.5 <= d.seconds(s.t2) <= 2 for s in d.sites)
    rzz = d.operation("rzz")
    assert all(0.99 <= f <= 0.998 for f in rzz.fidelities)
    for op in (d.operation("rxy"), rzz):
        assert all(9.9e-6 <= d.seconds(x) <= 200.1e-6 for x in op.durations)


def test_training5_shows_noise_and_ideal_does_not():
    bell = qlab.Circuit(2).h(0).cx(0, 1).measure_all()
    noisy = load_device("training5")
    p = qlab.simulate(fit_circuit(bell, noisy), noisy.noise_model()).probabilities
    assert 0.03 < p.get("01", 0) + p.get("10", 0) < 0.3
    ideal = load_device("ideal")
    assert ideal.is_noise_free and ideal.max_simulated_qubits == 12 and ideal.qubits_num == 12
    assert qlab.simulate(fit_circuit(bell, ideal), ideal.noise_model()).probabilities == {"00": 0.5, "11": 0.5}


# ------------------------------------------------------------ calibration
def test_calibration_is_the_keyword_arguments_of_from_calibration():
    d = load_device("sc20")
    cal = d.calibration()
    assert set(cal) == set(inspect.signature(NoiseModel.from_calibration).parameters)
    assert cal["t1"][0] == pytest.approx(182e-6) and len(cal["t2"]) == 20
    assert cal["gate_durations"]["measure"][(3,)] == pytest.approx(1.56e-6)
    assert cal["gate_durations"]["cz"][(0, 1)] == pytest.approx(68e-9)
    assert cal["gate_fidelities"]["cz"][(0, 1)] == d.operation("cz").fidelity((0, 1))
    assert "measure" not in cal["gate_fidelities"] and "reset" not in cal["gate_fidelities"]
    assert cal["readout_fidelities"][0] == d.sites[0].readout_fidelity
    model = NoiseModel.from_device(d)
    assert model.duration("cz", (0, 1)) == pytest.approx(68e-9)
    assert model.readout_error(4).fidelity == pytest.approx(d.sites[4].readout_fidelity)
    assert model.gate_error("sx", (2,)).average_gate_fidelity() == pytest.approx(d.operation("sx").fidelity((2,)))


def test_unset_coherence_times_are_infinite():
    d = load_device("ideal")
    cal = d.calibration()
    assert cal["t1"] == [math.inf] * 12 and cal["gate_fidelities"] == {}


# ------------------------------------------------------------- the format
def test_minimal_toml_from_the_docstring_reads():
    d = parse_description(MINIMAL_TOML, "toml")
    assert d.id == "pair" and d.sites[1].t1 == 60000 and d.length_unit == "um"
    assert d.operation("rz").sites == ((0,), (1,)) and d.operation("rz").fidelities is None
    assert d.operation("cz").sites == ((0, 1), (1, 0))
    assert d.max_simulated_qubits == 14 and d.unroll and not d.requires_token


@pytest.mark.parametrize("device_id", ["ideal", "ion12", "sc20", "training5"])
def test_round_trip_through_dict_and_json(device_id):
    d = load_device(device_id)
    assert description_from_dict(json.loads(json.dumps(description_to_dict(d)))) == d


def test_load_description_from_files(tmp_path):
    (tmp_path / "pair.toml").write_text(MINIMAL_TOML)
    (tmp_path / "pair.json").write_text(json.dumps(minimal()))
    assert load_description(tmp_path / "pair.toml").qubits_num == 2
    assert load_description(str(tmp_path / "pair.json")).sites[0].readout_fidelity == 0.97
    (tmp_path / "pair.yaml").write_text("")
    with pytest.raises(DeviceDescriptionError, match="the file must end in .json or .toml"):
        load_description(tmp_path / "pair.yaml")
    with pytest.raises(DeviceDescriptionError, match="Cannot read device description .*missing.json.*No such file"):
        load_description(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"id": "bad", ')
    with pytest.raises(DeviceDescriptionError, match="invalid JSON at line 1"):
        load_description(tmp_path / "bad.json")
    broken = minimal()
    del broken["name"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(DeviceDescriptionError, match=invalid("the required field 'name' is missing.") + ".*broken.json"):
        load_description(tmp_path / "broken.json")


def test_a_missing_field():
    data = minimal()
    del data["qubits_num"]
    with pytest.raises(DeviceDescriptionError, match=invalid("the required field 'qubits_num' is missing.")):
        description_from_dict(data)
    data = minimal()
    del data["operations"][0]["parameters_num"]
    with pytest.raises(DeviceDescriptionError, match=invalid("the required field 'parameters_num' in operations[0] is missing.")):
        description_from_dict(data)


def test_a_coupling_edge_to_a_missing_site():
    data = minimal()
    data["coupling_map"].append([1, 5])
    with pytest.raises(DeviceDescriptionError, match=invalid("coupling_map[1] = [1, 5] names site 5, but the device has sites 0..1.")):
        description_from_dict(data)


def test_t2_above_twice_t1():
    data = minimal()
    data["sites"][1]["t2"] = 120001
    with pytest.raises(
        DeviceDescriptionError,
        match=invalid("sites[1].t2 = 120001 is more than 2*t1 = 120000; coherence cannot outlive twice the energy relaxation time (T2 <= 2*T1)."),
    ):
        description_from_dict(data)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(qubit_num=2), "unknown field 'qubit_num'; allowed: id, name,"),
        (lambda d: d["sites"][0].update(T1=5), "unknown field 'T1' in sites[0]; allowed: index, name, t1, t2, coordinates, readout_fidelity."),
        (lambda d: d.update(qubits_num="2"), "qubits_num must be an integer, got '2'."),
        (lambda d: d["sites"][0].update(t1="5"), "sites[0].t1 must be a number, got '5'."),
        (lambda d: d["sites"][0].update(t1=True), "sites[0].t1 must be a number, got True."),
        (lambda d: d["sites"][0].update(t1=float("inf")), "sites[0].t1 must be a number, got inf."),
        (lambda d: d["sites"][0].update(t1=0.0), "sites[0].t1 must be a positive number (raw duration), got 0.0."),
        (lambda d: d.update(qubits_num=3), "qubits_num is 3 but 2 sites are described; give one site per qubit."),
        (lambda d: d["sites"][1].update(index=0), "sites[1].index is 0; sites must have the indices 0..1, each once, in order."),
        (lambda d: d["sites"][0].update(readout_fidelity=0.3), "sites[0].readout_fidelity must be a number in [0.5, 1], got 0.3."),
        (lambda d: d["sites"][0].update(t1=-1), "sites[0].t1 must be a positive number (raw duration), got -1."),
        (lambda d: d["sites"][0].update(coordinates=[1]), "sites[0].coordinates must be 2 or 3 numbers (raw lengths), got (1,)."),
        (lambda d: d["coupling_map"].append([1, 0]), "coupling_map[1] = [1, 0] repeats a coupling; list each coupled pair once."),
        (lambda d: d["coupling_map"].append([1, 1]), "coupling_map[1] = [1, 1] couples a site to itself."),
        (lambda d: d.update(coupling_map="ring"), 'coupling_map must be a list of [a, b] pairs or "all-to-all", got \'ring\'.'),
        (lambda d: d.update(duration_unit="min"), "duration_unit 'min' is unknown; allowed: s, ms, us, ns, ps."),
        (lambda d: d.update(duration_scale_factor=0), "duration_scale_factor must be a positive number, got 0.0."),
        (lambda d: d.update(status="asleep"), "status 'asleep' is unknown; allowed: offline, idle, busy, error, maintenance, calibration."),
        (lambda d: d.update(program_formats=["qir_base_string"]), "program format 'qir_base_string' cannot run on a described device; allowed: qasm2, qasm3."),
        (lambda d: d.update(id="Pair!"), None),
        (lambda d: d["operations"][0].update(name="sqrtx"), "operations[0] ('sqrtx'): unknown operation; use a qlab library gate ("),
        (lambda d: d["operations"][1].update(parameters_num=1), "operations[1] ('cz') declares 2 qubit(s) and 1 parameter(s); the gate has 2 and 0."),
        (lambda d: d["operations"][2].update(fidelity=0.98), "operations[2] ('measure'): give readout fidelities per site (sites[i].readout_fidelity), not on 'measure'."),
        (lambda d: d["operations"][0].update(fidelity=[0.99, 0.98]), "operations[0] ('sx'): a list of fidelity values needs an explicit 'sites' list to line up with."),
        (lambda d: d["operations"][0].update(sites=[0, 1], fidelity=[0.99]), "operations[0] ('sx'): 1 fidelity values for 2 sites; give one per site entry."),
        (lambda d: d["operations"][0].update(fidelity=1.5), "operations[0] ('sx'): fidelities must be one number in (0, 1] per site entry."),
        (lambda d: d["operations"][0].update(duration=-3), "operations[0] ('sx'): durations must be one non-negative number (raw duration) per site entry."),
        (lambda d: d["operations"][0].update(sites=[0, 2]), "operations[0] ('sx') lists sites [2]; expected 1 distinct site(s) in 0..1."),
        (lambda d: d.update(coupling_map=[]), "operations[1] ('cz') acts on no sites."),
        (lambda d: d["operations"].append(dict(d["operations"][0])), "operations[3] ('sx') is described twice; give each operation once."),
    ],
)
def test_schema_errors_name_the_field(change, problem):
    data = minimal()
    change(data)
    if problem is None:
        with pytest.raises(DeviceDescriptionError, match="id must be lowercase letters"):
            description_from_dict(data)
        return
    with pytest.raises(DeviceDescriptionError, match=invalid(problem)):
        description_from_dict(data)


def test_two_qubit_operations_need_coupled_sites():
    with pytest.raises(DeviceDescriptionError, match=re.escape("operations[0] ('cz') acts on sites [0, 2], which the coupling map does not connect.")):
        DeviceDescription(
            "line", "Line", "1", 3, tuple(SiteDescription(i) for i in range(3)),
            (OperationDescription("cz", 2, 0, ((0, 2),), (10,)),), ((0, 1), (1, 2)), "ns",
        )


def test_direct_construction_is_validated_and_replace_works():
    d = load_device("training5")
    assert dataclasses.replace(d, status="maintenance").status == "maintenance"
    with pytest.raises(DeviceDescriptionError, match="max_simulated_qubits must be a positive integer, got 0"):
        dataclasses.replace(d, max_simulated_qubits=0)


def test_children_are_full_descriptions_with_unique_ids():
    data = minimal()
    child = minimal()
    child["id"] = "pair-half"
    data["children"] = [child]
    d = description_from_dict(data)
    assert d.children[0].id == "pair-half" and d.children[0].qubits_num == 2
    child["id"] = "pair"
    with pytest.raises(DeviceDescriptionError, match=invalid("child device id 'pair' is used twice; ids must be unique.")):
        description_from_dict(data)


def test_units_and_lookups():
    d = load_device("ion12")
    assert d.seconds(150) == pytest.approx(150e-6) and d.seconds(None) == math.inf
    assert d.meters(5) == pytest.approx(5e-6)
    assert d.is_coupled(11, 0) and d.operation("cx") is None
    assert d.operation("rzz").acts_on((0, 11)) and d.operation("rzz").fidelity((0, 11)) == d.operation("rzz").fidelities[10]


def _with_first_operation(**changes) -> None:
    device = load_device("training5")
    op = dataclasses.replace(device.operations[0], **changes)
    dataclasses.replace(device, operations=(op,) + device.operations[1:])


def test_a_fidelity_no_noise_model_reaches_is_refused():
    n = len(load_device("training5").operations[0].sites)
    with pytest.raises(DeviceDescriptionError, match=r"operations\[0\] \('rz'\): fidelity 0.2 is at or below 0.3333"):
        _with_first_operation(fidelities=(0.2,) * n)


def test_a_site_entry_given_twice_is_refused():
    op = load_device("training5").operations[0]
    with pytest.raises(DeviceDescriptionError, match=r"operations\[0\] \('rz'\) lists sites \[0\] more than once"):
        _with_first_operation(sites=op.sites + op.sites[:1], durations=op.durations + op.durations[:1],
                              fidelities=op.fidelities + op.fidelities[:1])


def test_a_program_format_given_twice_is_refused():
    with pytest.raises(DeviceDescriptionError, match=r"program_formats lists a format twice: \['qasm2', 'qasm2'\]"):
        dataclasses.replace(load_device("training5"), program_formats=("qasm2", "qasm2"))


def test_raw_durations_may_be_any_positive_number_and_accessors_give_seconds():
    data = minimal()
    data["sites"][0].update(t1=31000.5, t2=20000.25, coordinates=[0.5, 1.25])
    data["operations"][0].update(duration=35.5)
    d = description_from_dict(data)
    assert (d.sites[0].t1, d.sites[0].coordinates) == (31000.5, (0.5, 1.25))
    unit = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}[data["duration_unit"]] * data.get("duration_scale_factor", 1)
    assert d.seconds(d.sites[0].t1) == pytest.approx(31000.5 * unit)
    calibration = d.calibration()
    assert calibration["t1"][0] == pytest.approx(31000.5 * unit) and calibration["t2"][0] == pytest.approx(20000.25 * unit)
    sx = data["operations"][0]["name"]
    assert list(calibration["gate_durations"][sx].values()) == [pytest.approx(35.5 * unit)] * 2
    assert description_from_dict(description_to_dict(d)) == d
