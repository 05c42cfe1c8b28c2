"""What this machine can run: inference libraries, devices and CPU features.

Probing imports a library only when it is installed, and never fails: a broken install is
reported as unavailable with its reason.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
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
        "cpu": {"name": cpu_name(), "cores": cpu_cores(), "native_bf16": cpu_has_native_bf16()},
        "cuda_devices": cuda_device_count(),
        "backends": backends(),
    }
