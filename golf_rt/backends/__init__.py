"""Inference backends behind one `Runner` interface, and a factory that makes them by name.

Each backend lives in its own module and imports its library only when used:
`torch_runner`, `onnxruntime_runner`, `openvino_runner`, `tensorrt_runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golf_rt.backends.base import Runner, validate_batch
from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS, TOLERANCE
from golf_rt.environment import cpu_has_native_bf16, cuda_device_count, installed
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.extras import missing_package_error
from golf_rt.onnx_files import find_onnx

BACKENDS = ("tensorrt", "openvino", "onnxruntime", "torch")
"""Every backend golf-rt knows, fastest first (see `golf_rt.deblurrer.AUTO_ORDER`)."""

__all__ = ["BACKENDS", "PRECISIONS", "TOLERANCE", "Runner", "available_backends", "create_runner", "validate_batch"]


def available_backends() -> dict[str, tuple[str, ...]]:
    """The backends that can run here, each with the precisions it can run at."""
    found: dict[str, tuple[str, ...]] = {}
    if installed("tensorrt") and cuda_device_count() > 0:
        found["tensorrt"] = ("fp32", "fp16")
    if installed("openvino"):
        found["openvino"] = ("fp32", "bf16") if cpu_has_native_bf16() else ("fp32",)
    if installed("onnxruntime"):
        found["onnxruntime"] = ("fp32", "fp16")
    if installed("torch"):
        found["torch"] = ("fp32",)
    return found


def create_runner(
    backend: str,
    precision: str = "fp32",
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    part: str = "fused",
    **options: Any,
) -> Runner:
    """A runner for `part` of `checkpoint` (None = shipped) on `backend` at `precision`.

    `options` go to the runner: `onnx_path` replaces the ONNX lookup, `threads`, `device`,
    `hint`/`streams` (OpenVINO), `engine_path` (TensorRT).
    """
    if backend not in BACKENDS:
        raise ConfigurationError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ConfigurationError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if backend == "torch" and part != "fused":
        raise ConfigurationError("the torch runner runs the fused model only")
    here = available_backends()
    if backend not in here:
        if not installed(backend):
            raise missing_package_error(backend, f"the {backend} backend")
        why = " (TensorRT needs an NVIDIA GPU)" if backend == "tensorrt" else ""
        raise BackendUnavailableError(
            f"backend {backend!r} is not available here{why}; available: {', '.join(here) or 'none'}"
        )
    if precision not in here[backend]:
        raise BackendUnavailableError(f"{backend} cannot run {precision} here; it runs {', '.join(here[backend])}")
    if backend == "torch":
        from golf_rt.backends.torch_runner import TorchRunner

        return TorchRunner(checkpoint, iterations, precision=precision, **options)
    if backend == "tensorrt":
        from golf_rt.backends.tensorrt_runner import runner_for_checkpoint

        return runner_for_checkpoint(checkpoint, part, iterations, precision, **options)
    onnx_path = options.pop("onnx_path", None)
    if backend == "onnxruntime":
        from golf_rt.backends.onnxruntime_runner import OnnxRuntimeRunner

        path = onnx_path or find_onnx(part, iterations, checkpoint, fp16=precision == "fp16")
        runner = OnnxRuntimeRunner(path, **options)
        if runner.precision != precision:
            raise ConfigurationError(f"{path} is an {runner.precision} model, not {precision}")
        return runner
    from golf_rt.backends.openvino_runner import OpenVinoRunner

    return OpenVinoRunner(onnx_path or find_onnx(part, iterations, checkpoint), precision, **options)
