"""`AsyncGolfClient`: the asyncio face of the client core, on tritonclient's aio HTTP and gRPC clients.

Use it as `async with AsyncGolfClient("grpc://127.0.0.1:8001") as client:` and then
`results = await client.deblur_many(images, concurrency=8)`. Settings, requests, tiles, retries
and errors are `golf_rt.client.core`'s, as in `GolfClient`: a photo larger than a tile goes as
tiles, `tiles_per_request` per request, blended in a worker thread while the requests run on
this event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from golf_rt.client.core import ClientFace, check_concurrency
from golf_rt.client.errors import GolfClientError
from golf_rt.errors import ConfigurationError

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class AsyncGolfClient(ClientFace):
    """An asyncio client of the `golf` model; one connection pool, many requests in flight.

    It takes `GolfClient`'s settings (`ClientFace`): `url` first, the others by keyword.
    """

    _client: Any = None  # the tritonclient aio connection, made on the first request

    def _open(self) -> None:
        if self.shared_memory:
            raise ConfigurationError("AsyncGolfClient sends tensors in its requests; use GolfClient for shared memory")
        self._config_lock = asyncio.Lock()
        self._max_batch: tuple[int | None] | None = None  # the server's limit, once read

    def _connection(self) -> Any:
        if self._client is None:
            self._client = self.core.connect(aio=True)
        return self._client

    async def _call(self, action: Callable[[Any], Awaitable[T]]) -> T:
        for attempt in self.core.attempts():
            try:
                return await asyncio.wait_for(action(self._connection()), self.timeout)
            except Exception as exc:  # noqa: BLE001 - translated, or re-raised untouched
                await asyncio.sleep(self.core.retry_delay(exc, attempt))
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
        return await self._call(lambda c: c.get_model_metadata(self.model, **self.core.metadata_options()))

    async def _max_batch_for(self, batch: np.ndarray) -> int | None:
        """The server's `max_batch_size` when `batch` may need it, read from the model config once per client."""
        if not self.core.sends_several(batch):
            return None
        if self._max_batch is None:  # locked only until it is known, so later event loops never wait on it
            async with self._config_lock:
                if self._max_batch is None:
                    config = await self._call(lambda c: c.get_model_config(self.model, **self.core.metadata_options()))
                    self._max_batch = (self.core.max_batch_of(config),)
        return self._max_batch[0]

    async def deblur_batch(self, batch: np.ndarray) -> np.ndarray:
        """Send an N x 3 x H x W float32 batch as it is; the server checks it."""
        batch = np.ascontiguousarray(batch)

        async def infer(client: Any) -> np.ndarray:
            inputs, outputs = self.core.request(batch, aio=True)
            return self.core.output(await client.infer(self.model, inputs, outputs=outputs))

        return await self._call(infer)

    async def deblur(self, image: Any) -> Any:
        """Deblur what `Deblurrer.deblur` takes: numpy and PIL come back as the same kind, a path as a numpy array.

        A list goes in requests of at most the server's `max_batch_size` images, in order.
        """
        from golf_rt.images import prepare

        prepared = prepare(image)
        max_batch = await self._max_batch_for(prepared.batch)
        if not self.core.splits(prepared.batch) and len(prepared.batch) <= (max_batch or len(prepared.batch)):
            return prepared.restore(await self.deblur_batch(prepared.batch))
        loop = asyncio.get_running_loop()

        def send(part: np.ndarray) -> np.ndarray:  # runs in the worker thread; the request runs on `loop`
            return asyncio.run_coroutine_threadsafe(self.deblur_batch(part), loop).result()

        return prepared.restore(await asyncio.to_thread(self.core.in_tiles, send, prepared.batch, max_batch))

    async def deblur_many(self, images: Iterable[Any], concurrency: int = 4) -> list[Any]:
        """Deblur images with at most `concurrency` requests in flight; results in input order."""
        check_concurrency(concurrency)
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
