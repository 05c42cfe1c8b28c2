"""What `GolfClient` and `AsyncGolfClient` share: settings, connections, requests, tiles, retries, errors.

The two faces differ only in how they wait (threads with a connection each, or one event loop
and its pool). Everything else is decided here once, so both check the same settings, open
connections the same way (API key, timeout, TLS), send the same tensors, cut a photo larger than
a tile into the same tiles, retry the same failures and raise the same typed errors.
"""

from __future__ import annotations

import itertools
import ssl as ssl_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from golf_rt.client.endpoint import (
    Endpoint,
    RetryPolicy,
    api_key_from,
    api_key_plugin,
    endpoint_from_url,
    request_tensors,
    retry_policy_from,
)
from golf_rt.client.errors import retry_delay_or_raise
from golf_rt.contract import GPU_TILE_BATCH, MODEL_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.images.tiles import Tiling, run_in_tiles, tiling_from
from golf_rt.machine.extras import require
from golf_rt.machine.tls_files import CERTIFICATE, PRIVATE_KEY, check_key_pair, readable_pem


@dataclass(frozen=True)
class ClientTLS:
    """TLS for a client's connections (`GolfClient(url, tls=ClientTLS(root_certificates="ca.pem"))`).

    The files are checked on construction. `ClientTLS()` trusts the system's CAs.
    `root_certificates`: PEM CA that signed the server's certificate (None: the system's CAs).
    `private_key` and `certificate_chain`: this client's certificate, for a server that demands one.
    """

    root_certificates: str | Path | None = None
    private_key: str | Path | None = None
    certificate_chain: str | Path | None = None

    def __post_init__(self) -> None:
        for name, holds in (("root_certificates", CERTIFICATE), ("private_key", PRIVATE_KEY),
                            ("certificate_chain", CERTIFICATE)):  # fmt: skip
            object.__setattr__(self, name, readable_pem(getattr(self, name), name, holds))
        if (self.private_key is None) != (self.certificate_chain is None):
            raise ConfigurationError("a client certificate needs both private_key= and certificate_chain=")
        if self.private_key is not None:
            check_key_pair(self.certificate_chain, self.private_key, ("certificate_chain", "private_key"))

    def connection_options(self, protocol: str, aio: bool) -> dict[str, Any]:
        """The TLS keywords of tritonclient's `InferenceServerClient` for `protocol` (sync or asyncio)."""
        files = {k: None if v is None else str(v) for k, v in vars(self).items()}
        if protocol == "grpc":
            return {"ssl": True, **files}
        if aio:
            context = ssl_module.create_default_context(cafile=files["root_certificates"])
            if self.certificate_chain is not None:
                try:
                    context.load_cert_chain(files["certificate_chain"], files["private_key"])
                except ssl_module.SSLError as exc:
                    raise ConfigurationError(f"certificate_chain and private_key do not load: {exc}") from exc
            return {"ssl": True, "ssl_context": context}
        options = {"ca_certs": files["root_certificates"]} if self.root_certificates is not None else {}
        if self.certificate_chain is not None:
            options.update(certfile=files["certificate_chain"], keyfile=files["private_key"])
        return {"ssl": True, "ssl_options": options}


