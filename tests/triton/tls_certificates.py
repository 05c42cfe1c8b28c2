"""Self-signed certificates for the TLS tests, made on the spot with `cryptography`.

One CA signs a server certificate for 127.0.0.1 / localhost and a client certificate; a second,
unrelated CA stands for "someone else's" authority. EC P-256 keys: quick to make.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one test PKI."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
                 usage: ExtendedKeyUsageOID | None = None) -> x509.Certificate:  # fmt: skip
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, signing_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _write(folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def write_certificates(folder: Path) -> TlsFiles:
    """A CA, a server and a client certificate it signed, and an unrelated CA, as PEM files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca, _ = _write(folder, "ca", _certificate("golf-rt test CA", ca_key, None), ca_key)
    other_ca, _ = _write(folder, "other-ca", _certificate("someone else's CA", other_key, None), other_key)
    issuer = ("golf-rt test CA", ca_key)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, issuer, ExtendedKeyUsageOID.SERVER_AUTH)
    client = _certificate("golf-rt test client", client_key, issuer, ExtendedKeyUsageOID.CLIENT_AUTH)
    server_cert, server_key_path = _write(folder, "server", server, server_key)
    client_cert, client_key_path = _write(folder, "client", client, client_key)
    return TlsFiles(ca, server_cert, server_key_path, client_cert, client_key_path, other_ca)
