"""`AsyncGolfClient`: the asyncio twin of `GolfClient`, on tritonclient's aio HTTP and gRPC clients.

Use it as `async with AsyncGolfClient("grpc://127.0.0.1:8001") as client:` and then
`results = await client.deblur_many(images, concurrency=8)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from golf_rt.client.endpoint import (
    RetryPolicy,
    api_key_from,
    api_key_plugin,
    endpoint_from_url,
    request_tensors,
    retry_policy_from,
)
from golf_rt.client.errors import GolfClientError, retry_delay_or_raise
from golf_rt.contract import MODEL_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.extras import require

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class AsyncGolfClient:
    """An asyncio client of the `golf` model; one connection pool, many requests in flight."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        model: str = MODEL_NAME,
        timeout: float = 60.0,
        retries: int | RetryPolicy = 3,
        api_key: str | None = None,
    ) -> None:
        """Nothing connects until the first request; `retries` and `api_key` as in `GolfClient`."""
        self.endpoint = endpoint_from_url(url)
        self.model = model
        self.timeout = float(timeout)
        self.retry = retry_policy_from(retries)
        self.retries = self.retry.attempts
        self._api_key = api_key_from(api_key)
        self._client: Any = None

    @property
    def _module(self) -> Any:
        protocol = self.endpoint.protocol
        return require(f"tritonclient.{protocol}.aio", f"AsyncGolfClient over {protocol}")

    def _connection(self) -> Any:
        if self._client is None:
            self._client = self._module.InferenceServerClient(self.endpoint.address)
            if self._api_key:
                self._client.register_plugin(api_key_plugin(self._api_key, self.endpoint.protocol))
        return self._client

    async def _call(self, action: Callable[[Any], Awaitable[T]]) -> T:
        delays = self.retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                return await asyncio.wait_for(action(self._connection()), self.timeout)
            except Exception as exc:  # noqa: BLE001 - translated, or re-raised untouched
                await asyncio.sleep(retry_delay_or_raise(exc, self.endpoint.url, attempt, delays))
        raise AssertionError("unreachable")  # pragma: no cover

    async def ready(self) -> bool:
        """True when the server is up and the model is loaded."""

        async def check(client: Any) -> bool:
            return bool(await client.is_server_ready() and await client.is_model_ready(self.model))

        try:
            return await self._call(check)
        except GolfClientError:
            return False

    async def metadata(self) -> dict:
        """The model's metadata as a dict."""
        if self.endpoint.protocol == "grpc":
            return await self._call(lambda c: c.get_model_metadata(self.model, as_json=True))
        return await self._call(lambda c: c.get_model_metadata(self.model))

    async def deblur_batch(self, batch: np.ndarray) -> np.ndarray:
        """Send an N x 3 x H x W float32 batch as it is; the server checks it."""
        batch = np.ascontiguousarray(batch)

        async def infer(client: Any) -> np.ndarray:
            inputs, outputs = request_tensors(self._module, batch)
            result = await client.infer(self.model, inputs, outputs=outputs)
            return result.as_numpy(OUTPUT_NAME)

        return await self._call(infer)

    async def deblur(self, image: Any) -> Any:
        """Deblur what `Deblurrer.deblur` takes: numpy and PIL come back as the same kind, a path as a numpy array."""
        from golf_rt.images import prepare

        prepared = prepare(image)
        return prepared.restore(await self.deblur_batch(prepared.batch))

    async def deblur_many(self, images: Iterable[Any], concurrency: int = 4) -> list[Any]:
        """Deblur images with at most `concurrency` requests in flight; results in input order."""
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be >= 1, got {concurrency}")
        gate = asyncio.Semaphore(concurrency)

        async def one(image: Any) -> Any:
            async with gate:
                return await self.deblur(image)

        return list(await asyncio.gather(*(one(image) for image in images)))

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def __aenter__(self) -> AsyncGolfClient:
        """Use with `async with` to close the pool at the end."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Close."""
        await self.close()
