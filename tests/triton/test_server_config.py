"""`ServerConfig`: nothing in clear beyond loopback, TLS files checked, and the tritonserver arguments they make."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="cryptography makes the test certificates (the dev extra installs it)")

from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.server_config import ServerConfig  # noqa: E402

from .tls_certificates import TlsFiles, write_certificates  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return write_certificates(tmp_path_factory.mktemp("pki"))


def _arguments(config: ServerConfig) -> list[str]:
    return config.arguments(Path("/bin/tritonserver"), Path("/backends"))


def test_binding_beyond_loopback_in_clear_needs_an_explicit_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--tls-cert and --tls-key.*--allow-plaintext"):
        ServerConfig(repository=tmp_path, host="0.0.0.0", api_key="k")
    plaintext = ServerConfig(repository=tmp_path, host="0.0.0.0", api_key="k", allow_plaintext=True)
    assert "--http-address=0.0.0.0" in _arguments(plaintext) and not plaintext.tls
    with pytest.raises(ConfigurationError, match="API key"):
        ServerConfig(repository=tmp_path, host="0.0.0.0", allow_plaintext=True)


def test_tls_beyond_loopback_serves_grpc_there_and_keeps_http_on_loopback(tmp_path: Path, pki: TlsFiles) -> None:
    config = ServerConfig(
        repository=tmp_path, host="10.1.2.3", api_key="k", tls_cert=pki.server_cert, tls_key=pki.server_key
    )
    args = _arguments(config)
    assert "--http-address=127.0.0.1" in args and "--grpc-address=10.1.2.3" in args
    assert "--grpc-use-ssl=true" in args
    assert f"--grpc-server-cert={pki.server_cert}" in args and f"--grpc-server-key={pki.server_key}" in args
    assert not any("mutual" in a or "root-cert" in a for a in args)
    assert config.http_url == "http://127.0.0.1:8000" and config.grpc_url == "grpc://10.1.2.3:8001"


def test_a_client_ca_makes_tls_mutual(tmp_path: Path, pki: TlsFiles) -> None:
    config = ServerConfig(repository=tmp_path, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca)
    args = _arguments(config)
    assert "--grpc-use-ssl-mutual=true" in args and f"--grpc-root-cert={pki.ca}" in args


def test_tls_files_are_checked_and_named(tmp_path: Path, pki: TlsFiles) -> None:
    with pytest.raises(ConfigurationError, match="both a certificate and its key"):
        ServerConfig(repository=tmp_path, tls_cert=pki.server_cert)
    with pytest.raises(ConfigurationError, match="--tls-client-ca needs TLS"):
        ServerConfig(repository=tmp_path, tls_client_ca=pki.ca)
    with pytest.raises(ConfigurationError, match="--tls-key: cannot read .*nope.key"):
        ServerConfig(repository=tmp_path, tls_cert=pki.server_cert, tls_key=tmp_path / "nope.key")
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ConfigurationError, match="--tls-cert: .*empty.pem is not a PEM file"):
        ServerConfig(repository=tmp_path, tls_cert=tmp_path / "empty.pem", tls_key=pki.server_key)


def test_the_api_key_is_masked_in_the_logged_command(tmp_path: Path) -> None:
    config = ServerConfig(repository=tmp_path, api_key="s3cret")
    shown = config.shown(_arguments(config))
    assert "s3cret" not in shown and "golf-api-key=***" in shown
