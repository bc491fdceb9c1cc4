"""Serving QPUs on real sockets (127.0.0.1, ephemeral ports) with every server type, and RemoteQPU."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qlab import Circuit
from qlab.cli import main
from qlab.exceptions import AuthenticationError, QPUDataError, QubitLimitError, RemoteQPUError, ResourceLimitError, WireFormatError
from qlab.jobs import JobStore
from qlab.qpu import (AllocationModel, Batch, DensityMatrixQPU, DeviceQPU, Job, Observable, ObservableSplitter, QPUServer,
                      ReadoutMitigation, RemoteQPU)
from qlab.qpu.server import SERVER_TYPES
from qlab.sim import NoiseModel, ReadoutError

pytestmark = pytest.mark.timeout(120)

HOST = "127.0.0.1"


def qpu_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("qlab-qpu")]


@pytest.fixture(params=SERVER_TYPES)
def server(request):
    with DensityMatrixQPU(max_qubits=8).serve(0, HOST, request.param, background=True, timeout=5) as srv:
        yield srv
    assert not srv.running


def raw_request(port: int, data: bytes, *, shutdown_write: bool = False, timeout: float = 10) -> tuple[int, dict]:
    """Send raw bytes; return the status and JSON body of the answer."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
            if length and len(body) >= length[0]:
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def post(path: str, body: bytes, length: int | None = None, extra: str = "") -> bytes:
    length = len(body) if length is None else length
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
            .encode() + body)


def test_many_concurrent_clients_get_their_own_results(server):
    remote = RemoteQPU(server.port, HOST, timeout=60)

    def client(i: int) -> None:
        for j in range(20):
            n = 4
            ones = [(i + j) % n, (i * j) % n]
            circuit = Circuit(n)
            for q in set(ones):
                circuit.x(q)
            result = remote.submit(Job(circuit, qubits=list(range(n)), meta_data={"client": i, "job": j}))
            expected = "".join("1" if q in ones else "0" for q in range(n))
            assert result.probabilities == {expected: 1.0}
            assert result.meta_data["client"] == i and result.meta_data["job"] == j

    with ThreadPoolExecutor(20) as pool:
        for future in [pool.submit(client, i) for i in range(20)]:
            future.result(timeout=100)


def test_batches_observables_and_plugins_stack_on_a_remote_qpu(server):
    remote = RemoteQPU(server.port, HOST)
    bell = Circuit(2).h(0).cx(0, 1)
    out = remote.submit(Batch([Job(bell), Job(bell, 100), Job(bell, observable=Observable(2, {"XX": 1.0}))]))
    assert out[0].probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    assert sum(out[1].probabilities.values()) == pytest.approx(1.0)
    assert out[2].value == pytest.approx(1.0)
    split = (ObservableSplitter() | remote).submit(Job(bell, 2000, observable=Observable(2, {"ZZ": 1.0, "XX": 0.5})))
    assert split.value == pytest.approx(1.5) and split.value_error == 0.0  # a Bell state: every shot gives 1.5
    assert remote.get_specs().nbqbits == 8
    assert remote.estimate_resources_for_batch(Batch([Job(bell, 10)])).jobs[0].qubits == 2


def test_server_errors_come_back_as_the_same_exception(server):
    remote = RemoteQPU(server.port, HOST)
    big = Circuit(10)
    for q in range(10):
        big.h(q)
    with pytest.raises(QubitLimitError) as remote_err:
        remote.submit(Job(big))
    with pytest.raises(QubitLimitError) as local_err:
        DensityMatrixQPU(max_qubits=8).submit(Job(big))
    assert str(remote_err.value) == str(local_err.value)
    remote.apply_resource_consumption_limits(AllocationModel(max_shots=10))
    with pytest.raises(ResourceLimitError, match=r"job 1 needs shots = 100 \(estimate\) but the limit is max_shots = 10"):
        remote.submit(Batch([Job(Circuit(1), 5), Job(Circuit(1), 100)]))
    assert remote.submit(Job(Circuit(1).x(0), 5)).probabilities == {"1": 1.0}


