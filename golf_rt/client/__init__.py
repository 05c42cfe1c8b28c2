"""Client SDK for a golf-rt Triton server: numpy, Pillow and tritonclient only (no torch, no runtimes).

>>> from golf_rt.client import GolfClient  # doctest: +SKIP
>>> with GolfClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
...     sharp = client.deblur("blurry.png")
"""

from __future__ import annotations

from golf_rt.client.aio import AsyncGolfClient
from golf_rt.client.endpoint import Endpoint, endpoint_from_url
from golf_rt.client.errors import (
    ClientTimeoutError,
    GolfClientError,
    ImageRejectedError,
    ModelNotReadyError,
    ServerSideError,
    ServerUnreachableError,
)
from golf_rt.client.golf_client import GolfClient

__all__ = [
    "AsyncGolfClient",
    "ClientTimeoutError",
    "Endpoint",
    "GolfClient",
    "GolfClientError",
    "ImageRejectedError",
    "ModelNotReadyError",
    "ServerSideError",
    "ServerUnreachableError",
    "endpoint_from_url",
]
