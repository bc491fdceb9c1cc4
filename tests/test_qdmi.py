"""QDMI enums, errors, sessions and the device / site / operation query interface."""

import dataclasses
import json
import re

import pandas as pd
import pytest

import qlab
from qlab.devices import description_to_dict, load_device
from qlab.exceptions import QlabError, QlabTimeoutError
from qlab.jobs import JobStore
from qlab.qdmi import (
    BadState,
    DeviceProperty,
    DeviceStatus,
    Fatal,
    InvalidArgument,
    JobParameter,
    JobResult,
    JobStatus,
    NotFound,
    NotSupported,
    OperationProperty,
    OutOfRange,
    PermissionDenied,
    ProgramFormat,
    QdmiError,
    Session,
    Site,
    SiteProperty,
    Status,
    Timeout,
)
from qlab.qdmi.errors import error_for


@pytest.fixture
def session():
    with Session(store=":memory:", mqt=False) as s:
        yield s


# ------------------------------------------------------------------ enums
def test_enum_values_are_qdmis():
    assert (Status.SUCCESS, Status.ERROR_INVALIDARGUMENT, Status.ERROR_BADSTATE, Status.ERROR_TIMEOUT) == (0, -7, -10, -11)
    assert (DeviceProperty.COUPLINGMAP, DeviceProperty.DURATIONSCALEFACTOR, DeviceProperty.ID) == (7, 13, 18)
    assert (SiteProperty.T1, SiteProperty.SUBMODULEINDEX, OperationProperty.SITES) == (1, 12, 9)
    assert (JobStatus.QUEUED, JobStatus.CANCELED, DeviceStatus.CALIBRATION) == (2, 5, 5)
    assert (ProgramFormat.QASM3, ProgramFormat.QPY, ProgramFormat.CUSTOM1) == (1, 7, 999999995)
    assert (JobParameter.PROGRAMFORMAT, JobParameter.PROGRAM, JobParameter.SHOTSNUM) == (0, 1, 2)
    assert (JobResult.HIST_VALUES, JobResult.PROBABILITIES_SPARSE_VALUES) == (2, 8)
    assert JobParameter.SEED is JobParameter.CUSTOM1 and JobResult.DENSITY_MATRIX is JobResult.CUSTOM1


def test_enums_take_names_loosely():
    assert ProgramFormat("qir_base_string") is ProgramFormat.QIRBASESTRING
    assert JobParameter("shots-num") is JobParameter.SHOTSNUM and JobParameter("seed") is JobParameter.CUSTOM1
    assert DeviceProperty(DeviceProperty.NAME) is DeviceProperty.NAME and DeviceStatus(1) is DeviceStatus.IDLE


@pytest.mark.parametrize(
    ("enum", "value", "message"),
    [
        (JobParameter, 77, "Unknown JobParameter 77; allowed: PROGRAMFORMAT, PROGRAM, SHOTSNUM, CUSTOM1, SEED, CUSTOM2"),
        (JobResult, "bogus", "Unknown JobResult 'bogus'; allowed: SHOTS, HIST_KEYS,"),
        (DeviceProperty, -1, "Unknown DeviceProperty -1; allowed: NAME, VERSION,"),
        (ProgramFormat, "qasm4", "Unknown ProgramFormat 'qasm4'; allowed: QASM2, QASM3,"),
        (SiteProperty, None, "Unknown SiteProperty None; allowed: INDEX,"),
    ],
)
def test_unknown_enum_values(enum, value, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        enum(value)


def test_unknown_enum_values_in_calls(session):
    dev = session.device("sc20")
    with pytest.raises(InvalidArgument, match=re.escape("Unknown DeviceProperty 'colour'")):
        dev.query("colour")
    with pytest.raises(InvalidArgument, match=re.escape("Unknown SiteProperty 99")):
        dev.sites[0].query(99)
    with pytest.raises(InvalidArgument, match=re.escape("Unknown OperationProperty 'speed'")):
        dev.operation("cz").query("speed")


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("cls", "code", "builtin"),
    [
        (InvalidArgument, Status.ERROR_INVALIDARGUMENT, ValueError),
        (NotSupported, Status.ERROR_NOTSUPPORTED, NotImplementedError),
        (BadState, Status.ERROR_BADSTATE, RuntimeError),
        (PermissionDenied, Status.ERROR_PERMISSIONDENIED, PermissionError),
        (NotFound, Status.ERROR_NOTFOUND, LookupError),
        (OutOfRange, Status.ERROR_OUTOFRANGE, IndexError),
        (Timeout, Status.ERROR_TIMEOUT, TimeoutError),
        (Fatal, Status.ERROR_FATAL, RuntimeError),
    ],
)
def test_one_exception_per_error_status(cls, code, builtin):
    err = cls("message")
    assert err.code is code and cls.code is code
    assert isinstance(err, QdmiError) and isinstance(err, QlabError) and isinstance(err, builtin)
    assert error_for(code) is cls and error_for(int(code)) is cls
    assert str(err) == "message"


