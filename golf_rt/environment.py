"""What this machine can run: inference libraries, devices and CPU features.

Probing imports a library only when it is installed, and never fails: a broken install is
reported as unavailable with its reason.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def package_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@lru_cache(maxsize=1)
def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: where bf16 inference is faster, not emulated."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@lru_cache(maxsize=1)
def cuda_device_count() -> int:
    """NVIDIA GPUs visible through the driver (libcuda), without torch or pycuda."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def _nvml_gpus() -> list[dict]:
    """Each GPU's name, memory and driver through NVML (libnvidia-ml), or [] without it."""
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return []
    if nvml.nvmlInit_v2() != 0:
        return []
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return []
        driver = ctypes.create_string_buffer(96)
        nvml.nvmlSystemGetDriverVersion(driver, 96)
        gpus = []
        for index in range(count.value):
            handle, name = ctypes.c_void_p(), ctypes.create_string_buffer(96)
            memory = (ctypes.c_ulonglong * 3)()  # total, free, used
            if nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) != 0:
                continue
            nvml.nvmlDeviceGetName(handle, name, 96)
            nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory))
            gpus.append(
                {
                    "name": name.value.decode(),
                    "memory_gib": round(memory[0] / 2**30, 1),
                    "driver": driver.value.decode(),
                }
            )
        return gpus
    finally:
        nvml.nvmlShutdown()


def _cuda_driver_gpus() -> list[dict]:
    """Each GPU's name through the CUDA driver (libcuda), when NVML is missing."""
    if not cuda_device_count():
        return []
    cuda = ctypes.CDLL("libcuda.so.1")
    gpus = []
    for index in range(cuda_device_count()):
        device, name = ctypes.c_int(0), ctypes.create_string_buffer(256)
        if cuda.cuDeviceGet(ctypes.byref(device), index) == 0 and cuda.cuDeviceGetName(name, 256, device) == 0:
            gpus.append({"name": name.value.decode()})
    return gpus


@lru_cache(maxsize=1)
def gpus() -> tuple[dict, ...]:
    """The NVIDIA GPUs here (name, and memory and driver where NVML answers); () on a CPU-only machine.

    NVML first, then the CUDA driver, then torch.cuda when torch is already imported: no
    library is imported just to name a device.
    """
    found = _nvml_gpus() or _cuda_driver_gpus()
    if not found and "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        torch = sys.modules["torch"]
        found = [{"name": torch.cuda.get_device_name(i)} for i in range(torch.cuda.device_count())]
    return tuple(found)


def cpu_identity() -> dict:
    """The processor as a benchmark result records it: model name and usable cores."""
    return {"name": cpu_name(), "cores": cpu_cores(), "native_bf16": cpu_has_native_bf16()}


def device_name(on_gpu: bool) -> str:
    """The name of the device a computation runs on: the first GPU's, or the CPU's with its core count."""
    if on_gpu and gpus():
        return gpus()[0]["name"]
    return f"{cpu_name()} ({cpu_cores()} cores)"


SOFTWARE = (
    "golf-rt",
    "torch",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "tensorrt",
    "tritonclient",
    "nvidia-pytriton",
    "numpy",
)


def software_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries a measurement depends on."""
    versions = {"python": platform.python_version()}
    for distribution in SOFTWARE:
        found = package_version(distribution)
        if found:
            versions[distribution] = found
    return versions


def backends() -> dict[str, dict]:
    """Each inference backend golf-rt knows: installed version and usable devices."""
    report: dict[str, dict] = {}
    torch_version = package_version("torch")
    report["torch"] = {"version": torch_version, "devices": ["cpu"] if torch_version else []}
    if torch_version and cuda_device_count():
        report["torch"]["devices"].append("cuda")
    ort_version = package_version("onnxruntime") or package_version("onnxruntime-gpu")
    report["onnxruntime"] = {"version": ort_version, "devices": []}
    if ort_version:
        try:
            import onnxruntime

            report["onnxruntime"]["devices"] = onnxruntime.get_available_providers()
        except ImportError as exc:
            report["onnxruntime"]["error"] = str(exc)
    ov_version = package_version("openvino")
    report["openvino"] = {"version": ov_version, "devices": []}
    if ov_version:
        try:
            import openvino

            report["openvino"]["devices"] = list(openvino.Core().available_devices)
        except Exception as exc:  # OpenVINO raises plain RuntimeError on broken plugins
            report["openvino"]["error"] = str(exc)
    trt_version = package_version("tensorrt") or package_version("tensorrt-cu12") or package_version("tensorrt-cu13")
    report["tensorrt"] = {"version": trt_version, "devices": ["cuda"] if trt_version and cuda_device_count() else []}
    return report


def describe() -> dict:
    """The machine in one dictionary: CPU, GPUs and backends."""
    return {
        "cpu": cpu_identity(),
        "gpus": list(gpus()),
        "cuda_devices": cuda_device_count(),
        "backends": backends(),
    }
