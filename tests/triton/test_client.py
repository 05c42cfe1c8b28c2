"""Client pieces that need no server: URLs, error translation, light imports, a closed port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tritonclient", reason="tritonclient is not installed (pip install -e '.[client]')")

from tritonclient.utils import InferenceServerException  # noqa: E402

from golf_rt.client import (  # noqa: E402
    ClientTimeoutError,
    GolfClient,
    GolfClientError,
    ImageRejectedError,
    ModelNotReadyError,
    ServerSideError,
    ServerUnreachableError,
    endpoint_from_url,
)
from golf_rt.client.endpoint import retry_delays  # noqa: E402
from golf_rt.client.errors import client_error_from  # noqa: E402
from golf_rt.errors import ConfigurationError, GolfError  # noqa: E402
from golf_rt.triton.ports import free_ports  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "protocol", "host", "port"),
    [
        ("http://example.org:8000", "http", "example.org", 8000),
        ("grpc://10.0.0.2:9001", "grpc", "10.0.0.2", 9001),
        ("localhost:8123", "http", "localhost", 8123),
        ("grpc://myhost", "grpc", "myhost", 8001),
        ("HTTP://h:1/", "http", "h", 1),
        ("http://[::1]:8000", "http", "::1", 8000),
    ],
)
def test_urls(url: str, protocol: str, host: str, port: int) -> None:
    endpoint = endpoint_from_url(url)
    assert (endpoint.protocol, endpoint.host, endpoint.port) == (protocol, host, port)


@pytest.mark.parametrize("url", ["https://h:8000", "ftp://h", "h:port"])
def test_bad_urls_say_what_is_accepted(url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://host:port|not a number"):
        endpoint_from_url(url)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), ServerUnreachableError),
        (TimeoutError("timed out"), ClientTimeoutError),
        (InferenceServerException("x", status="StatusCode.UNAVAILABLE"), ServerUnreachableError),
        (InferenceServerException("Deadline Exceeded", status="StatusCode.DEADLINE_EXCEEDED"), ClientTimeoutError),
        (InferenceServerException("BLURRY contains NaN or Inf", status="400"), ImageRejectedError),
        (InferenceServerException("unexpected shape", status="StatusCode.INVALID_ARGUMENT"), ImageRejectedError),
        (InferenceServerException("Request for unknown model: 'x' is not found", status="404"), ModelNotReadyError),
        (InferenceServerException("inference failed: boom", status="500"), ServerSideError),
    ],
)
def test_tritonclient_errors_become_typed_errors(exc: Exception, kind: type) -> None:
    error = client_error_from(exc, "http://h:1")
    assert type(error) is kind and isinstance(error, GolfClientError) and isinstance(error, GolfError)


def test_unrelated_exceptions_are_not_translated() -> None:
    assert client_error_from(KeyError("bug"), "http://h:1") is None


def test_image_rejected_keeps_the_servers_reason() -> None:
    error = client_error_from(InferenceServerException("[request id: <id_unknown>] too big", status="400"), "u")
    assert isinstance(error, ImageRejectedError) and error.reason == "too big"


def test_retries_are_bounded_with_backoff() -> None:
    assert retry_delays(3) == [0.2, 0.4]
    assert retry_delays(1) == []


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_closed_port_is_server_unreachable_after_bounded_retries(scheme: str) -> None:
    (port,) = free_ports(1)
    with GolfClient(f"{scheme}://127.0.0.1:{port}", timeout=5, retries=3) as client:
        start = time.monotonic()
        with pytest.raises(ServerUnreachableError, match=f"127.0.0.1:{port}"):
            client.deblur_batch(np.zeros((1, 3, 8, 8), np.float32))
        assert time.monotonic() - start < 5  # 3 tries, 0.6 s of backoff: no hang
        assert client.ready() is False


def test_client_image_errors_are_raised_before_sending() -> None:
    from golf_rt.errors import InvalidImageError

    (port,) = free_ports(1)
    with GolfClient(f"127.0.0.1:{port}") as client, pytest.raises(InvalidImageError):
        client.deblur(np.zeros((8, 8, 5), np.uint8))


def test_shared_memory_needs_a_local_server() -> None:
    with pytest.raises(ConfigurationError, match="same machine|this machine"):
        GolfClient("http://example.org:8000", shared_memory=True)


def test_importing_the_client_loads_neither_torch_nor_runtimes() -> None:
    code = (
        "import sys, golf_rt.client, golf_rt.client.shm, golf_rt.images\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'openvino', 'tensorrt') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_shared_memory_is_the_default_only_for_large_images_on_a_local_server():
    import numpy as np

    from golf_rt.client import GolfClient

    large = np.zeros((1, 3, 720, 1280), np.float32)
    small = np.zeros((1, 3, 256, 256), np.float32)
    local = GolfClient("http://127.0.0.1:8000")
    remote = GolfClient("grpc://10.1.2.3:8001")
    assert local._use_shared_memory(large) and not local._use_shared_memory(small)
    assert not remote._use_shared_memory(large)
    assert not GolfClient("127.0.0.1:8000", shared_memory=False)._use_shared_memory(large)


def test_retry_policy_is_explicit_and_bounded() -> None:
    from golf_rt.client import RetryPolicy
    from golf_rt.client.endpoint import retry_policy_from

    assert RetryPolicy().delays() == [0.2, 0.4]
    assert RetryPolicy.patient().delays() == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert retry_policy_from(5) == RetryPolicy(attempts=5)
    with pytest.raises(ConfigurationError, match="attempts >= 1"):
        RetryPolicy(attempts=0)


def test_api_key_comes_from_the_argument_or_the_environment(monkeypatch) -> None:
    from golf_rt.client.endpoint import api_key_from
    from golf_rt.contract import API_KEY_ENV

    monkeypatch.delenv(API_KEY_ENV, raising=False)
    assert api_key_from(None) is None and api_key_from("k") == "k"
    monkeypatch.setenv(API_KEY_ENV, "from-env")
    assert api_key_from(None) == "from-env" and api_key_from("given") == "given"


@pytest.mark.parametrize(
    ("protocol", "header"), [("http", "golf-api-key"), ("grpc", "triton-grpc-protocol-golf-api-key")]
)
def test_api_key_plugin_adds_the_header_triton_checks(protocol: str, header: str) -> None:
    from tritonclient._request import Request

    from golf_rt.client.endpoint import api_key_plugin

    request = Request({})
    api_key_plugin("k", protocol)(request)
    assert request.headers == {header: "k"}


def test_missing_api_key_and_closed_connections_are_typed() -> None:
    from geventhttpclient.response import HTTPConnectionClosed

    from golf_rt.client import ApiKeyRejectedError

    refused = InferenceServerException("This API is restricted, expecting header 'golf-api-key'", status="403")
    assert isinstance(client_error_from(refused, "u"), ApiKeyRejectedError)
    restricted = InferenceServerException(
        "This protocol is restricted, expecting header 'triton-grpc-protocol-golf-api-key'",
        status="StatusCode.UNAVAILABLE",
    )
    assert isinstance(client_error_from(restricted, "u"), ApiKeyRejectedError)  # not retried as "unreachable"
    assert isinstance(client_error_from(HTTPConnectionClosed("connection closed."), "u"), ServerUnreachableError)


def test_tls_failures_are_typed_and_a_cut_tls_stream_is_retried_like_a_plain_one() -> None:
    import ssl

    from golf_rt.client import TlsHandshakeError

    untrusted = ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer certificate")
    assert isinstance(client_error_from(untrusted, "u"), TlsHandshakeError)
    handshake = InferenceServerException(
        "failed to connect to all addresses; last error: UNKNOWN: Tls handshake failed (TSI_PROTOCOL_FAILURE)",
        status="StatusCode.UNAVAILABLE",
    )
    assert isinstance(client_error_from(handshake, "u"), TlsHandshakeError)
    assert isinstance(client_error_from(ssl.SSLEOFError("EOF occurred in violation of protocol"), "u"),
                      ServerUnreachableError)  # fmt: skip


def test_both_faces_take_the_url_then_the_same_keywords_only() -> None:
    import inspect

    from golf_rt.client import AsyncGolfClient

    sync, aio = inspect.signature(GolfClient), inspect.signature(AsyncGolfClient)
    assert sync == aio
    first, *rest = sync.parameters.values()
    assert first.name == "url" and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert rest and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
    with pytest.raises(TypeError):
        GolfClient("http://127.0.0.1:8000", "golf")  # type: ignore[misc]


def test_tls_is_one_typed_setting_and_shared_memory_the_sync_face_s() -> None:
    from golf_rt.client import AsyncGolfClient, ClientTLS

    assert GolfClient("grpc://127.0.0.1:8001", tls=ClientTLS()).core.tls == ClientTLS()
    with pytest.raises(ConfigurationError, match="tls must be a ClientTLS"):
        GolfClient("grpc://127.0.0.1:8001", tls=True)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="use GolfClient for shared memory"):
        AsyncGolfClient("grpc://127.0.0.1:8001", shared_memory=True)