def test_timeout_is_also_qlabs_timeout():
    assert issubclass(Timeout, QlabTimeoutError)
    with pytest.raises(InvalidArgument, match=re.escape("<Status.SUCCESS: 0> has no exception class")):
        error_for(Status.SUCCESS)


# ---------------------------------------------------------------- session
def test_session_devices_and_lookup(session):
    assert session.device_ids == ["ideal", "ion12", "sc20", "training5"]
    assert [d.id for d in session.devices] == session.device_ids
    with pytest.raises(NotFound, match=re.escape("No device 'sc99' in this session; it has ideal, ion12, sc20, training5.")):
        session.device("sc99")
    frame = session.df()
    assert isinstance(frame, pd.DataFrame) and list(frame["id"]) == session.device_ids
    assert "<table" in session._repr_html_()


def test_session_parameters_are_checked():
    with pytest.raises(InvalidArgument, match=re.escape("Unknown session parameter 'colour'; the parameters are token, base_url, username, password, auth_file, auth_url, project_id and custom1, custom2")):
        Session(store=":memory:", mqt=False, colour="red")
    with pytest.raises(InvalidArgument, match=re.escape("Session parameter token must be a str, got int.")):
        Session(token=42, store=":memory:", mqt=False)
    with pytest.raises(InvalidArgument, match=re.escape("workers for device 'ideal' must be an int >= 1, got 0.")):
        Session(store=":memory:", mqt=False, workers=0)
    with pytest.raises(InvalidArgument, match=re.escape("Session parameter custom1 is used only by MQT Core's QDMI driver, and this session has none of its devices (mqt=False)")):
        Session(store=":memory:", mqt=False, custom1="x")
    with Session("secret", "https://qpu.example", store=":memory:", mqt=False, workers={"sc20": 3}) as s:
        assert s.token == "secret" and s.base_url == "https://qpu.example" and s.custom == {}
        assert s.device("sc20").workers == 3 and s.device("ideal").workers == 1


def test_extra_devices_from_descriptions_and_files(tmp_path):
    mine = dataclasses.replace(load_device("training5"), id="my-line", name="My line")
    path = tmp_path / "other.json"
    path.write_text(json.dumps({**description_to_dict(load_device("ion12")), "id": "other-ions"}))
    with Session(store=":memory:", mqt=False, devices=[mine, path]) as s:
        assert s.device("my-line").name == "My line" and s.device("other-ions").qubits_num == 12
    with pytest.raises(InvalidArgument, match=re.escape("Device id 'training5' is already in the session")):
        Session(store=":memory:", mqt=False, devices=[load_device("training5")])
    with pytest.raises(InvalidArgument, match=re.escape("Session(devices=...) takes descriptions or description files, got int.")):
        Session(store=":memory:", mqt=False, devices=[3])
    with pytest.raises(InvalidArgument, match="Cannot read device description"):
        Session(store=":memory:", mqt=False, devices=[tmp_path / "missing.json"])


def test_child_devices_join_the_session():
    parent = dataclasses.replace(
        load_device("sc20"), id="sc20-with-child",
        children=(dataclasses.replace(load_device("training5"), id="sc20-child"),),
    )
    with Session(store=":memory:", mqt=False, devices=[parent]) as s:
        dev = s.device("sc20-with-child")
        assert [c.id for c in dev.child_devices] == ["sc20-child"]
        assert s.device("sc20-child") is dev.child_devices[0]
        assert dev.query(DeviceProperty.CHILDDEVICES) == dev.child_devices


def test_closed_session(tmp_path):
    s = Session(store=tmp_path / "jobs.sqlite", mqt=False)
    dev = s.device("ideal")
    s.close()
    s.close()
    assert s.closed and s.store.closed
    with pytest.raises(BadState, match=re.escape("The session is closed; open a new Session().")):
        s.device("ideal")
    with pytest.raises(BadState, match="The session is closed"):
        dev.create_job()


def test_a_given_store_is_used_and_left_open():
    store = JobStore(":memory:")
    with Session(store=store, mqt=False) as s:
        assert s.store is store
    assert not store.closed


