"""System shared memory for a local server: the image and its result travel through /dev/shm, not a socket.

One `SharedMemoryBuffers` belongs to one thread's client. It keeps an input and an output region
registered with the server and reuses them while the request size stays the same. A server
that cannot map them raises `SharedMemoryUnavailableError` (the client then falls back to plain
transport); a server that forgot them (it was restarted) gets them registered again.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import numpy as np

from golf_rt.client.endpoint import triton_dtype
from golf_rt.client.errors import ServerUnreachableError, SharedMemoryUnavailableError, client_error_from
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME


class SharedMemoryBuffers:
    """Input and output regions of one byte size, registered with one server through `client`."""

    def __init__(self, client: Any, module: Any) -> None:
        """`client` is a tritonclient.http or .grpc client, `module` its package."""
        self._client = client
        self._module = module
        self._byte_size = 0
        self._handles: dict[str, Any] = {}
        self._tag = f"golf_{os.getpid()}_{uuid.uuid4().hex[:12]}"

    def _ensure(self, byte_size: int) -> None:
        import tritonclient.utils.shared_memory as shm

        if byte_size == self._byte_size:
            return
        self.release()
        for role in ("in", "out"):
            name = f"{self._tag}_{role}"
            self._handles[role] = shm.create_shared_memory_region(name, f"/{name}", byte_size)
            try:
                self._client.register_system_shared_memory(name, f"/{name}", byte_size)
            except Exception as exc:
                self.release()
                error = client_error_from(exc, "the server")
                if error is None or isinstance(error, ServerUnreachableError):
                    raise
                raise SharedMemoryUnavailableError(f"the server cannot use shared memory /{name}: {error}") from exc
        self._byte_size = byte_size

    def infer(self, model: str, batch: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Run one request with `batch` and its result in shared memory; the result is copied out."""
        batch = np.ascontiguousarray(batch)
        try:
            return self._infer(model, batch, **kwargs)
        except Exception as exc:
            if "shared memory region" not in str(exc):
                raise
            self.release()  # a restarted server does not know the regions: register them again, once
            return self._infer(model, batch, **kwargs)

    def _infer(self, model: str, batch: np.ndarray, **kwargs: Any) -> np.ndarray:
        import tritonclient.utils.shared_memory as shm

        self._ensure(batch.nbytes)
        shm.set_shared_memory_region(self._handles["in"], [batch])
        tensor = self._module.InferInput(INPUT_NAME, list(batch.shape), triton_dtype(batch))
        tensor.set_shared_memory(f"{self._tag}_in", batch.nbytes)
        output = self._module.InferRequestedOutput(OUTPUT_NAME)
        output.set_shared_memory(f"{self._tag}_out", batch.nbytes)
        result = self._client.infer(model, [tensor], outputs=[output], **kwargs)
        shape = result.get_output(OUTPUT_NAME)
        dims = shape["shape"] if isinstance(shape, dict) else list(shape.shape)
        return np.array(shm.get_contents_as_numpy(self._handles["out"], np.float32, dims))

    def release(self) -> None:
        """Unregister and destroy the regions (best effort: the server may be gone)."""
        import tritonclient.utils.shared_memory as shm

        for role, handle in self._handles.items():
            try:
                self._client.unregister_system_shared_memory(f"{self._tag}_{role}")
            except Exception:  # noqa: BLE001 - the server may already be stopped; the region still goes
                pass
            shm.destroy_shared_memory_region(handle)
        self._handles = {}
        self._byte_size = 0
