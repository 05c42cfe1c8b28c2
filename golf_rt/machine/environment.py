"""Facts about this machine: CPU model, features and peak rates, GPUs, installed versions.

Nothing here imports an inference library; which backend and precision can run here is asked of
the backends themselves (`golf_rt.backends.backends_here`).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from golf_rt.catalog import DISTRIBUTIONS


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def package_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def first_package_version(distributions: Iterable[str]) -> str | None:
    """The version of the first of `distributions` installed here (one library published under several names)."""
    return next(filter(None, map(package_version, distributions)), None)


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ({} where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_flags() -> frozenset[str]:
    return frozenset(_cpuinfo().get("flags", "").split())


def cpu_name() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: where bf16 inference is faster, not emulated."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_clock_ghz() -> float | None:
    """The cores' clock: $GOLF_RT_CPU_GHZ, else cpufreq's maximum where exposed, else /proc/cpuinfo's "cpu MHz".

    A virtual machine often shows only the nominal clock in "cpu MHz" while its cores run at
    turbo; a fraction of peak above 100% says so, and GOLF_RT_CPU_GHZ sets the real clock.
    """
    try:
        return float(os.environ["GOLF_RT_CPU_GHZ"])
    except (KeyError, ValueError):
        pass
    try:
        return int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1e6
    except (OSError, ValueError):
        pass
    try:
        return float(_cpuinfo()["cpu MHz"]) / 1e3
    except (KeyError, ValueError):
        return None


def _vector_lanes_fp32() -> int:
    """fp32 lanes of one FMA pipe: 16 with AVX-512, except on AMD Zen 4 (family 25): two 256-bit halves."""
    flags, info = cpu_flags(), _cpuinfo()
    zen4 = info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
    if "avx512f" in flags and not zen4:
        return 16
    return 8 if {"avx2", "fma"} <= flags else 4


FMA_PIPES = 2
"""FMA pipes per core: two on every x86 server core of the last decade (Skylake-SP, Zen 2..5)."""


def cpu_peak_per_cycle() -> dict[str, int]:
    """Peak operations per cycle and core, by precision (2 per multiply-accumulate).

    - fp32: lanes x FMA_PIPES x 2 (AVX-512: 16 lanes, AVX2: 8);
    - bf16: AMX-BF16 tiles 1,024; else AVX512-BF16 (VDPBF16PS: two bf16 products per fp32
      lane) twice fp32; absent without native bf16;
    - int8: AMX-INT8 tiles 2,048; else VNNI (VPDPBUSD: four int8 products per 32-bit lane)
      four times fp32, AVX-512 VNNI at the AVX-512 width, AVX-VNNI at 256 bits.
    """
    flags = cpu_flags()
    fp32 = _vector_lanes_fp32() * FMA_PIPES * 2
    rates = {"fp32": fp32}
    if "amx_bf16" in flags:
        rates["bf16"] = 1024
    elif "avx512_bf16" in flags:
        rates["bf16"] = 2 * fp32
    if "amx_int8" in flags:
        rates["int8"] = 2048
    elif "avx512_vnni" in flags:
        rates["int8"] = 4 * fp32
    elif "avx_vnni" in flags:
        rates["int8"] = 4 * 8 * FMA_PIPES * 2
    return rates


def cpu_peak_gflops() -> dict[str, float]:
    """Peak GFLOP/s (int8: GOP/s) of the cores this process may use, by precision; {} without a known clock.

    cores (the process's affinity) x clock (`cpu_clock_ghz`) x operations per cycle
    (`cpu_peak_per_cycle`). It is an upper bound: all-core turbo, memory and the network's shapes
    decide how much of it a model reaches, so a speed reads as a fraction of this peak.
    """
    clock = cpu_clock_ghz()
    if clock is None:
        return {}
    return {name: round(cpu_cores() * clock * ops, 1) for name, ops in cpu_peak_per_cycle().items()}


def cpu_peak_basis() -> str:
    """How `cpu_peak_gflops` was derived here, in one line."""
    clock = cpu_clock_ghz()
    per_cycle = ", ".join(f"{name} {ops}" for name, ops in cpu_peak_per_cycle().items())
    clock_text = f"{clock:.2f} GHz" if clock else "unknown clock"
    return f"{cpu_cores()} cores x {clock_text} x FLOP/cycle/core ({per_cycle})"


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
    """The processor as a benchmark result records it: model name, usable cores and their peak GFLOP/s."""
    return {
        "name": cpu_name(),
        "cores": cpu_cores(),
        "native_bf16": cpu_has_native_bf16(),
        "peak_gflops": cpu_peak_gflops(),
    }


def device_name(on_gpu: bool) -> str:
    """The name of the device a computation runs on: the first GPU's, or the CPU's with its core count."""
    if on_gpu and gpus():
        return gpus()[0]["name"]
    return f"{cpu_name()} ({cpu_cores()} cores)"


SOFTWARE = ("golf-rt", *DISTRIBUTIONS, "tritonclient", "nvidia-pytriton", "numpy")


def software_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries a measurement depends on."""
    versions = {"python": platform.python_version()}
    for distribution in SOFTWARE:
        found = package_version(distribution)
        if found:
            versions[distribution] = found
    return versions


def describe() -> dict:
    """The machine in one dictionary: CPU (with its peak rates) and GPUs.

    What can run here is not decided here: `golf_rt.backends.backends_here` asks each backend.
    """
    return {
        "cpu": {**cpu_identity(), "peak_basis": cpu_peak_basis()},
        "gpus": list(gpus()),
        "cuda_devices": cuda_device_count(),
    }


TF32_OVERRIDE = "NVIDIA_TF32_OVERRIDE"


def tf32_off_in_this_process() -> bool:
    """NVIDIA_TF32_OVERRIDE=0: cuBLAS, cuDNN and TensorRT leave TF32 off, whatever a library asks for.

    It is the only switch for the engines ONNX Runtime's TensorRT provider builds (TensorRT turns
    TF32 on by default and the provider has no option for it). The libraries read it when they
    start, so it must be in the environment the process starts with.
    """
    return os.environ.get(TF32_OVERRIDE, "").strip() == "0"
