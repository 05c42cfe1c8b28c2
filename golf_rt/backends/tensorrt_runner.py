"""TensorRT: engines built from the ONNX files, and a runner for them. All TensorRT and CUDA code is here.

Building (`engine_from_onnx`): one optimization profile over batch and resolution, a persisted
timing cache, and a JSON sidecar (see `golf_rt.tensorrt_settings`). FP16 differs by version:

- TensorRT 10 builds the FP32 ONNX with the FP16 builder flag, pins every Instance-Normalization
  and reduction layer (the residual's detail scale) to FP32 (layer precision and output type)
  and sets OBEY_PRECISION_CONSTRAINTS;
- TensorRT 11 removed those flags and builds only strongly typed networks, so FP16 there means
  building the FP16 ONNX (`golf_rt.export.fp16_onnx_from_onnx`: FP32 I/O, Instance Norm and
  the detail scale's reductions).

Running (`TensorRTRunner`): the named-tensor API (`set_input_shape`, `set_tensor_address`,
`execute_async_v3`) on the runner's own CUDA stream, with device buffers and pinned host
buffers sized once for the profile's largest shape and reused. CUDA comes from cuda-python.
tensorrt and cuda-python are imported only when an engine is built or loaded.
"""

from __future__ import annotations

import ctypes
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import (
    BackendUnavailableError,
    ConfigurationError,
    EngineMismatchError,
    ExportError,
    InferenceError,
    InvalidImageError,
)
from golf_rt.extras import require
from golf_rt.onnx_files import find_onnx
from golf_rt.tensorrt_settings import (
    BuildOptions,
    Profile,
    Sidecar,
    check_sidecar,
    default_engine_dir,
    engine_file_name,
    format_shape,
    read_sidecar,
    write_sidecar,
)

