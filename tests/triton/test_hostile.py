"""Hostile input through every door of a real server: raw HTTP and gRPC KServe v2 requests, and the API key.

One supervised server, started with an API key, serves the whole module. Each class of bad
request gets its own error and the server keeps serving; the one request that aborts
tritonserver 2.51 (an HTTP JSON request declaring a huge tensor) is answered by the supervisor,
which brings the server back so that the next GolfClient request succeeds.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from golf_rt.client import ApiKeyRejectedError, GolfClient, RetryPolicy
from golf_rt.client.endpoint import GRPC_API_KEY_HEADER
from golf_rt.contract import API_KEY_HEADER, INPUT_NAME, MODEL_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.triton.ports import free_ports
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_config import ServerConfig
from golf_rt.triton.supervisor import RestartPolicy, Supervisor

pytestmark = pytest.mark.triton
KEY = "s3cret-key"
INFER = f"/v2/models/{MODEL_NAME}/infer"
HUGE = [1, 3, 100_000, 100_000]


@pytest.fixture(scope="module")
def supervised(repository_factory, tmp_path_factory) -> Iterator[Supervisor]:
    """A supervised fused-layout server that wants the API key; restarts after 0.2 s."""
    http, grpc, metrics = free_ports(3)
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    config = ServerConfig(
        repository=repository_factory(layout="fused"), http_port=http, grpc_port=grpc, metrics_port=metrics,
        log_file=log, exit_timeout_s=1, api_key=KEY,
    )  # fmt: skip
    supervisor = Supervisor(TritonServer(config), RestartPolicy(first_delay_s=0.2, ready_timeout_s=120))
    supervisor.start(timeout_s=180)
    yield supervisor
    supervisor.stop()


def _post(config: ServerConfig, body: bytes, headers: dict[str, str] | None = None, key: str | None = KEY):
    connection = http.client.HTTPConnection(config.client_host, config.http_port, timeout=30)
    try:
        connection.request("POST", INFER, body=body, headers={**({API_KEY_HEADER: key} if key else {}),
                                                               **(headers or {})})  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}").get("error", "")
    finally:
        connection.close()


def _json(shape, data, datatype="FP32", name=INPUT_NAME, extra=()) -> bytes:
    return json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}, *extra]}).encode()


def _binary(shape, body_bytes: int) -> tuple[bytes, dict[str, str]]:
    header = {"inputs": [{"name": INPUT_NAME, "shape": shape, "datatype": "FP32",
                          "parameters": {"binary_data_size": body_bytes}}]}  # fmt: skip
    text = json.dumps(header).encode()
    return text + bytes(body_bytes), {"Inference-Header-Content-Length": str(len(text))}


_X = {"name": "X", "shape": [1], "datatype": "FP32", "data": [1.0]}
HTTP_CASES = {
    # name: (body, headers, status, reason). Triton answers JSON it cannot parse with 500, the rest with 400.
    "malformed-json": (b'{"inputs": [', {}, 500, "failed to parse the request JSON"),
    "wrong-datatype": (_json([1, 3, 2, 2], [1] * 12, "INT32"), {}, 400, "data-type is 'INT32', but model"),
    "bytes-tensor": (_json([1, 3, 2, 2], ["a"] * 12, "BYTES"), {}, 400, "data-type is 'BYTES', but model"),
    "negative-dimension": (_json([1, 3, -2, 2], [0.5] * 12), {}, 500, "Unable to parse 'shape'"),
    "zero-dimension": (_json([1, 3, 0, 2], []), {}, 400, "sides must be at least 4"),
    "missing-input": (json.dumps({"inputs": []}).encode(), {}, 400, "missing required input(s) ['BLURRY']"),
    "extra-input": (_json([1, 3, 2, 2], [0.5] * 12, extra=[_X]), {}, 400, "expected 1 inputs but got 2"),
    "unknown-input": (_json([1, 3, 2, 2], [0.5] * 12, name="X"), {}, 400, "unexpected inference input 'X'"),
    "more-values-than-shape": (_json([1, 3, 2, 2], [0.5] * 20), {}, 500, "does not match true shape"),
    "huge-shape-small-binary-body": (*_binary(HUGE, 48), 400, "Expected 120000000000, got 48"),
    "binary-body-larger-than-declared": (
        _binary([1, 3, 2, 2], 48)[0] + bytes(432),
        _binary([1, 3, 2, 2], 48)[1],
        400,
        "unexpected additional input",
    ),
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_bad_http_request_gets_its_own_error_and_the_server_keeps_serving(supervised, blurry_batch, case) -> None:
    body, headers, status, reason = HTTP_CASES[case]
    pid = supervised.server.pid
    got_status, got_reason = _post(supervised.server.config, body, headers)
    assert got_status == status and reason in got_reason, (got_status, got_reason)
    with GolfClient(supervised.server.config.http_url, api_key=KEY) as client:
        assert client.deblur_batch(blurry_batch).shape == blurry_batch.shape
    assert supervised.server.pid == pid, "the server was not restarted"


def _grpc_request(shape, datatype="FP32", raw: bytes | None = None, fp32=None, name=INPUT_NAME, extra=False):
    from tritonclient.grpc import service_pb2

    request = service_pb2.ModelInferRequest(model_name=MODEL_NAME)
    tensor = request.inputs.add(name=name, datatype=datatype, shape=shape)
    if fp32 is not None:
        tensor.contents.fp32_contents.extend(fp32)
    if raw is not None:
        request.raw_input_contents.append(raw)
    if extra:
        request.inputs.add(name="X", datatype="FP32", shape=[1])
        request.raw_input_contents.append(bytes(4))
    return request


GRPC_CASES = {
    # name: (request arguments, reason); every one is INVALID_ARGUMENT
    "wrong-datatype": ({"shape": [1, 3, 2, 2], "datatype": "INT32", "raw": bytes(48)}, "data-type is 'INT32'"),
    "bytes-tensor": ({"shape": [1, 3, 2, 2], "datatype": "BYTES", "raw": bytes(48)}, "data-type is 'BYTES'"),
    "negative-dimension": ({"shape": [1, 3, -2, 2], "raw": bytes(48)}, "byte size mismatch"),
    "zero-dimension": ({"shape": [1, 3, 0, 2], "raw": b""}, "sides must be at least 4"),
    "missing-input": (None, "missing required input(s) ['BLURRY']"),
    "extra-input": ({"shape": [1, 3, 2, 2], "raw": bytes(48), "extra": True}, "expected 1 inputs but got 2"),
    "unknown-input": ({"shape": [1, 3, 2, 2], "raw": bytes(48), "name": "X"}, "unexpected inference input 'X'"),
    "huge-shape-small-raw-body": ({"shape": HUGE, "raw": bytes(48)}, "Expected 120000000000, got 48"),
    "huge-shape-twelve-values": ({"shape": HUGE, "fp32": [0.5] * 12}, "Expected 120000000000, got 48"),
    "raw-body-larger-than-declared": ({"shape": [1, 3, 2, 2], "raw": bytes(480)}, "Expected 48, got 480"),
}


def _grpc_call(config: ServerConfig, request, key: str | None = KEY):
    import grpc
    from tritonclient.grpc import service_pb2_grpc

    with grpc.insecure_channel(f"{config.client_host}:{config.grpc_port}") as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        try:
            stub.ModelInfer(request, timeout=30, metadata=[(GRPC_API_KEY_HEADER, key)] if key else None)
        except grpc.RpcError as exc:
            return exc.code().name, exc.details()
    return "OK", ""


@pytest.mark.parametrize("case", list(GRPC_CASES))
def test_bad_grpc_request_is_invalid_argument_and_the_server_keeps_serving(supervised, blurry_batch, case) -> None:
    from tritonclient.grpc import service_pb2

    arguments, reason = GRPC_CASES[case]
    pid = supervised.server.pid
    request = service_pb2.ModelInferRequest(model_name=MODEL_NAME) if arguments is None else _grpc_request(**arguments)
    code, details = _grpc_call(supervised.server.config, request)
    assert code == "INVALID_ARGUMENT" and reason in details, (code, details)
    with GolfClient(supervised.server.config.grpc_url, api_key=KEY) as client:
        assert client.deblur_batch(blurry_batch).shape == blurry_batch.shape
    assert supervised.server.pid == pid


def test_requests_without_the_api_key_are_refused_on_both_doors(supervised, blurry_batch) -> None:
    config = supervised.server.config
    status, reason = _post(config, _json([1, 3, 2, 2], [0.5] * 12), key=None)
    assert status == 403 and "restricted" in reason.lower(), (status, reason)
    assert _post(config, _json([1, 3, 2, 2], [0.5] * 12), key="wrong")[0] == 403
    code, details = _grpc_call(config, _grpc_request([1, 3, 2, 2], raw=bytes(48)), key=None)
    assert code == "UNAVAILABLE" and "restricted" in details.lower(), (code, details)
    for url in (config.http_url, config.grpc_url):
        with GolfClient(url, api_key="wrong", retries=1) as client, pytest.raises(ApiKeyRejectedError):
            client.deblur_batch(blurry_batch)
    with urllib.request.urlopen(f"{config.http_url}/v2/health/ready", timeout=10) as response:
        assert response.status == 200  # health stays open for probes


def test_exposed_server_needs_an_api_key(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="API key"):
        ServerConfig(repository=tmp_path, host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="API key must"):
        ServerConfig(repository=tmp_path, api_key="a:b")
    assert (
        ServerConfig(repository=tmp_path, host="0.0.0.0", api_key="k", allow_plaintext=True).http_url
        == "http://127.0.0.1:8000"
    )


def test_request_that_aborts_tritonserver_is_survived_through_the_supervisor(supervised, blurry_batch) -> None:
    """tritonserver 2.51 allocates an HTTP JSON tensor by its declared shape before reading the data: 120 GB."""
    server, restarts = supervised.server, supervised.restarts
    pid, regions = server.pid, server.shared_memory_regions()
    assert regions, "the Python backend's regions carry this server's prefix"
    killer = urllib.request.Request(
        f"{server.config.http_url}{INFER}", data=_json(HUGE, [0.5] * 12), headers={API_KEY_HEADER: KEY}
    )
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        urllib.request.urlopen(killer, timeout=60)  # noqa: S310 - loopback
    with GolfClient(server.config.http_url, api_key=KEY, retries=RetryPolicy.patient()) as client:
        served = client.deblur_batch(blurry_batch)
    assert served.shape == blurry_batch.shape and np.isfinite(served).all()
    assert supervised.restarts == restarts + 1 and server.pid != pid
    assert "bad_alloc" in server.logs(200_000)
    assert not any(region.exists() for region in regions), "the dead server's shared memory is removed"
