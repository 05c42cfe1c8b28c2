"""PEM files for TLS, checked before a server or a client hands them to Triton or gRPC.

tritonserver given a missing, swapped or mismatched certificate and key fails its start with a
line deep in its log (which reads like a port in use), and gRPC given a key as its CA fails at the
first request; both layers check their files here first, so each problem is one
`ConfigurationError` that names the files and the setting. What a PEM file holds is read from its
labels; whether a key belongs to a certificate is asked of `cryptography` (the `serve` extra
installs it; without it that one check is left to the server).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from golf_rt.errors import ConfigurationError

CERTIFICATE = "certificate"
PRIVATE_KEY = "private key"
_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


def _kind(label: bytes) -> str:
    if label.endswith(b"PRIVATE KEY"):
        return PRIVATE_KEY
    if label in (b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE"):
        return CERTIFICATE
    return label.decode().lower()


def readable_pem(path: str | Path | None, setting: str, holds: str | None = None) -> Path | None:
    """`path` as a Path after checking it is a readable PEM file (holding `holds`, when given); None stays None."""
    if path is None:
        return None
    path = Path(path)
    try:
        head = path.read_bytes()[:100_000]
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read {path} ({exc.strerror or exc})") from exc
    labels = _LABEL.findall(head)
    if not labels:
        raise ConfigurationError(f"{setting}: {path} is not a PEM file (no '-----BEGIN' line)")
    kinds = {_kind(label) for label in labels}
    if holds is not None and holds not in kinds:
        swapped = " (certificate and key swapped?)" if {holds, *kinds} == {CERTIFICATE, PRIVATE_KEY} else ""
        raise ConfigurationError(f"{setting}: {path} holds a {' and a '.join(sorted(kinds))}, not a {holds}{swapped}")
    return path


def check_key_pair(certificate: Path, key: Path, settings: tuple[str, str]) -> None:
    """A ConfigurationError unless `key` is the private key of the first certificate in `certificate`.

    Needs `cryptography`; without it the check is skipped and tritonserver finds a mismatch itself.
    """
    if importlib.util.find_spec("cryptography") is None:
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        public = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    except ValueError as exc:
        raise ConfigurationError(f"{settings[0]}: {certificate} is not a readable certificate ({exc})") from exc
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:  # TypeError: the key is encrypted
        raise ConfigurationError(f"{settings[1]}: {key} is not a readable unencrypted private key ({exc})") from exc
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(encoding, form) != public.public_bytes(encoding, form):
        raise ConfigurationError(f"{settings[1]}: {key} is not the key of the certificate in {certificate} "
                                 f"({settings[0]}): they do not belong together")  # fmt: skip
