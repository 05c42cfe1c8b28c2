"""Client SDK for a golf-rt Triton server: numpy, Pillow and tritonclient only (no torch, no runtimes).

>>> from golf_rt.client import GolfClient
>>> with GolfClient("http://127.0.0.1:8000") as client:
...     sharp = client.deblur("blurry.png")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from golf_rt.client.core import ClientTLS
from golf_rt.client.endpoint import Endpoint, RetryPolicy, endpoint_from_url
from golf_rt.client.errors import (
    ApiKeyRejectedError,
    ClientTimeoutError,
    GolfClientError,
    ImageRejectedError,
    ModelNotReadyError,
    ServerSideError,
    ServerUnreachableError,
    SharedMemoryUnavailableError,
    TlsHandshakeError,
)
from golf_rt.client.golf_client import GolfClient

if TYPE_CHECKING:
    from golf_rt.client.aio import AsyncGolfClient

__all__ = [
    "ApiKeyRejectedError",
    "AsyncGolfClient",
    "ClientTLS",
    "ClientTimeoutError",
    "Endpoint",
    "GolfClient",
    "GolfClientError",
    "ImageRejectedError",
    "ModelNotReadyError",
    "RetryPolicy",
    "ServerSideError",
    "ServerUnreachableError",
    "SharedMemoryUnavailableError",
    "TlsHandshakeError",
    "endpoint_from_url",
]


def __getattr__(name: str) -> Any:
    """`AsyncGolfClient` is imported on first use, so a synchronous caller never loads asyncio."""
    if name == "AsyncGolfClient":
        from golf_rt.client.aio import AsyncGolfClient

        return AsyncGolfClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
