"""ONNX Runtime: any of the ONNX files on the CPU, or on CUDA / TensorRT with onnxruntime-gpu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, check_model_io
from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME
from golf_rt.environment import installed
from golf_rt.errors import BackendUnavailableError, ConfigurationError, ModelFileError
from golf_rt.extras import require
from golf_rt.onnx_files import META_PRECISION, find_onnx

PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}
PRECISIONS_BY_DEVICE = {"cpu": ("fp32", "fp16"), "cuda": ("fp32", "fp16"), "tensorrt": ("fp32", "fp16")}
"""fp32 ONNX files everywhere, and the fp16 ones (FP32 I/O and image statistics)."""


def _ort() -> Any:
    return require("onnxruntime", "the ONNX Runtime runner")


def precisions_here() -> dict[str, tuple[str, ...]]:
    """The devices whose execution provider this ONNX Runtime build has, with the precisions of our ONNX files."""
    if not installed("onnxruntime"):
        return {}
    providers = set(_ort().get_available_providers())
    return {device: PRECISIONS_BY_DEVICE[device] for device, wanted in PROVIDERS.items() if wanted[0] in providers}


def session_options(threads: int | None = None) -> Any:
    """Full graph optimisation (NCHWc layout on x86) and a fixed pool of intra-op threads (None: every usable core)."""
    from golf_rt.environment import cpu_cores

    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or cpu_cores()
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = True
    options.log_severity_level = 3
    return options


def _both_builds_installed() -> bool:
    """Both ONNX Runtime builds installed: they own one module, and the CPU build may hide the CUDA provider."""
    from golf_rt.environment import package_version

    return bool(package_version("onnxruntime") and package_version("onnxruntime-gpu"))


def provider_options(device: str) -> list:
    """The providers of `device` with golf-rt's options; TensorRT gets our profiles and its caches.

    The TensorRT provider builds from the ONNX file as it is (the fp16 files are already FP16, so
    no precision flag), with the engine profiles of `golf_rt.tensorrt_settings.DEFAULT_PROFILES`
    and engine and timing caches in golf-rt's cache folder.
    """
    from golf_rt.paths import cache_dir
    from golf_rt.tensorrt_settings import DEFAULT_PROFILES, tensorrt_ep_profile_options

    providers: list = list(PROVIDERS[device])
    if device == "tensorrt":
        folder = cache_dir() / "onnxruntime-tensorrt"
        options = {
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(folder / "engines"),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(folder / "timing"),
            "trt_fp16_enable": False,
            **tensorrt_ep_profile_options(INPUT_NAME, DEFAULT_PROFILES),
        }
        providers[0] = ("TensorrtExecutionProvider", options)
    return providers


def session_from_onnx(onnx_path: str | Path, device: str = "cpu", threads: int | None = None) -> Any:
    """An `onnxruntime.InferenceSession` on `onnx_path` with golf-rt's options, on `device`'s providers.

    On a GPU device the session must really run there: ONNX Runtime falls back to the CPU
    silently when a provider fails to load, so a session whose first provider is not the asked
    one is a BackendUnavailableError.
    """
    ort = _ort()
    wanted = PROVIDERS[device]
    mixed = (
        " (onnxruntime and onnxruntime-gpu are both installed and own the same module: "
        "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu)"
        if device != "cpu" and _both_builds_installed()
        else ""
    )
    if wanted[0] not in ort.get_available_providers():
        raise BackendUnavailableError(
            f"ONNX Runtime here has no {wanted[0]} (available: {', '.join(ort.get_available_providers())}); "
            f"install onnxruntime-gpu on a machine with an NVIDIA GPU{mixed}"
        )
    path = Path(onnx_path)
    providers = provider_options(device)
    try:
        session = ort.InferenceSession(str(path), session_options(threads), providers=providers)
    except (ort.capi.onnxruntime_pybind11_state.InvalidProtobuf, ort.capi.onnxruntime_pybind11_state.Fail) as exc:
        raise ModelFileError(f"{path} is not a readable ONNX model: {exc}") from exc
    check_model_io(
        path,
        [(i.name, len(i.shape)) for i in session.get_inputs()],
        [(o.name, len(o.shape)) for o in session.get_outputs()],
    )
    running = session.get_providers()
    if running[0] != wanted[0]:
        raise BackendUnavailableError(
            f"ONNX Runtime could not start {wanted[0]} for {path.name} and would run on {', '.join(running)}; "
            f"check the CUDA and cuDNN (and TensorRT) libraries: ONNX Runtime's log says which failed{mixed}"
        )
    return session


def session_precision(session: Any) -> str:
    """The precision a session's model was exported at, from its metadata ("fp32" when it does not say).

    The input's type cannot tell: the fp16 files keep FP32 inputs and outputs. It must be float32.
    """
    kind = session.get_inputs()[0].type
    if kind != "tensor(float)":
        raise ConfigurationError(f"the model's input is {kind}; golf-rt models take tensor(float)")
    return session.get_modelmeta().custom_metadata_map.get(META_PRECISION, "fp32")


class OnnxRuntimeRunner(Runner):
    """One InferenceSession on an ONNX file; the file's own precision (fp32 or fp16 ONNX) is the runner's.

    The session is loaded when the runner is made, since the file says the precision.
    """

    name = "onnxruntime"
    concurrent_calls = True  # InferenceSession.run is thread-safe

    def __init__(self, onnx_path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            raise ConfigurationError(f"ONNX file not found: {self.onnx_path}")
        if device not in PROVIDERS:
            raise ConfigurationError(f"unknown ONNX Runtime device {device!r}; choose one of {', '.join(PROVIDERS)}")
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be at least 1, got {threads}")
        self.device, self.threads = device, threads
        self._session = session_from_onnx(self.onnx_path, device, threads)
        super().__init__(session_precision(self._session), precisions_here().get(device, ()))

    def _activate(self) -> None:
        if self._session is None:
            self._session = session_from_onnx(self.onnx_path, self.device, self.threads)

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def _runtime_errors(self) -> tuple[type[BaseException], ...]:
        """ONNX Runtime's own exceptions derive from Exception, not RuntimeError."""
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        return (*super()._runtime_errors(), state.Fail, state.RuntimeException, state.EPFail, state.InvalidArgument)

    def _deactivate(self) -> None:
        self._session = None


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    onnx_path: str | Path | None = None,
    **options: Any,
) -> OnnxRuntimeRunner:
    """A runner on `onnx_path`, or on the checkpoint's ONNX file of `part` at `precision`."""
    path = onnx_path or find_onnx(part, iterations, checkpoint, fp16=precision == "fp16")
    runner = OnnxRuntimeRunner(path, **options)
    if runner.precision != precision:
        raise ConfigurationError(f"{path} is an {runner.precision} model, not {precision}")
    return runner