def test_malformed_truncated_oversized_and_misdirected_requests(server):
    port = server.port
    status, body = raw_request(port, post("/v1/submit", b"{not json"))
    assert status == 400 and body["error"]["type"] == "WireFormatError" and "not valid JSON" in body["error"]["message"]
    status, body = raw_request(port, post("/v1/submit", b'{"schema": "qlab.qpu/1", "batch": {"jobs": [{"nbshots": 1}]}}'))
    assert status == 400 and body["error"] == {"type": "QPUDataError",
                                               "message": "Batch job 0: Cannot read job: the field 'circuit' is missing."}
    status, body = raw_request(port, post("/v1/submit", b'{"schema": "other"}'))
    assert status == 400 and "schema is 'other'" in body["error"]["message"]
    status, body = raw_request(port, post("/v1/submit", b'{"schema": "qlab.qpu/1", "ba', length=100), shutdown_write=True)
    assert status == 400 and body["error"]["message"] == "The request body is truncated: got 28 of 100 bytes."
    status, body = raw_request(port, post("/v1/submit", b"", length=10**9))
    assert status == 413 and "more than this server's limit" in body["error"]["message"]
    status, body = raw_request(port, post("/v1/submit", b"[" * 100_000))
    assert status == 400 and body["error"]["type"] == "WireFormatError"
    status, body = raw_request(port, post("/v1/nothing", b"{}"))
    assert status == 404 and "POST /v1/submit" in body["error"]["message"]
    status, body = raw_request(port, b"POST /v1/specs HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 411
    status, body = raw_request(port, b"GET /v1/specs HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405
    assert RemoteQPU(port, HOST).submit(Job(Circuit(1).x(0))).probabilities == {"1": 1.0}  # still serving


def test_clients_that_vanish_do_not_stop_the_server(server):
    job = Batch([Job(Circuit(2).h(0).cx(0, 1))]).to_dict()
    body = json.dumps({"schema": "qlab.qpu/1", "batch": job}).encode()
    for cut in (10, len(body) // 2):  # disconnect mid-body
        with socket.create_connection((HOST, server.port)) as sock:
            sock.sendall(post("/v1/submit", body)[: -len(body) + cut])
    with socket.create_connection((HOST, server.port)) as sock:  # send everything, leave before the answer
        sock.sendall(post("/v1/submit", body))
    with socket.create_connection((HOST, server.port)):  # connect and say nothing
        pass
    remote = RemoteQPU(server.port, HOST)
    assert remote.submit(Job(Circuit(1).x(0))).probabilities == {"1": 1.0}


def test_oversized_batches_are_refused_with_a_structured_error():
    with DensityMatrixQPU().serve(0, HOST, "threaded", background=True, max_request_bytes=2000) as srv:
        remote = RemoteQPU(srv.port, HOST)
        with pytest.raises(WireFormatError, match="more than this server's limit of 2,000 bytes"):
            remote.submit(Batch([Job(Circuit(2).h(0).cx(0, 1))] * 40))
        assert remote.submit(Job(Circuit(1).x(0))).probabilities == {"1": 1.0}


@pytest.mark.parametrize("server_type", SERVER_TYPES)
def test_tokens_are_required_and_refusals_logged(server_type, caplog):
    with DensityMatrixQPU().serve(0, HOST, server_type, token="s3cret", background=True) as srv:
        caplog.set_level(logging.WARNING, logger="qlab.qpu.server")
        with pytest.raises(AuthenticationError, match="no bearer token was sent"):
            RemoteQPU(srv.port, HOST).submit(Job(Circuit(1)))
        with pytest.raises(AuthenticationError, match="the bearer token is wrong"):
            RemoteQPU(srv.port, HOST, token="guess").get_specs()
        assert RemoteQPU(srv.port, HOST, token="s3cret").submit(Job(Circuit(1).x(0))).probabilities == {"1": 1.0}
    if server_type != "fork":  # a forked child logs in its own process
        refusals = [r.getMessage() for r in caplog.records if r.name == "qlab.qpu.server"]
        assert any("missing bearer token" in m for m in refusals) and any("wrong bearer token" in m for m in refusals)
        assert not any("s3cret" in m or "guess" in m for m in refusals)


def test_stopping_releases_the_port_and_every_thread():
    before = qpu_threads()
    srv = DensityMatrixQPU().serve(0, HOST, "threaded", background=True)
    remote = RemoteQPU(srv.port, HOST)
    remote.submit(Job(Circuit(1)))  # leaves an idle keep-alive connection
    port = srv.port
    srv.stop()
    srv.stop()  # twice is fine
    assert qpu_threads() == before
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    with pytest.raises(RemoteQPUError, match="Cannot reach the QPU server"):
        RemoteQPU(port, HOST, timeout=2).submit(Job(Circuit(1)))


def test_foreground_serving_stops_from_another_thread():
    srv = QPUServer(DensityMatrixQPU(), 0, HOST, "pool")
    loop = threading.Thread(target=srv.serve_forever)
    loop.start()
    assert RemoteQPU(srv.port, HOST).submit(Job(Circuit(1).x(0))).probabilities == {"1": 1.0}
    srv.stop()
    loop.join(10)
    assert not loop.is_alive() and not srv.running


def test_remote_plugin_stack_with_mitigation_and_limits():
    noise = NoiseModel().with_readout_error(ReadoutError(0.05, 0.1))
    with DensityMatrixQPU(noise).serve(0, HOST, "threaded", background=True) as srv:
        stack = ObservableSplitter() | ReadoutMitigation() | RemoteQPU(srv.port, HOST)
        value = stack.submit(Job(Circuit(2).x(0), observable=Observable(2, {"ZZ": 1.0, "ZI": 1.0}))).value
        assert value == pytest.approx(-2.0)
        stack.apply_resource_consumption_limits(AllocationModel(max_jobs=1))
        with pytest.raises(ResourceLimitError, match="jobs = 2 but the limit is max_jobs = 1"):
            stack.submit(Batch([Job(Circuit(1)), Job(Circuit(1))]))


def test_bad_server_arguments():
    with pytest.raises(WireFormatError, match="Unknown server_type 'async'; allowed: simple, threaded, pool, fork"):
        DensityMatrixQPU().serve(0, HOST, "async", background=True)
    with pytest.raises(QPUDataError, match="max_request_bytes must be a positive int"):
        DensityMatrixQPU().serve(0, HOST, max_request_bytes=0, background=True)
    with DeviceQPU("ideal", store=JobStore(":memory:")) as device:
        with pytest.raises(WireFormatError, match="cannot be served with server_type 'fork'.*use 'threaded' or 'pool'"):
            (ObservableSplitter() | device).serve(0, HOST, "fork", background=True)


def test_command_line_serves_a_device_until_terminated(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("tok-123\n")
    env = {**os.environ, "QLAB_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qlab.cli", "serve", "--device", "training5", "--port", "0", "--host", HOST,
         "--server-type", "threaded", "--token-file", str(token_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        assert "training5 on http://127.0.0.1:" in line and "token required" in line
        port = int(line.split(":")[-1].split()[0])
        remote = RemoteQPU(port, HOST, token="tok-123")
        assert remote.get_specs().nbqbits == 5
        result = remote.submit(Job(Circuit(2).x(0), 100))
        assert result.meta_data["device"] == "training5" and sum(result.probabilities.values()) == pytest.approx(1.0)
        with pytest.raises(AuthenticationError):
            RemoteQPU(port, HOST).get_specs()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out


def test_command_line_refusals(tmp_path):
    with pytest.raises(SystemExit, match="qlab serve: cannot read the token file"):
        main(["serve", "--device", "training5", "--port", "0", "--token-file", str(tmp_path / "missing")])
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SystemExit, match="is empty"):
        main(["serve", "--device", "training5", "--port", "0", "--token-file", str(tmp_path / "empty")])
    with pytest.raises(SystemExit):
        main(["serve", "--device", "training5", "--port", "0", "--server-type", "async"])
