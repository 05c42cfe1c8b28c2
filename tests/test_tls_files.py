"""TLS files are checked before tritonserver or gRPC sees them: swapped, mismatched, non-PEM."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="cryptography (the serve and dev extras) makes the test certificates")

from golf_rt.client.core import ClientTLS  # noqa: E402
from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.server_config import ServerConfig  # noqa: E402
from tests.triton.tls_certificates import write_certificates  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_certificates(tmp_path_factory.mktemp("pki"))


def _server(tmp_path: Path, **tls) -> ServerConfig:
    return ServerConfig(repository=tmp_path, **tls)


def test_a_matching_certificate_and_key_are_taken(pki, tmp_path) -> None:
    config = _server(tmp_path, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca)
    assert config.tls and config.tls_key == pki.server_key
    assert ClientTLS(root_certificates=pki.ca, private_key=pki.client_key, certificate_chain=pki.client_cert)


def test_a_swapped_certificate_and_key_are_named_as_swapped(pki, tmp_path) -> None:
    with pytest.raises(ConfigurationError, match=r"--tls-cert: .*server.key.* holds a private key, not a certificate "
                                                 r"\(certificate and key swapped\?\)"):  # fmt: skip
        _server(tmp_path, tls_cert=pki.server_key, tls_key=pki.server_cert)


def test_a_key_of_another_certificate_is_refused_naming_both_files(pki, tmp_path) -> None:
    with pytest.raises(ConfigurationError, match=r"--tls-key: .*client.key is not the key of the certificate in "
                                                 r".*server.pem \(--tls-cert\)"):  # fmt: skip
        _server(tmp_path, tls_cert=pki.server_cert, tls_key=pki.client_key)
    with pytest.raises(ConfigurationError, match=r"private_key: .*server.key is not the key of the certificate"):
        ClientTLS(private_key=pki.server_key, certificate_chain=pki.client_cert)


def test_a_key_given_as_a_ca_and_a_non_pem_file_are_refused(pki, tmp_path) -> None:
    with pytest.raises(ConfigurationError, match=r"root_certificates: .*ca.key holds a private key, not a certificate"):
        ClientTLS(root_certificates=pki.ca.with_suffix(".key"))
    with pytest.raises(ConfigurationError, match=r"--tls-client-ca: .* holds a private key, not a certificate"):
        _server(tmp_path, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.client_key)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"--tls-cert: .*junk.pem is not a PEM file"):
        _server(tmp_path, tls_cert=tmp_path / "junk.pem", tls_key=pki.server_key)


def test_a_certificate_label_with_a_broken_body_is_refused_before_the_server(pki, tmp_path) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match=r"--tls-cert: .*broken.pem is not a readable certificate"):
        _server(tmp_path, tls_cert=broken, tls_key=pki.server_key)
