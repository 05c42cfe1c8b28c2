"""Where the server is and how a request looks: URL parsing and the tensors of one inference."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from golf_rt.contract import INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError

PROTOCOLS = ("http", "grpc")
DEFAULT_PORTS = {"http": 8000, "grpc": 8001}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_TRITON_DTYPES = {np.dtype(np.float32): "FP32", np.dtype(np.float16): "FP16", np.dtype(np.float64): "FP64",
                  np.dtype(np.uint8): "UINT8", np.dtype(np.uint16): "UINT16", np.dtype(np.int32): "INT32"}  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """A Triton server address and the protocol to speak to it."""

    protocol: str
    host: str
    port: int

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigurationError(f"protocol {self.protocol!r} is not one of {PROTOCOLS}")
        if not self.host or not 1 <= self.port <= 65535:
            raise ConfigurationError(f"bad server address {self.host!r}:{self.port}")

    @property
    def address(self) -> str:
        """`host:port`, what tritonclient takes."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """`protocol://host:port`."""
        return f"{self.protocol}://{self.address}"

    @property
    def is_local(self) -> bool:
        """True when the server runs on this machine (system shared memory can then be used)."""
        return self.host in LOCAL_HOSTS


def endpoint_from_url(url: str) -> Endpoint:
    """`http://host:8000`, `grpc://host:8001` or plain `host:port` (HTTP)."""
    protocol, _, rest = url.rpartition("://")
    protocol = (protocol or "http").lower()
    if protocol not in PROTOCOLS:
        raise ConfigurationError(f"server URL {url!r}: use http://host:port, grpc://host:port or host:port")
    rest = rest.rstrip("/")
    if rest.startswith("["):  # [ipv6]:port
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = rest.partition(":")
    try:
        number = int(port) if port else DEFAULT_PORTS[protocol]
    except ValueError:
        raise ConfigurationError(f"server URL {url!r}: port {port!r} is not a number") from None
    return Endpoint(protocol, host or "127.0.0.1", number)


def triton_dtype(array: np.ndarray) -> str:
    """Triton's name of a numpy dtype; the server says whether it accepts it."""
    try:
        return _TRITON_DTYPES[array.dtype]
    except KeyError:
        raise ConfigurationError(f"dtype {array.dtype} cannot be sent to Triton; send float32") from None


def request_tensors(module: ModuleType, batch: np.ndarray, binary: bool = True) -> tuple[list[Any], list[Any]]:
    """The `InferInput` holding `batch` and the requested output, for tritonclient.http/grpc."""
    tensor = module.InferInput(INPUT_NAME, list(batch.shape), triton_dtype(batch))
    if module.__name__.startswith("tritonclient.http"):
        tensor.set_data_from_numpy(batch, binary_data=binary)
        output = module.InferRequestedOutput(OUTPUT_NAME, binary_data=binary)
    else:
        tensor.set_data_from_numpy(batch)
        output = module.InferRequestedOutput(OUTPUT_NAME)
    return [tensor], [output]


def retry_delays(retries: int, base_s: float = 0.2) -> list[float]:
    """Waits before each retry on a connection error: 0.2 s, 0.4 s, ... (`retries` tries in all)."""
    return [base_s * 2**i for i in range(max(0, retries - 1))]