logger = logging.getLogger(__name__)


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32 and fp16 on CUDA, where TensorRT is installed and an NVIDIA GPU is visible; {} elsewhere."""
    from golf_rt.environment import cuda_device_count, installed

    return {"cuda": ("fp32", "fp16")} if installed("tensorrt") and cuda_device_count() > 0 else {}


def _tensorrt() -> Any:
    return require("tensorrt", "TensorRT on an NVIDIA GPU")


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime  # cuda-python >= 12.6
    except ImportError:
        runtime = require("cuda.cudart", "TensorRT's CUDA calls")  # older cuda-python
    return runtime


def _check(result: Any) -> Any:
    """Unwrap a cuda-python (error, value...) tuple, raising InferenceError on any CUDA error."""
    cudart = _cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != cudart.cudaError_t.cudaSuccess:
        raise InferenceError(f"CUDA error: {cudart.cudaGetErrorString(err)[1].decode()}")
    return values[0] if len(values) == 1 else values


def running_gpu() -> tuple[str, str]:
    """(name, compute capability "major.minor") of CUDA device 0."""
    cudart = _cudart()
    err, count = cudart.cudaGetDeviceCount()
    if err != cudart.cudaError_t.cudaSuccess or count < 1:
        raise BackendUnavailableError("no CUDA device found: TensorRT needs an NVIDIA GPU")
    props = _check(cudart.cudaGetDeviceProperties(0))
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return name.rstrip("\x00"), f"{props.major}.{props.minor}"


def tensorrt_major() -> int:
    return int(_tensorrt().__version__.split(".")[0])


def engine_from_onnx(onnx_path: str | Path, engine_path: str | Path, options: BuildOptions | None = None) -> Path:
    """Build and save a serialized engine plus its JSON sidecar; returns the engine path.

    For FP16 on TensorRT 11, `onnx_path` must be an FP16 ONNX (see the module docstring).
    """
    from golf_rt.checkpoint import file_sha256

    trt = _tensorrt()
    options = options or BuildOptions()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    gpu_name, capability = running_gpu()
    started = time.perf_counter()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, trt_logger)
    parser.set_flag(trt.OnnxParserFlag.NATIVE_INSTANCENORM)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT cannot parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    if options.precision == "fp16" and tensorrt_major() < 11:
        _pin_instance_norm_fp32(trt, network, config)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, options.profile.min, options.profile.opt, options.profile.max)
    config.add_optimization_profile(profile)
    cache_path = options.timing_cache_path
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(f"TensorRT failed to build an engine from {onnx_path.name} (see the TensorRT log above)")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))
    sidecar = Sidecar(
        tensorrt_version=trt.__version__, gpu_name=gpu_name, compute_capability=capability,
        precision=options.precision, profile_min=options.profile.min, profile_opt=options.profile.opt,
        profile_max=options.profile.max, onnx_sha256=file_sha256(onnx_path), onnx_name=onnx_path.name,
        build_seconds=round(time.perf_counter() - started, 2),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )  # fmt: skip
    write_sidecar(engine_path, sidecar)
    logger.info("built %s in %.1f s", engine_path, sidecar.build_seconds)
    return engine_path


def _pin_instance_norm_fp32(trt: Any, network: Any, config: Any) -> None:
    """TensorRT 10 weak typing: FP16 everywhere except the image statistics in FP32.

    Instance Norm's variance overflows FP16; the detail scale's mean of squares needs FP32's range.
    """
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    pinned = 0
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if layer.type in (trt.LayerType.NORMALIZATION, trt.LayerType.REDUCE):
            layer.precision = trt.float32
            layer.set_output_type(0, trt.float32)
            pinned += 1
    logger.info("pinned %d Instance-Normalization and reduction layers to FP32", pinned)


def engines_from_onnx_dir(
    onnx_dir: str | Path,
    output_dir: str | Path,
    iterations: int = DEFAULT_ITERATIONS,
    options: BuildOptions | None = None,
) -> dict[str, Path]:
    """The fused engine and the F and G-unrolled engines (for the Triton ensemble) from a folder of ONNX files."""
    from golf_rt.export import fp16_onnx_from_onnx
    from golf_rt.onnx_files import onnx_file_name

    options = options or BuildOptions()
    built = {}
    for part in ("fused", "f", "g_unrolled"):
        onnx_path = Path(onnx_dir) / onnx_file_name(part, iterations)
        if not onnx_path.is_file():
            raise ConfigurationError(f"{onnx_path} is missing: run `golf-rt export --output {onnx_dir}` first")
        if options.precision == "fp16" and tensorrt_major() >= 11:
            onnx_path = fp16_onnx_from_onnx(onnx_path, Path(output_dir) / onnx_file_name(part, iterations, fp16=True))
        engine_path = Path(output_dir) / engine_file_name(part, iterations, options.precision)
        built[part] = engine_from_onnx(onnx_path, engine_path, options)
    return built


class TensorRTRunner(Runner):
    """Runs a serialized engine after checking its sidecar against this GPU and TensorRT."""

    name = "tensorrt"

    def __init__(self, engine_path: str | Path) -> None:
        self.engine_path = Path(engine_path)
        if not self.engine_path.is_file():
            raise BackendUnavailableError(f"engine not found: {self.engine_path}; build it with `golf-rt build-engine`")
        self.sidecar = read_sidecar(self.engine_path)
        super().__init__(self.sidecar.precision, precisions_here().get("cuda", ()))
        self.profile: Profile = self.sidecar.profile
        self._engine = self._context = self._stream = None
        self._buffers: dict[str, tuple[int, np.ndarray]] = {}

    def _activate(self) -> None:
        trt, cudart = _tensorrt(), _cudart()
        check_sidecar(self.sidecar, trt.__version__, *running_gpu())
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self._engine is None:
            raise EngineMismatchError(f"TensorRT could not deserialize {self.engine_path}; rebuild it")
        self._context = self._engine.create_execution_context()
        self._stream = _check(cudart.cudaStreamCreate())
        largest = int(np.prod(self.profile.max)) * np.dtype(np.float32).itemsize
        for name in (INPUT_NAME, OUTPUT_NAME):
            device = _check(cudart.cudaMalloc(largest))
            host_ptr = _check(cudart.cudaMallocHost(largest))
            host = np.ctypeslib.as_array((ctypes.c_float * (largest // 4)).from_address(int(host_ptr)))
            self._buffers[name] = (int(device), host)
            self._context.set_tensor_address(name, int(device))

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        cudart = _cudart()
        if not self.profile.accepts(batch.shape):
            raise InvalidImageError(
                f"batch {format_shape(batch.shape)} is outside the engine's profile "
                f"{format_shape(self.profile.min)} .. {format_shape(self.profile.max)}; rebuild with a wider profile"
            )
        self._context.set_input_shape(INPUT_NAME, batch.shape)
        (in_device, in_host), (out_device, out_host) = self._buffers[INPUT_NAME], self._buffers[OUTPUT_NAME]
        count = batch.size
        in_host[:count] = batch.ravel()
        to_device, to_host = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(in_device, in_host.ctypes.data, batch.nbytes, to_device, self._stream))
        if not self._context.execute_async_v3(int(self._stream)):
            raise InferenceError("TensorRT execution failed (see the TensorRT log)")
        _check(cudart.cudaMemcpyAsync(out_host.ctypes.data, out_device, batch.nbytes, to_host, self._stream))
        _check(cudart.cudaStreamSynchronize(self._stream))
        return out_host[:count].reshape(batch.shape).copy()

    def _deactivate(self) -> None:
        cudart = _cudart()
        for device, host in self._buffers.values():
            cudart.cudaFree(device)
            cudart.cudaFreeHost(host.ctypes.data)
        self._buffers.clear()
        if self._stream is not None:
            cudart.cudaStreamDestroy(self._stream)
        self._engine = self._context = self._stream = None


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    engine_path: str | Path | None = None,
    options: BuildOptions | None = None,
) -> TensorRTRunner:
    """A runner on `engine_path`, or on the cached engine of this checkpoint, built first if missing."""
    if engine_path is None:
        from golf_rt.checkpoint import file_sha256

        onnx_path = find_onnx(part, iterations, checkpoint)
        folder = default_engine_dir() / file_sha256(onnx_path)[:16]
        engine_path = folder / engine_file_name(part, iterations, precision)
        if not engine_path.is_file():
            options = options or BuildOptions(precision=precision)
            source = (
                find_onnx(part, iterations, checkpoint, fp16=True)
                if precision == "fp16" and tensorrt_major() >= 11
                else onnx_path
            )
            engine_from_onnx(source, engine_path, options)
    return TensorRTRunner(engine_path)
