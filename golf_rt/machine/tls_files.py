"""PEM files for TLS, checked before a server or a client hands them to Triton or gRPC.

tritonserver given a missing certificate fails its start with a line deep in its log, and gRPC
given an unreadable one fails at the first request; both layers check their files here first, so
a wrong path is one `ConfigurationError` that names the file and the setting.
"""

from __future__ import annotations

from pathlib import Path

from golf_rt.errors import ConfigurationError


def readable_pem(path: str | Path | None, setting: str) -> Path | None:
    """`path` as a Path after checking it is a readable PEM file; None stays None."""
    if path is None:
        return None
    path = Path(path)
    try:
        head = path.read_bytes()[:100_000]
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read {path} ({exc.strerror or exc})") from exc
    if b"-----BEGIN " not in head:
        raise ConfigurationError(f"{setting}: {path} is not a PEM file (no '-----BEGIN' line)")
    return path
