"""The real device behind `golf_rt.backends.gpu.door`: TensorRT 10 and cuda-python on an NVIDIA GPU.

Only this module imports tensorrt, cuda-python and Polygraphy's TensorRT backend. Each method is
one or two library calls; what to do with them is decided above the door. Every name it (and the
TensorRT loader and runner) uses of them is listed in `golf_rt.backends.gpu.stack`, beside the
pinned versions, and checked against those versions' bindings without a GPU.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.artifacts.engines import Machine, Profile
from golf_rt.contract import INPUT_NAME
from golf_rt.errors import BackendUnavailableError, ExportError, InferenceError
from golf_rt.machine.extras import require

logger = logging.getLogger(__name__)


def tensorrt() -> Any:
    return require("tensorrt", "TensorRT on an NVIDIA GPU", extra="gpu")


def cudart() -> Any:
    """cuda-python's CUDA runtime module, `cuda.bindings.runtime` (cuda-python 13 has no `cuda.cudart`)."""
    return require("cuda.bindings.runtime", "TensorRT's CUDA calls", extra="gpu")


def check_cuda(result: Any) -> Any:
    """Unwrap a cuda-python (error, value...) tuple, raising InferenceError on any CUDA error."""
    runtime = cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != runtime.cudaError_t.cudaSuccess:
        raise InferenceError(f"CUDA error: {runtime.cudaGetErrorString(err)[1].decode()}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def apply_timing_cache(config: Any, data: bytes) -> bool:
    """Give `config` the timing cache `data`; False when TensorRT rejects it (then it gets an empty one).

    `IBuilderConfig.set_timing_cache(cache, ignore_mismatch=False)` returns False for a cache
    made by another TensorRT, GPU or CUDA version; building with it would waste or mislead.
    """
    if data and config.set_timing_cache(config.create_timing_cache(data), ignore_mismatch=False):
        return True
    if data:
        logger.warning("TensorRT rejected the timing cache (another TensorRT, GPU or CUDA); starting an empty one")
    if not config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False):
        raise ExportError("TensorRT refused an empty timing cache")
    return not data


class TensorRTDevice:
    """TensorRT and the CUDA runtime, called as NVIDIA documents them (TensorRT 10 named-tensor API)."""

    name = "tensorrt"

    def machine(self) -> Machine:
        runtime = cudart()
        err, count = runtime.cudaGetDeviceCount()
        if err != runtime.cudaError_t.cudaSuccess or count < 1:
            raise BackendUnavailableError("no CUDA device found: TensorRT needs an NVIDIA GPU")
        props = check_cuda(runtime.cudaGetDeviceProperties(0))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        cuda = int(check_cuda(runtime.cudaRuntimeGetVersion()))
        return Machine(tensorrt().__version__, name.rstrip("\x00"), f"{props.major}.{props.minor}",
                       f"{cuda // 1000}.{cuda % 1000 // 10}")  # fmt: skip

    def build_plan(
        self,
        onnx_path: Path,
        profiles: tuple[Profile, ...],
        workspace_mib: int,
        version_compatible: bool,
        timing_cache: bytes,
    ) -> tuple[bytes, bytes]:
        """(serialized engine, timing cache): Polygraphy's NetworkFromOnnxPath -> CreateConfig -> EngineBytes."""
        trt = tensorrt()
        polygraphy_trt = require("polygraphy.backend.trt", "building TensorRT engines", extra="gpu")
        from polygraphy.exception import PolygraphyException

        flags = [flag for flag in (getattr(trt.OnnxParserFlag, "NATIVE_INSTANCENORM", None),) if flag is not None]
        trt_profiles = [polygraphy_trt.Profile().add(INPUT_NAME, p.min, p.opt, p.max) for p in profiles]
        try:
            builder, network, _parser = polygraphy_trt.NetworkFromOnnxPath(
                str(onnx_path), flags=flags, strongly_typed=True
            )()
            config = polygraphy_trt.CreateConfig(
                tf32=False,
                profiles=trt_profiles,
                memory_pool_limits={trt.MemoryPoolType.WORKSPACE: workspace_mib << 20},
                version_compatible=version_compatible or None,
            )(builder, network)
            apply_timing_cache(config, timing_cache)
            serialized = polygraphy_trt.EngineBytesFromNetwork((builder, network), config)()
        except PolygraphyException as exc:
            raise ExportError(f"TensorRT failed to build an engine from {onnx_path.name}: {exc}") from exc
        return bytes(serialized), bytes(config.get_timing_cache().serialize())

    def load_engine(self, plan: bytes, version_compatible: bool) -> Any:
        """An ICudaEngine, or None when TensorRT cannot deserialize the plan."""
        trt = tensorrt()
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        if version_compatible:
            runtime.engine_host_code_allowed = True  # a version-compatible plan carries its own lean runtime
        return runtime.deserialize_cuda_engine(plan)

    def create_context(self, engine: Any) -> Any:
        """An IExecutionContext whose activation memory is sized for the profile in use, not the largest."""
        strategy = getattr(tensorrt(), "ExecutionContextAllocationStrategy", None)
        context = (
            engine.create_execution_context(strategy.ON_PROFILE_CHANGE)
            if strategy is not None
            else engine.create_execution_context()
        )
        if context is None:  # out of device memory, or a GPU in exclusive-process mode held by another process
            raise InferenceError("TensorRT could not create an execution context (see the TensorRT log)")
        return context

    def malloc(self, nbytes: int) -> int:
        return int(check_cuda(cudart().cudaMalloc(nbytes)))

    def free(self, pointer: int) -> None:
        check_cuda(cudart().cudaFree(pointer))

    def malloc_host(self, nbytes: int) -> int:
        return int(check_cuda(cudart().cudaMallocHost(nbytes)))

    def free_host(self, pointer: int) -> None:
        check_cuda(cudart().cudaFreeHost(pointer))

    def host_array(self, pointer: int, count: int) -> np.ndarray:
        """`count` float32 values of pinned host memory at `pointer`, as a numpy view."""
        return np.ctypeslib.as_array((ctypes.c_float * count).from_address(pointer))

    def copy_to_device(self, device: int, host: int, nbytes: int, stream: Any) -> None:
        runtime = cudart()
        kind = runtime.cudaMemcpyKind.cudaMemcpyHostToDevice
        check_cuda(runtime.cudaMemcpyAsync(device, host, nbytes, kind, stream))

    def copy_to_host(self, host: int, device: int, nbytes: int, stream: Any) -> None:
        runtime = cudart()
        kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check_cuda(runtime.cudaMemcpyAsync(host, device, nbytes, kind, stream))

    def create_stream(self) -> Any:
        return check_cuda(cudart().cudaStreamCreate())

    def synchronize(self, stream: Any) -> None:
        check_cuda(cudart().cudaStreamSynchronize(stream))

    def destroy_stream(self, stream: Any) -> None:
        check_cuda(cudart().cudaStreamDestroy(stream))

    def onnxruntime_session(self, path: Path, options: Any, providers: list) -> Any:
        """An ONNX Runtime InferenceSession on the GPU providers (onnxruntime-gpu)."""
        ort = require("onnxruntime", "the ONNX Runtime runner")
        return ort.InferenceSession(str(path), options, providers=providers)
