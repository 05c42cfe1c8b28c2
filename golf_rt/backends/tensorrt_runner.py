"""TensorRT: a runner for the engines `golf_rt.backends.tensorrt_loader` builds. All CUDA calls of inference are here.

`TensorRTRunner` uses the named-tensor API (`set_input_shape`, `set_tensor_address`,
`execute_async_v3`) on its own CUDA stream. Per batch it picks the optimization profile that takes
the shape and was tuned nearest it (`golf_rt.tensorrt_settings.choose_profile`) and switches the
context to it (`set_optimization_profile_async`); a shape no profile takes is a
`ShapeOutsideProfilesError` (`Deblurrer(backend="auto")` then falls back to the next backend).

Device buffers and pinned host buffers grow to the largest batch seen and are reused. They belong
to the runner, so calls are serialised by a lock: the runner is safe to share between threads, but
runs one batch at a time; for concurrent batches make one runner per thread (each has its own
context, stream and buffers).

We keep this thin runner rather than Polygraphy's `TrtRunner` for the per-call path: it copies
through pinned buffers with one synchronisation per call and does no per-call metadata checks or
host allocation; Polygraphy builds the engines (`tensorrt_loader`) and serves the accuracy
comparison (`polygraphy run --trt --onnxrt`, docs/engines.md).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.backends.tensorrt_loader import (  # noqa: F401 - the loader, importable from the backend module
    check_cuda,
    cudart,
    engine_for_onnx,
    engine_from_onnx,
    engine_from_path,
    engines_from_onnx_files,
    tensorrt,
)
from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import BackendUnavailableError, InferenceError
from golf_rt.onnx_files import find_onnx
from golf_rt.tensorrt_settings import BuildOptions, choose_profile, read_sidecar

logger = logging.getLogger(__name__)


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32 and fp16 on CUDA, where TensorRT is installed and an NVIDIA GPU is visible; {} elsewhere."""
    from golf_rt.environment import cuda_device_count, installed

    return {"cuda": ("fp32", "fp16")} if installed("tensorrt") and cuda_device_count() > 0 else {}


class _Buffer:
    """A device buffer and a pinned host buffer of the same size, grown on demand."""

    def __init__(self) -> None:
        self.device, self.host_ptr, self.capacity = 0, 0, 0

    def reserve(self, nbytes: int) -> None:
        if nbytes <= self.capacity:
            return
        self.free()
        runtime = cudart()
        self.device = int(check_cuda(runtime.cudaMalloc(nbytes)))
        self.host_ptr = int(check_cuda(runtime.cudaMallocHost(nbytes)))
        self.capacity = nbytes

    def host(self, count: int) -> np.ndarray:
        return np.ctypeslib.as_array((ctypes.c_float * count).from_address(self.host_ptr))

    def free(self) -> None:
        if self.capacity:
            runtime = cudart()
            runtime.cudaFree(self.device)
            runtime.cudaFreeHost(self.host_ptr)
        self.device, self.host_ptr, self.capacity = 0, 0, 0


class TensorRTRunner(Runner):
    """Runs a serialized engine after checking its sidecar against this GPU and TensorRT."""

    name = "tensorrt"

    def __init__(self, engine_path: str | Path) -> None:
        self.engine_path = Path(engine_path)
        if not self.engine_path.is_file():
            raise BackendUnavailableError(
                f"engine not found: {self.engine_path}; build it with `golf-rt build-engine --output "
                f"{self.engine_path.parent}`, or let the runner build its own (no engine_path)"
            )
        self.sidecar = read_sidecar(self.engine_path)
        super().__init__(self.sidecar.precision, precisions_here().get("cuda", ()))
        self.profiles = self.sidecar.profiles
        self._engine = self._context = self._stream = None
        self._profile = -1
        self._buffers = {INPUT_NAME: _Buffer(), OUTPUT_NAME: _Buffer()}
        self._lock = threading.Lock()

    def _activate(self) -> None:
        trt = tensorrt()
        self._engine = engine_from_path(self.engine_path, self.sidecar)
        strategy = getattr(trt, "ExecutionContextAllocationStrategy", None)
        self._context = (  # activation memory sized for the profile in use, not the largest one
            self._engine.create_execution_context(strategy.ON_PROFILE_CHANGE)
            if strategy is not None
            else self._engine.create_execution_context()
        )
        self._stream = check_cuda(cudart().cudaStreamCreate())
        self._profile = -1

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        index = choose_profile(batch.shape, self.profiles)
        with self._lock:
            return self._run(batch, index)

    def _run(self, batch: np.ndarray, index: int) -> np.ndarray:
        runtime = cudart()
        if index != self._profile:
            if not self._context.set_optimization_profile_async(index, int(self._stream)):
                raise InferenceError(f"TensorRT refused optimization profile {index} of {self.engine_path.name}")
            self._profile = index
        if not self._context.set_input_shape(INPUT_NAME, batch.shape):
            raise InferenceError(f"TensorRT refused input shape {batch.shape} for profile {index}")
        source, target = self._buffers[INPUT_NAME], self._buffers[OUTPUT_NAME]
        for name, buffer in self._buffers.items():
            buffer.reserve(batch.nbytes)
            self._context.set_tensor_address(name, buffer.device)
        source.host(batch.size)[:] = batch.ravel()
        to_device, to_host = (
            runtime.cudaMemcpyKind.cudaMemcpyHostToDevice,
            runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost,
        )
        check_cuda(runtime.cudaMemcpyAsync(source.device, source.host_ptr, batch.nbytes, to_device, self._stream))
        if not self._context.execute_async_v3(int(self._stream)):
            raise InferenceError("TensorRT execution failed (see the TensorRT log)")
        check_cuda(runtime.cudaMemcpyAsync(target.host_ptr, target.device, batch.nbytes, to_host, self._stream))
        check_cuda(runtime.cudaStreamSynchronize(self._stream))
        return target.host(batch.size).reshape(batch.shape).copy()

    def _deactivate(self) -> None:
        with self._lock:
            for buffer in self._buffers.values():
                buffer.free()
            if self._stream is not None:
                cudart().cudaStreamDestroy(self._stream)
            self._engine = self._context = self._stream = None


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    engine_path: str | Path | None = None,
    options: BuildOptions | None = None,
) -> TensorRTRunner:
    """A runner on `engine_path`, or on the cached engine of this checkpoint's part, (re)built when missing or stale."""
    if engine_path is None:
        from dataclasses import replace

        options = replace(options, precision=precision) if options else BuildOptions(precision=precision)
        engine_path = engine_for_onnx(find_onnx(part, iterations, checkpoint), options)
    return TensorRTRunner(engine_path)