# ---------------------------------------------------------------- devices
def test_every_device_property_answers_with_its_descriptions_value_or_is_not_supported(session):
    unsupported = {DeviceProperty.MINATOMDISTANCE, DeviceProperty.PULSESUPPORT} | {p for p in DeviceProperty if p.name.startswith("CUSTOM")}
    for dev in session.devices:
        d = load_device(dev.id)
        expected = {
            DeviceProperty.NAME: d.name, DeviceProperty.VERSION: d.version, DeviceProperty.STATUS: DeviceStatus.IDLE,
            DeviceProperty.QUBITSNUM: d.qubits_num, DeviceProperty.ID: d.id, DeviceProperty.QUEUELENGTH: 0,
            DeviceProperty.NEEDSCALIBRATION: 0, DeviceProperty.LIBRARYVERSION: qlab.__version__,
            DeviceProperty.DURATIONUNIT: d.duration_unit, DeviceProperty.DURATIONSCALEFACTOR: d.duration_scale_factor,
            DeviceProperty.LENGTHUNIT: d.length_unit, DeviceProperty.LENGTHSCALEFACTOR: d.length_scale_factor,
            DeviceProperty.SUPPORTEDPROGRAMFORMATS: tuple(ProgramFormat(f) for f in d.program_formats),
            DeviceProperty.CHILDDEVICES: (),
        }
        for prop in DeviceProperty:
            if prop in unsupported:
                with pytest.raises(NotSupported, match=re.escape(f"Device {dev.id!r} does not report {prop!r}.")):
                    dev.query(prop)
            elif prop in expected:
                assert dev.query(prop) == expected[prop], (dev.id, prop)
        assert [s.index for s in dev.query(DeviceProperty.SITES)] == list(range(d.qubits_num))
        assert [op.name for op in dev.query(DeviceProperty.OPERATIONS)] == [op.name for op in d.operations]
        assert [(a.index, b.index) for a, b in dev.query(DeviceProperty.COUPLINGMAP)] == [tuple(p) for p in d.coupling_map]


def test_device_properties(session):
    dev = session.device("sc20")
    assert dev.query(DeviceProperty.NAME) == dev.name == "qlab SC-20 (square-lattice superconducting, 20 qubits)"
    assert dev.version == "2025.1" and dev.library_version == "0.1.0" and dev.id == dev.query("id") == "sc20"
    assert dev.status is DeviceStatus.IDLE and dev.qubits_num == 20
    assert dev.supported_program_formats == (ProgramFormat.QASM2, ProgramFormat.QASM3)
    assert (dev.duration_unit, dev.duration_scale_factor, dev.length_unit, dev.length_scale_factor) == ("ns", 1.0, "um", 1.0)
    coupling = dev.query(DeviceProperty.COUPLINGMAP)
    assert len(coupling) == 31 and coupling[0] == (Site(dev, 0), Site(dev, 1)) and dev.coupling_map[1] == (0, 5)
    assert [s.index for s in dev.sites] == list(range(20)) and dev.query(DeviceProperty.SITES) == dev.sites
    assert [op.name for op in dev.operations] == ["rz", "sx", "x", "cz", "measure", "reset"]
    assert dev.queue_length == 0 and dev.child_devices == ()
    with pytest.raises(NotFound, match=re.escape("Device 'sc20' has no operation 'cx'; it has rz, sx, x, cz, measure, reset.")):
        dev.operation("cx")
    offline = dataclasses.replace(load_device("sc20"), id="sc20-off", status="maintenance")
    with Session(store=":memory:", mqt=False, devices=[offline]) as s:
        assert s.device("sc20-off").status is DeviceStatus.MAINTENANCE


def test_device_tables_and_html(session):
    dev = session.device("ion12")
    frame = dev.df()
    assert list(frame.columns) == ["property", "value"]
    assert dict(zip(frame["property"], frame["value"]))["coupling"] == "66 pairs"
    html = dev._repr_html_()
    assert html.startswith("<table>") and "ion12" in html and "rxy, rzz, measure, reset" in html
    sites = dev.sites.df()
    assert len(sites) == 12 and sites["t2_us"].between(0.5e6, 2e6).all() and sites["x_um"].tolist()[:3] == [0, 5, 10]
    ops = dev.operations.df()
    assert ops.set_index("name").loc["rzz", "sites"] == 66
    assert ops.set_index("name").loc["rzz", "duration_us"] == pytest.approx(200)
    assert "<table" in dev.sites._repr_html_()
    rxy = dev.operation("rxy").df()
    assert list(rxy.columns) == ["sites", "duration_us", "fidelity"] and len(rxy) == 12


