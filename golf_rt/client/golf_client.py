"""`GolfClient`: deblur images on a Triton server in three lines, with typed errors.

>>> from golf_rt.client import GolfClient
>>> with GolfClient("http://127.0.0.1:8000") as client:
...     sharp = client.deblur(blurry)  # same kind as `blurry`: numpy, PIL or path -> array

Each thread gets its own connection, so `deblur_many` keeps `concurrency` requests in flight.
Connection errors are retried as `RetryPolicy` says; nothing else is. If the server cannot map
this client's shared memory, the client warns once and sends tensors in its requests instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from golf_rt.client.core import ClientFace, check_concurrency
from golf_rt.client.errors import GolfClientError, SharedMemoryUnavailableError

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
SHARED_MEMORY_MIN_BYTES = 4 << 20
"""With `shared_memory=None`, batches of at least this size go through system shared memory when
the server is local: at 720x1280 it was 1-2% faster than sending the tensor (HTTP 7.93 vs 8.02 s,
gRPC 7.98 vs 8.13 s on 2 CPU cores); small images gain nothing from it."""


class GolfClient(ClientFace):
    """A synchronous client of the `golf` model; safe to share between threads.

    `GolfClient(url, *, model, timeout, retries, api_key, tile, tiles_per_request, shared_memory, tls)`:
    the settings are `ClientFace`'s, the same as `AsyncGolfClient`'s.
    """

    def _open(self) -> None:
        self._shared_memory_refused = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[tuple[Any, Any]] = []
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._config_lock = threading.Lock()
        self._max_batch: tuple[int | None] | None = None  # the server's limit, once read

    def _connection(self) -> tuple[Any, Any]:
        """The calling thread's (tritonclient client, shared-memory buffers or None)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = (self.core.connect(), None)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._opened:
                    self._opened.remove(connection)
            _close(connection)

    def _call(self, action: Callable[[Any], T]) -> T:
        """Run `action(client)`, typed errors out; retry connection errors only, a bounded number of times."""
        for attempt in self.core.attempts():
            try:
                return action(self._connection()[0])
            except Exception as exc:  # noqa: BLE001 - translated, or re-raised untouched
                delay = self.core.retry_delay(exc, attempt)
                self._drop_connection()
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def ready(self) -> bool:
        """True when the server is up and the model is loaded; False when not (never raises for that)."""
        try:
            return bool(self._call(lambda c: c.is_server_ready() and c.is_model_ready(self.model)))
        except GolfClientError:
            return False

    def metadata(self) -> dict:
        """The model's metadata (name, versions, inputs, outputs) as a dict."""
        options = {**self.core.metadata_options(), **self.core.call_options()}
        return self._call(lambda c: c.get_model_metadata(self.model, **options))

    def _max_batch_for(self, batch: np.ndarray) -> int | None:
        """The server's `max_batch_size` when `batch` may need it, read from the model config once per client."""
        if not self.core.sends_several(batch):
            return None
        if self._max_batch is None:
            with self._config_lock:
                if self._max_batch is None:
                    options = {**self.core.metadata_options(), **self.core.call_options()}
                    config = self._call(lambda c: c.get_model_config(self.model, **options))
                    self._max_batch = (self.core.max_batch_of(config),)
        return self._max_batch[0]

    def _use_shared_memory(self, batch: np.ndarray) -> bool:
        if self._shared_memory_refused:
            return False
        if self.shared_memory is None:
            return self.endpoint.is_local and batch.nbytes >= SHARED_MEMORY_MIN_BYTES
        return self.shared_memory

    def deblur_batch(self, batch: np.ndarray) -> np.ndarray:
        """Send an N x 3 x H x W float32 batch as it is and return the server's output (the server checks it)."""
        batch = np.ascontiguousarray(batch)
        if self._use_shared_memory(batch):
            try:
                return self._call(
                    lambda c: self._shared_memory_buffers(c).infer(self.model, batch, **self.core.call_options())
                )
            except SharedMemoryUnavailableError as exc:
                LOGGER.warning("%s; sending tensors in the requests instead", exc)
                self._shared_memory_refused = True
                self._drop_connection()

        def infer(client: Any) -> np.ndarray:
            inputs, outputs = self.core.request(batch)
            return self.core.output(client.infer(self.model, inputs, outputs=outputs, **self.core.call_options()))

        return self._call(infer)

    def _shared_memory_buffers(self, client: Any) -> Any:
        from golf_rt.client.shm import SharedMemoryBuffers

        connection = self._local.connection
        if connection[1] is None:
            connection = (client, SharedMemoryBuffers(client, self.core.module()))
            with self._lock:
                self._opened[self._opened.index(self._local.connection)] = connection
            self._local.connection = connection
        return connection[1]

    def deblur(self, image: Any) -> Any:
        """Deblur what `Deblurrer.deblur` takes (numpy, PIL, path; lists of them).

        A numpy array or PIL image comes back as the same kind; a path comes back as the numpy
        array of the result (uint8 or uint16, as `golf_rt.images.load_image` reads the file).
        A list goes in requests of at most the server's `max_batch_size` images, in order.
        """
        from golf_rt.images import prepare

        prepared = prepare(image)
        max_batch = self._max_batch_for(prepared.batch)
        return prepared.restore(self.core.in_tiles(self.deblur_batch, prepared.batch, max_batch))

    def deblur_many(self, images: Iterable[Any], concurrency: int = 4) -> list[Any]:
        """Deblur images with `concurrency` requests in flight; results in input order."""
        check_concurrency(concurrency)
        with self._lock:
            pool = self._pools.get(concurrency)
            if pool is None:  # kept, so its threads' connections are reused by the next call
                pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="golf-client")
                self._pools[concurrency] = pool
        return list(pool.map(self.deblur, images))

    def close(self) -> None:
        """Close every connection and release shared memory."""
        with self._lock:
            opened, self._opened = self._opened, []
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=True)
        for connection in opened:
            _close(connection)
        self._local = threading.local()

    def __enter__(self) -> GolfClient:
        """Use as a context manager to close connections at the end."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Close."""
        self.close()


def _close(connection: tuple[Any, Any]) -> None:
    client, buffers = connection
    if buffers is not None:
        buffers.release()
    try:
        client.close()
    except Exception:  # noqa: BLE001 - closing a dead connection must not hide the real error
        LOGGER.debug("closing a client failed", exc_info=True)
