"""TensorRT: a runner for the engines `golf_rt.backends.tensorrt.loader` builds, through the GPU door.

`TensorRTRunner` uses the named-tensor API (`set_input_shape`, `set_tensor_address`,
`execute_async_v3`) on its own CUDA stream. Per batch it picks the optimization profile that takes
the shape and was tuned nearest it (`golf_rt.artifacts.engines.choose_profile`) and switches the
context to it (`set_optimization_profile_async`); a shape no profile takes is a
`ShapeOutsideProfilesError` (`Deblurrer(backend="auto")` then falls back to the next backend).

Device buffers and pinned host buffers grow to the largest batch seen and are reused. They belong
to the runner, so calls are serialised by the base class's lock: the runner is safe to share
between threads, but runs one batch at a time; for concurrent batches make one runner per thread
(each has its own context, stream and buffers).

Every device call goes through `golf_rt.backends.gpu.door.gpu()`, the real GPU or its CPU
stand-in (GOLF_RT_GPU_STANDIN=1). We keep this thin runner rather than Polygraphy's `TrtRunner`
for the per-call path: it copies through pinned buffers with one synchronisation per call and
does no per-call metadata checks or host allocation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.artifacts.engines import BuildOptions, choose_profile, read_sidecar
from golf_rt.artifacts.supply import ensure_onnx
from golf_rt.backends.base import Runner
from golf_rt.backends.gpu.door import gpu, tensorrt_here
from golf_rt.backends.tensorrt.loader import (  # noqa: F401 - the loader, importable from the backend module
    engine_for_onnx,
    engine_from_onnx,
    engine_from_path,
    engines_from_onnx_files,
)
from golf_rt.catalog import backend_record
from golf_rt.contract import DEFAULT_ITERATIONS, GPU_TILE_BATCH, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import InferenceError, ModelFileError

logger = logging.getLogger(__name__)


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32 and fp16 on CUDA, where TensorRT is installed and an NVIDIA GPU is visible (or stood in for); {}."""
    return dict(backend_record("tensorrt").precisions) if tensorrt_here() else {}


class _Buffer:
    """A device buffer and a pinned host buffer of the same size, grown on demand."""

    def __init__(self, device: Any) -> None:
        self._gpu = device
        self.device, self.host_ptr, self.capacity = 0, 0, 0

    def reserve(self, nbytes: int) -> None:
        if nbytes <= self.capacity:
            return
        self.free()
        device = self._gpu.malloc(nbytes)
        try:
            host = self._gpu.malloc_host(nbytes)
        except BaseException:
            self._gpu.free(device)  # neither half of a failed pair is kept
            raise
        self.device, self.host_ptr, self.capacity = device, host, nbytes

    def host(self, count: int) -> np.ndarray:
        return self._gpu.host_array(self.host_ptr, count)

    def free(self) -> None:
        if self.capacity:
            self._gpu.free(self.device)
            self._gpu.free_host(self.host_ptr)
        self.device, self.host_ptr, self.capacity = 0, 0, 0


class TensorRTRunner(Runner):
    """Runs a serialized engine after checking its sidecar against this GPU and TensorRT."""

    name = "tensorrt"
    tile_batch = GPU_TILE_BATCH
    fixed_tile_shape = True  # one shape: the engine's optimum and one CUDA graph

    def __init__(self, engine_path: str | Path) -> None:
        self.engine_path = Path(engine_path)
        if not self.engine_path.is_file():
            raise ModelFileError(
                f"engine not found: {self.engine_path}; build it with `golf-rt build-engine --output "
                f"{self.engine_path.parent}`, or let the runner build its own (no engine_path)"
            )
        self.sidecar = read_sidecar(self.engine_path)
        super().__init__(self.sidecar.precision, precisions_here().get("cuda", ()))
        self.profiles = self.sidecar.profiles
        self.max_batch = max(profile.max[0] for profile in self.profiles)
        self._gpu: Any = None
        self._engine = self._context = self._stream = None
        self._profile = -1
        self._buffers: dict[str, _Buffer] = {}

    def _activate(self) -> None:
        self._gpu = gpu()
        self._engine = engine_from_path(self.engine_path, self.sidecar)
        self._context = self._gpu.create_context(self._engine)
        self._stream = self._gpu.create_stream()
        self._buffers = {INPUT_NAME: _Buffer(self._gpu), OUTPUT_NAME: _Buffer(self._gpu)}
        self._profile = 0  # a new context starts on profile 0

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        index = choose_profile(batch.shape, self.profiles)
        device, stream = self._gpu, self._stream
        if index != self._profile:
            if not self._context.set_optimization_profile_async(index, stream):
                raise InferenceError(f"TensorRT refused optimization profile {index} of {self.engine_path.name}")
            self._profile = index
        if not self._context.set_input_shape(INPUT_NAME, batch.shape):
            raise InferenceError(f"TensorRT refused input shape {batch.shape} for profile {index}")
        source, target = self._buffers[INPUT_NAME], self._buffers[OUTPUT_NAME]
        for name, buffer in self._buffers.items():
            buffer.reserve(batch.nbytes)
            self._context.set_tensor_address(name, buffer.device)
        source.host(batch.size)[:] = batch.ravel()
        device.copy_to_device(source.device, source.host_ptr, batch.nbytes, stream)
        if not self._context.execute_async_v3(stream):
            raise InferenceError("TensorRT execution failed (see the TensorRT log)")
        device.copy_to_host(target.host_ptr, target.device, batch.nbytes, stream)
        device.synchronize(stream)
        return target.host(batch.size).reshape(batch.shape).copy()

    def _deactivate(self) -> None:
        for buffer in self._buffers.values():
            buffer.free()
        if self._stream is not None:
            self._gpu.destroy_stream(self._stream)
        self._engine = self._context = self._stream = None
        self._buffers = {}


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    engine_path: str | Path | None = None,
    options: BuildOptions | None = None,
) -> TensorRTRunner:
    """A runner on `engine_path`, or on the cached engine of this checkpoint's part, (re)built when missing or stale.

    Without `options`, a current engine that `golf-rt build-engine --profile` left in the cache is
    used as built; else one with the default profiles is built.
    """
    if engine_path is None:
        from dataclasses import replace

        asked = options is not None
        options = replace(options, precision=precision) if options else BuildOptions(precision=precision)
        engine_path = engine_for_onnx(ensure_onnx(part, iterations, checkpoint), options, any_profiles=not asked)
    return TensorRTRunner(engine_path)