# ------------------------------------------------------------------ sites
def test_site_properties(session):
    site = session.device("sc20").sites[4]
    assert site.query(SiteProperty.INDEX) == 4 and site.query("name") == site.name == "Q4"
    assert site.query(SiteProperty.T1) == 113500 and site.t1 == pytest.approx(113.5e-6)
    assert site.query(SiteProperty.T2) == 61000 and site.t2 == pytest.approx(61e-6)
    assert (site.query(SiteProperty.XCOORDINATE), site.query(SiteProperty.YCOORDINATE)) == (2400, 0)
    assert site.coordinates == pytest.approx((2400e-6, 0.0)) and site.query(SiteProperty.ISZONE) is False
    assert site.readout_fidelity == 0.9819
    with pytest.raises(NotSupported, match=re.escape("Site 4 of device 'sc20' does not report <SiteProperty.ZCOORDINATE: 6>.")):
        site.query(SiteProperty.ZCOORDINATE)
    with pytest.raises(NotSupported):
        site.query(SiteProperty.MODULEINDEX)
    assert repr(site) == "Site('sc20', 4)" and site == session.device("sc20").sites[4] and len({site, Site(site.device, 4)}) == 1
    ideal = session.device("ideal").sites[0]
    assert ideal.t1 is None and ideal.coordinates is None and ideal.readout_fidelity == 1.0
    with pytest.raises(InvalidArgument, match=re.escape("Device 'ideal' has sites 0..11, not 12.")):
        Site(session.device("ideal"), 12).query(SiteProperty.NAME)


# ------------------------------------------------------------- operations
def test_operation_properties(session):
    dev = session.device("sc20")
    cz = dev.operation("cz")
    assert (cz.query(OperationProperty.NAME), cz.qubits_num, cz.parameters_num) == ("cz", 2, 0)
    assert cz.query(OperationProperty.DURATION) == 68 and cz.duration() == pytest.approx(68e-9)
    with pytest.raises(NotSupported, match=re.escape("The fidelity of 'cz' on device 'sc20' differs per site; query it with sites=[...].")):
        cz.query(OperationProperty.FIDELITY)
    assert cz.fidelity() is None
    assert cz.query(OperationProperty.FIDELITY, sites=dev.coupling_map[2]) == load_device("sc20").operation("cz").fidelities[2]
    assert cz.fidelity([dev.sites[1], dev.sites[0]]) == cz.fidelity([0, 1])
    with pytest.raises(InvalidArgument, match=re.escape("Operation 'cz' of device 'sc20' is not available on sites [0, 7].")):
        cz.query(OperationProperty.FIDELITY, sites=[0, 7])
    with pytest.raises(InvalidArgument, match=re.escape("A site must be a Site or an int index, got '0' (str).")):
        cz.fidelity(["0", "1"])
    assert cz.query(OperationProperty.ISZONED) is False
    assert cz.sites[0] == (Site(dev, 0), Site(dev, 1)) and len(cz.sites) == 31
    with pytest.raises(NotSupported, match="does not report <OperationProperty.INTERACTIONRADIUS: 5>"):
        cz.query(OperationProperty.INTERACTIONRADIUS)
    rz = dev.operation("rz")
    assert rz.query(OperationProperty.DURATION, sites=[3], params=[0.5]) == 0 and rz.fidelity() == 1.0
    with pytest.raises(InvalidArgument, match=re.escape("Operation parameters must be real numbers, got 'pi' (str).")):
        rz.query(OperationProperty.DURATION, sites=[3], params=["pi"])
    with pytest.raises(InvalidArgument, match=re.escape("Operation 'rz' takes 1 parameter(s), got 2.")):
        rz.query(OperationProperty.DURATION, sites=[3], params=[0.5, 1])
    measure = dev.operation("measure")
    assert measure.fidelity([4]) == 0.9819 and measure.duration([4]) == pytest.approx(1.56e-6)
    with pytest.raises(NotSupported, match="has no calibrated fidelity"):
        dev.operation("reset").query(OperationProperty.FIDELITY, sites=[0])
    assert repr(cz) == "Operation('sc20', 'cz')" and cz == dev.operation("cz")


def test_a_misspelt_device_id_gets_a_suggestion():
    with Session(store=":memory:", mqt=False) as session:
        with pytest.raises(NotFound, match=re.escape("No device 'trainig5' in this session; it has ideal, ion12, sc20, training5. Did you mean 'training5'?")):
            session.device("trainig5")
