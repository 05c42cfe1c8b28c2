"""ONNX Runtime's loader: an `InferenceSession` on one of the ONNX files, on the CPU or on CUDA / TensorRT.

`session_from_onnx` makes a checked session with golf-rt's options; the CUDA and TensorRT
providers need onnxruntime-gpu and a GPU. `precisions_here()` says which devices this build has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golf_rt.artifacts.names import check_file_precision, existing_onnx, file_precision
from golf_rt.backends.base import check_model_io
from golf_rt.backends.gpu.door import gpu, gpu_visible, standin_active
from golf_rt.catalog import backend_record
from golf_rt.contract import INPUT_NAME
from golf_rt.errors import BackendUnavailableError, ModelFileError
from golf_rt.machine.environment import TF32_OVERRIDE, installed, tf32_off_in_this_process
from golf_rt.machine.extras import require

if TYPE_CHECKING:
    from golf_rt.backends.onnxruntime.runner import OnnxRuntimeOptions

PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}
PRECISIONS_BY_DEVICE = backend_record("onnxruntime").precisions
"""fp32 ONNX files everywhere, and the fp16 ones (FP32 I/O and image statistics)."""


def _ort() -> Any:
    return require("onnxruntime", "the ONNX Runtime runner")


def precisions_here() -> dict[str, tuple[str, ...]]:
    """The devices whose execution provider this ONNX Runtime build has, with the precisions of our ONNX files.

    onnxruntime-gpu lists its CUDA and TensorRT providers on any machine: they count only where a
    GPU is visible (or stood in for, GOLF_RT_GPU_STANDIN=1, which provides both).
    """
    if not installed("onnxruntime"):
        return {}
    providers = set(_ort().get_available_providers())
    if standin_active():
        providers |= {PROVIDERS["cuda"][0], PROVIDERS["tensorrt"][0]}
    elif not gpu_visible():
        providers &= {PROVIDERS["cpu"][0]}
    return {device: PRECISIONS_BY_DEVICE[device] for device, wanted in PROVIDERS.items() if wanted[0] in providers}


def session_options(threads: int | None = None) -> Any:
    """Full graph optimisation (NCHWc layout on x86) and a fixed pool of intra-op threads (None: every usable core)."""
    from golf_rt.machine.environment import cpu_cores

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
    from golf_rt.machine.environment import package_version

    return bool(package_version("onnxruntime") and package_version("onnxruntime-gpu"))


def provider_cache_dir() -> Path:
    """The TensorRT provider's engine and timing caches: one folder per ONNX Runtime, TensorRT and GPU.

    The provider's engines and timings are valid for those only, and it creates just the last
    level of a cache path, so the folder is made here before a session starts.
    """
    from golf_rt.machine.environment import first_package_version, gpus
    from golf_rt.machine.paths import cache_dir

    versions = [f"ort{_ort().__version__}"]
    versions.append(f"trt{first_package_version(backend_record('tensorrt').distributions) or 'none'}")
    found = gpus()
    name = "standin" if standin_active() else (found[0]["name"] if found else "gpu")
    key = re.sub(r"[^a-z0-9.]+", "-", "-".join([*versions, name]).lower()).strip("-")
    return cache_dir() / "onnxruntime-tensorrt" / key


def provider_options(device: str) -> list:
    """The providers of `device` with golf-rt's options; TensorRT gets our profiles and its caches.

    fp32 means fp32: TF32 off on the CUDA provider (`use_tf32`, on by default for convolutions on
    Ampere and later; the fp16 files keep their image statistics in fp32, which stay exact too).
    The TensorRT provider has no such option: `session_from_onnx` runs fp32 on it only in a process
    started with NVIDIA_TF32_OVERRIDE=0.
    The TensorRT provider builds from the ONNX file
    as it is (the fp16 files are already FP16), with the engine profiles of
    `golf_rt.artifacts.engines.DEFAULT_PROFILES` and caches in `provider_cache_dir()`.
    """
    from golf_rt.artifacts.engines import DEFAULT_PROFILES, tensorrt_ep_profile_options

    providers: list = list(PROVIDERS[device])
    if device in ("cuda", "tensorrt"):
        cuda = providers.index("CUDAExecutionProvider")
        providers[cuda] = ("CUDAExecutionProvider", {"use_tf32": "0"})
    if device == "tensorrt":
        folder = provider_cache_dir()
        (folder / "engines").mkdir(parents=True, exist_ok=True)
        (folder / "timing").mkdir(parents=True, exist_ok=True)
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

    The model is checked: `BLURRY` in, `SHARP` out, float32, the precision its file name says.

    On a GPU device the session is made through the GPU door (`golf_rt.backends.gpu.door`) and
    must really run there: ONNX Runtime falls back to the CPU silently when a provider fails to
    load, so a session whose first provider is not the asked one is a BackendUnavailableError. A
    provider that fails to start is reported as such, not as an unreadable file.
    """
    ort = _ort()
    wanted = PROVIDERS[device]
    mixed = (
        " (onnxruntime and onnxruntime-gpu are both installed and own the same module: "
        "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu)"
        if device != "cpu" and _both_builds_installed()
        else ""
    )
    if device not in precisions_here():
        raise BackendUnavailableError(
            f"ONNX Runtime here has no {wanted[0]} on a GPU (available: {', '.join(ort.get_available_providers())}, "
            f"GPU visible: {gpu_visible()}); install onnxruntime-gpu on a machine with an NVIDIA GPU{mixed}"
        )
    path = existing_onnx(onnx_path)
    if device == "tensorrt" and file_precision(path) == "fp32" and not tf32_off_in_this_process():
        raise BackendUnavailableError(
            f"fp32 on ONNX Runtime's TensorrtExecutionProvider would be TF32 (TensorRT's default; the provider has no "
            f"option to turn it off): start the process with {TF32_OVERRIDE}=0, or use fp16, or the 'cuda' device"
        )
    state = ort.capi.onnxruntime_pybind11_state
    try:
        if device == "cpu":
            session = ort.InferenceSession(str(path), session_options(threads), providers=provider_options(device))
        else:
            session = gpu().onnxruntime_session(path, session_options(threads), provider_options(device))
    except (state.InvalidProtobuf, state.InvalidGraph, state.NoSuchFile) as exc:
        raise ModelFileError(f"{path} is not a readable ONNX model: {exc}") from exc
    except (state.Fail, state.EPFail, state.RuntimeException) as exc:
        if device == "cpu":
            raise ModelFileError(f"{path} is not a readable ONNX model: {exc}") from exc
        why = f"ONNX Runtime could not start {wanted[0]} for {path.name}: {exc}{mixed}"
        raise BackendUnavailableError(why) from exc
    check_model_io(
        path,
        [(i.name, len(i.shape)) for i in session.get_inputs()],
        [(o.name, len(o.shape)) for o in session.get_outputs()],
    )
    check_session_model(path, session)
    running = session.get_providers()
    if running[0] != wanted[0]:
        raise BackendUnavailableError(
            f"ONNX Runtime could not start {wanted[0]} for {path.name} and would run on {', '.join(running)}; "
            f"check the CUDA and cuDNN (and TensorRT) libraries: ONNX Runtime's log says which failed{mixed}"
        )
    return session


def check_session_model(path: Path, session: Any) -> None:
    """The session's model takes float32 (the fp16 files too) and holds the precision its file name says."""
    kind = session.get_inputs()[0].type
    if kind != "tensor(float)":
        raise ModelFileError(f"{path.name}: the model's input is {kind}; golf-rt models take tensor(float)")
    check_file_precision(path, session.get_modelmeta().custom_metadata_map)


def precisions_of_file(onnx_path: str | Path) -> tuple[str, ...]:
    """What one ONNX file runs at here: the precision its name says (fp32, fp16)."""
    return (file_precision(onnx_path),)


def runner_keywords(onnx_path: str | Path) -> dict[str, Any]:
    """What the runner must know before a session is made: the profiles the TensorRT provider builds for."""
    from golf_rt.artifacts.engines import DEFAULT_PROFILES

    return {"provider_profiles": DEFAULT_PROFILES}


def loader_of(
    onnx_path: str | Path, *, part: str, iterations: int, device: str, options: OnnxRuntimeOptions
) -> Callable[[], Any]:
    """The loader `create_runner` hands the runner: a session on `onnx_path` (which holds `part` and `iterations`)."""
    return partial(session_from_onnx, existing_onnx(onnx_path), device, options.threads)