@dataclass(frozen=True)
class ClientCore:
    """The settings of one client and every decision that does not depend on how it waits.

    `ClientFace.__init__` builds it from the faces' keyword arguments.
    """

    endpoint: Endpoint
    model: str = MODEL_NAME
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    api_key: str | None = field(default=None, repr=False)
    tiling: Tiling = field(default_factory=Tiling)
    tiles_per_request: int = GPU_TILE_BATCH
    tls: ClientTLS | None = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.tiles_per_request < 1:
            raise ConfigurationError(f"tiles_per_request must be at least 1, got {self.tiles_per_request}")

    def module(self, aio: bool = False) -> ModuleType:
        """The tritonclient package for this protocol (its asyncio one with `aio`)."""
        name = f"tritonclient.{self.endpoint.protocol}" + (".aio" if aio else "")
        face = "AsyncGolfClient" if aio else "GolfClient"
        return require(name, f"{face} over {self.endpoint.protocol}")

    def connect(self, aio: bool = False) -> Any:
        """A new tritonclient client for this server: timeouts, TLS and the API key set up."""
        options: dict[str, Any] = {}
        if self.endpoint.protocol == "http":
            timeouts = {"conn_timeout": self.timeout} if aio else {
                "connection_timeout": self.timeout, "network_timeout": self.timeout}  # fmt: skip
            options.update(timeouts)
        if self.tls is not None:
            options.update(self.tls.connection_options(self.endpoint.protocol, aio))
        client = self.module(aio).InferenceServerClient(self.endpoint.address, **options)
        if self.api_key:
            client.register_plugin(api_key_plugin(self.api_key, self.endpoint.protocol))
        return client

    def call_options(self, aio: bool = False) -> dict[str, Any]:
        """Keywords of each call: a synchronous gRPC call's deadline (HTTP sets it on the connection)."""
        return {"client_timeout": self.timeout} if self.endpoint.protocol == "grpc" and not aio else {}

    def request(self, batch: np.ndarray, aio: bool = False) -> tuple[list[Any], list[Any]]:
        """The input tensor holding `batch` and the requested output, for this protocol's client."""
        return request_tensors(self.module(aio), batch)

    @staticmethod
    def output(result: Any) -> np.ndarray:
        """The `SHARP` array of an inference result."""
        return result.as_numpy(OUTPUT_NAME)

    def metadata_options(self) -> dict[str, Any]:
        """Keywords of `get_model_metadata` and `get_model_config` that make both protocols answer a dict."""
        return {"as_json": True} if self.endpoint.protocol == "grpc" else {}

    @staticmethod
    def max_batch_of(config: dict) -> int | None:
        """The `max_batch_size` of a model config as either protocol answers it; None when it does not batch."""
        size = int(config.get("config", config).get("max_batch_size", 0))
        return size if size > 0 else None

    def attempts(self) -> Iterator[int]:
        """Attempt numbers for a retry loop; `retry_delay` ends it by raising."""
        return itertools.count()

    def retry_delay(self, exc: Exception, attempt: int) -> float:
        """Seconds before retrying after `exc` on `attempt`; raises the typed error when it is not retried."""
        return retry_delay_or_raise(exc, self.endpoint.url, attempt, self.retry.delays())

    def splits(self, batch: np.ndarray) -> bool:
        """Whether this batch is sent as tiles."""
        return self.tiling.splits(*batch.shape[2:])

    def sends_several(self, batch: np.ndarray) -> bool:
        """Whether a request for `batch` may hold more than one image or tile: then the server's limit matters."""
        return self.tiles_per_request > 1 if self.splits(batch) else batch.shape[0] > 1

    def in_tiles(
        self, send: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, max_batch: int | None = None
    ) -> np.ndarray:
        """`send` over `batch`, `tiles_per_request` tiles per call where its images are larger than a tile.

        No call holds more than `max_batch` images or tiles (the server's `max_batch_size`; None: no limit).
        """
        return run_in_tiles(send, batch, self.tiling, self.tiles_per_request, max_batch)


class ClientFace:
    """The one signature of both clients: `url` first, every other setting by keyword.

    The settings are checked once into a `ClientCore` and readable as attributes; nothing connects
    until the first request.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        model: str = MODEL_NAME,
        timeout: float = 60.0,
        retries: int | RetryPolicy = 3,
        api_key: str | None = None,
        tile: int | Tiling | None = None,
        tiles_per_request: int = GPU_TILE_BATCH,
        shared_memory: bool | None = None,
        tls: ClientTLS | None = None,
    ) -> None:
        """`url`: `http://host:8000`, `grpc://host:8001` or `host:port` (HTTP); `model`: the served model.

        `timeout`: seconds per request. `retries`: a `RetryPolicy`, or the number of tries of the
        default one. `api_key`: sent in the `golf-api-key` header (default: GOLF_RT_API_KEY, else none).

        `tile`: photos larger than one tile (default `golf_rt.contract.TILE_SIZE`) are sent as tiles,
        `tiles_per_request` at a time, and blended here (`golf_rt.images.tiles`): requests stay small and
        within message limits, the server's memory is bounded by the tile whatever the photo, and
        Triton batches the tiles of concurrent requests together. `tile=0` sends every image whole.

        `shared_memory`: True/False, or None to use it for large images when the server is local
        (`GolfClient` only; `AsyncGolfClient` always sends tensors in its requests).

        `tls`: a `ClientTLS` to speak TLS (gRPC to `golf-rt serve --tls-cert`, or HTTP through a TLS
        ingress); None: plaintext. A missing or unreadable certificate file is a ConfigurationError.
        """
        if tls is not None and not isinstance(tls, ClientTLS):
            raise ConfigurationError(f"tls must be a ClientTLS or None, got {type(tls).__name__}")
        self.core = core = ClientCore(
            endpoint=endpoint_from_url(url),
            model=model,
            timeout=float(timeout),
            retry=retry_policy_from(retries),
            api_key=api_key_from(api_key),
            tiling=tiling_from(tile),
            tiles_per_request=tiles_per_request,
            tls=tls,
        )
        if shared_memory and not core.endpoint.is_local:
            raise ConfigurationError(f"shared memory needs a server on this machine, not {core.endpoint.host}")
        self.endpoint, self.model, self.timeout = core.endpoint, core.model, core.timeout
        self.retry, self.retries = core.retry, core.retry.attempts
        self.tiling, self.tiles_per_request = core.tiling, core.tiles_per_request
        self.shared_memory, self.tls = shared_memory, tls
        self._open()

    def _open(self) -> None:
        """Set up what the face needs before its first request (threads' state, say); nothing connects."""


def check_concurrency(concurrency: int) -> None:
    """`deblur_many`'s limit must let one request through."""
    if concurrency < 1:
        raise ConfigurationError(f"concurrency must be >= 1, got {concurrency}")
