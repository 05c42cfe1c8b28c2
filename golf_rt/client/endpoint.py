"""Where the server is, how a request looks and how failed ones are retried: URLs, tensors, API key, retry policy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from golf_rt.contract import API_KEY_ENV, API_KEY_HEADER, INPUT_NAME, LOOPBACK_HOSTS, OUTPUT_NAME
from golf_rt.errors import ConfigurationError

PROTOCOLS = ("http", "grpc")
DEFAULT_PORTS = {"http": 8000, "grpc": 8001}
GRPC_API_KEY_HEADER = f"triton-grpc-protocol-{API_KEY_HEADER}"
"""The same key's gRPC metadata key: Triton prefixes the key it was given with `triton-grpc-protocol-`."""
"""Where `golf-rt serve` and the clients read the API key when none is given."""
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
        return self.host in LOOPBACK_HOSTS


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


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries a request that found no working server; nothing else is retried.

    A request is tried `attempts` times in all while the server is unreachable (connection
    refused or reset, gRPC UNAVAILABLE: stopped, restarting, or died with the request in flight),
    waiting `first_delay_s`, then twice as long each time, at most `max_delay_s`. Deblurring is
    idempotent, so a request cut by a server crash is sent again. A rejected image, a server-side
    failure or a timeout is raised at once. The default gives up after 0.6 s;
    `RetryPolicy.patient()` rides out a supervised restart (about 32 s of waits).
    """

    attempts: int = 3
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_delay_s < 0 or self.max_delay_s < self.first_delay_s:
            raise ConfigurationError(
                f"retry policy needs attempts >= 1 and 0 <= first_delay_s <= max_delay_s, got {self}"
            )

    @classmethod
    def patient(cls) -> RetryPolicy:
        """Eight tries over about 32 s: enough for `golf-rt serve` to bring a dead server back."""
        return cls(attempts=8, first_delay_s=0.5, max_delay_s=8.0)

    def delays(self) -> list[float]:
        """The waits before each retry."""
        return [min(self.max_delay_s, self.first_delay_s * 2**i) for i in range(self.attempts - 1)]


def retry_policy_from(retries: int | RetryPolicy) -> RetryPolicy:
    """A `RetryPolicy` as given, or the default one with `retries` attempts."""
    return retries if isinstance(retries, RetryPolicy) else RetryPolicy(attempts=max(1, int(retries)))


def retry_delays(retries: int, base_s: float = 0.2) -> list[float]:
    """Waits before each retry on a connection error: 0.2 s, 0.4 s, ... (`retries` tries in all)."""
    return RetryPolicy(attempts=max(1, retries), first_delay_s=base_s, max_delay_s=max(base_s, 1e9)).delays()


def api_key_from(api_key: str | None) -> str | None:
    """The API key given, else the one in GOLF_RT_API_KEY, else None."""
    return api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)


def api_key_plugin(api_key: str, protocol: str) -> object:
    """A tritonclient plugin that adds the API key to every request of an `http` or `grpc` client."""
    from tritonclient._plugin import InferenceServerClientPlugin

    header = GRPC_API_KEY_HEADER if protocol == "grpc" else API_KEY_HEADER

    class ApiKey(InferenceServerClientPlugin):
        def __call__(self, request: Any) -> None:
            request.headers[header] = api_key

    return ApiKey()
