"""gRPC over TLS against a real tritonserver: same numbers as plaintext, refusals typed and quick, bad files named.

The certificates are made here (`tls_certificates`): one CA signs the server's certificate for
127.0.0.1 and a client certificate; another CA stands for an authority the server never used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cryptography", reason="cryptography makes the test certificates (the dev extra installs it)")

from golf_rt.client import (  # noqa: E402
    AsyncGolfClient,
    ClientTLS,
    GolfClient,
    ServerUnreachableError,
    TlsHandshakeError,
)
from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.server import TritonServer  # noqa: E402

from .conftest import start_server  # noqa: E402
from .tls_certificates import TlsFiles, write_certificates  # noqa: E402

pytestmark = pytest.mark.triton
QUICK = {"retries": 1, "timeout": 5}
"""A refused connection must come back as an error, not hang: one try, a short deadline."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The test CA, server and client certificates, and an unrelated CA."""
    return write_certificates(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_server(repository_factory, pki: TlsFiles) -> Iterator[TritonServer]:
    """gRPC over TLS (server certificate only); HTTP stays plaintext on loopback."""
    server = start_server(repository_factory(), tls_cert=pki.server_cert, tls_key=pki.server_key)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mutual_tls_server(repository_factory, pki: TlsFiles) -> Iterator[TritonServer]:
    """gRPC over TLS that also demands a client certificate signed by the test CA."""
    server = start_server(repository_factory(), tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca)
    yield server
    server.stop()


def test_grpc_over_tls_gives_what_plaintext_gives(tls_server, pki, blurry_batch) -> None:
    config = tls_server.config
    with (
        GolfClient(config.http_url) as plain,
        GolfClient(config.grpc_url, tls=ClientTLS(root_certificates=pki.ca)) as tls,
    ):
        expected = plain.deblur_batch(blurry_batch)
        served = tls.deblur_batch(blurry_batch)
        assert tls.ready()
    np.testing.assert_array_equal(served, expected)
    assert not np.array_equal(served, blurry_batch)


def test_async_client_over_tls_gives_what_plaintext_gives(tls_server, pki, blurry_batch) -> None:
    async def run() -> np.ndarray:
        async with AsyncGolfClient(tls_server.config.grpc_url, tls=ClientTLS(root_certificates=pki.ca)) as client:
            return await client.deblur_batch(blurry_batch)

    with GolfClient(tls_server.config.http_url) as plain:
        np.testing.assert_array_equal(asyncio.run(run()), plain.deblur_batch(blurry_batch))


def test_plaintext_grpc_to_the_tls_port_is_refused_with_a_typed_error(tls_server, blurry_batch) -> None:
    with GolfClient(tls_server.config.grpc_url, **QUICK) as client, pytest.raises(ServerUnreachableError) as info:
        client.deblur_batch(blurry_batch)
    assert "tls=ClientTLS" in str(info.value)


def test_a_server_certificate_from_another_ca_is_not_trusted(tls_server, pki, blurry_batch) -> None:
    url = tls_server.config.grpc_url
    with GolfClient(url, tls=ClientTLS(root_certificates=pki.other_ca), **QUICK) as client:
        with pytest.raises(TlsHandshakeError, match="CERTIFICATE_VERIFY_FAILED"):
            client.deblur_batch(blurry_batch)


def test_tls_client_to_a_plaintext_server_is_a_handshake_error(ensemble_server, pki, blurry_batch) -> None:
    url = ensemble_server.config.grpc_url
    with GolfClient(url, tls=ClientTLS(root_certificates=pki.ca), **QUICK) as client, pytest.raises(TlsHandshakeError):
        client.deblur_batch(blurry_batch)


def test_mutual_tls_serves_a_client_with_a_certificate_and_refuses_one_without(
    mutual_tls_server, pki, blurry_batch
) -> None:
    config = mutual_tls_server.config
    own = ClientTLS(root_certificates=pki.ca, private_key=pki.client_key, certificate_chain=pki.client_cert)
    with GolfClient(config.grpc_url, tls=own) as client:
        served = client.deblur_batch(blurry_batch)
    with GolfClient(config.http_url) as plain:
        np.testing.assert_array_equal(served, plain.deblur_batch(blurry_batch))
    with GolfClient(config.grpc_url, tls=ClientTLS(root_certificates=pki.ca), **QUICK) as anonymous:
        with pytest.raises((TlsHandshakeError, ServerUnreachableError)):
            anonymous.deblur_batch(blurry_batch)


@pytest.mark.parametrize("face", [GolfClient, AsyncGolfClient])
def test_client_certificate_files_are_checked_before_connecting(face, pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="root_certificates: cannot read .*missing.pem"):
        face("grpc://127.0.0.1:8001", tls=ClientTLS(root_certificates=tmp_path / "missing.pem"))
    (tmp_path / "not.pem").write_text("hello")
    with pytest.raises(ConfigurationError, match="not a PEM file"):
        face("grpc://127.0.0.1:8001", tls=ClientTLS(root_certificates=tmp_path / "not.pem"))
    with pytest.raises(ConfigurationError, match="both private_key= and certificate_chain="):
        face("grpc://127.0.0.1:8001", tls=ClientTLS(private_key=pki.client_key))
    with pytest.raises(ConfigurationError, match="tls must be a ClientTLS"):
        face("grpc://127.0.0.1:8001", tls=pki.ca)


def test_http_through_a_tls_ingress_gives_what_plaintext_gives(ensemble_server, pki, blurry_batch) -> None:
    """HTTP has no TLS in Triton: behind a cluster's TLS ingress both faces speak HTTPS to the ingress."""
    from .tls_ingress import TlsIngress

    with TlsIngress(ensemble_server.config.http_port, pki.server_cert, pki.server_key) as ingress:
        url = f"http://127.0.0.1:{ingress.port}"

        async def run() -> np.ndarray:
            async with AsyncGolfClient(url, tls=ClientTLS(root_certificates=pki.ca)) as client:
                return await client.deblur_batch(blurry_batch)

        with GolfClient(url, tls=ClientTLS(root_certificates=pki.ca)) as client:
            served = client.deblur_batch(blurry_batch)
        served_async = asyncio.run(run())
        with GolfClient(url, tls=ClientTLS(root_certificates=pki.other_ca), **QUICK) as stranger:
            with pytest.raises(TlsHandshakeError):
                stranger.deblur_batch(blurry_batch)
    with GolfClient(ensemble_server.config.http_url) as plain:
        expected = plain.deblur_batch(blurry_batch)
    np.testing.assert_array_equal(served, expected)
    np.testing.assert_array_equal(served_async, expected)
