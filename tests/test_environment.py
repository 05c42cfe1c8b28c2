import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

import pytest

from golf_rt.machine import environment


def _proc_cpuinfo_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as handle:
            return next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
    except OSError:
        return None


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def test_cpu_identity_names_this_processor_and_its_usable_cores():
    identity = environment.cpu_identity()
    expected = _proc_cpuinfo_model() or platform.processor() or platform.machine()
    assert identity["name"] == expected and identity["name"]
    assert identity["cores"] == len(os.sched_getaffinity(0))
    assert identity["native_bf16"] == environment.cpu_has_native_bf16()


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("fpu sse2 avx avx2 fma", False),  # AMD Zen 3: bf16 only emulated
        ("fpu sse2 avx avx2 fma avx512f avx512_bf16", True),  # AMD Zen 4, Intel Cooper Lake
        ("fpu sse2 avx avx2 avx512f amx_bf16 amx_tile", True),  # Intel Sapphire Rapids
    ],
    ids=["avx2", "avx512-bf16", "amx"],
)
def test_bf16_is_native_and_offered_only_where_the_cpu_has_it(monkeypatch, flags, native):
    monkeypatch.setattr(environment, "_cpuinfo", lambda: {"model name": "a CPU", "flags": flags})
    assert environment.cpu_has_native_bf16() is native
    assert environment.cpu_identity()["native_bf16"] is native
    if environment.installed("openvino"):
        from golf_rt.backends.openvino.loader import precisions_here

        assert ("bf16" in precisions_here()["cpu"]) is native


@pytest.mark.gpu
@pytest.mark.skipif(not environment.cuda_device_count(), reason="needs a real NVIDIA GPU (the stand-in has no driver)")
def test_gpus_agree_with_the_cuda_driver():
    gpus = environment.gpus()
    assert isinstance(gpus, tuple) and gpus, "the CUDA driver sees a GPU: gpus() must name it"
    assert len(gpus) == environment.cuda_device_count()
    assert all(gpu["name"] for gpu in gpus)


def test_device_name_is_the_cpu_with_its_cores_when_not_on_a_gpu():
    name = environment.device_name(on_gpu=False)
    assert name == f"{environment.cpu_name()} ({environment.cpu_cores()} cores)"
    if not environment.gpus():
        assert environment.device_name(on_gpu=True) == name


@pytest.mark.gpu
@pytest.mark.skipif(not environment.cuda_device_count(), reason="needs a real NVIDIA GPU (the stand-in has no driver)")
def test_device_name_on_a_gpu_is_the_gpu_torch_sees():
    if not environment.cuda_device_count():
        pytest.skip("no NVIDIA GPU here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    assert environment.device_name(on_gpu=True) == torch.cuda.get_device_name(0)
    assert environment.gpus()[0]["memory_gib"] > 1


def test_software_versions_are_the_installed_ones():
    versions = environment.software_versions()
    assert versions["python"] == platform.python_version()
    assert versions["numpy"] == version("numpy")
    for distribution in environment.SOFTWARE:  # tensorrt too: its version where installed, absent where not
        assert versions.get(distribution) == _installed_version(distribution), distribution
    assert {"golf-rt", "numpy"} <= versions.keys()


def test_peak_rates_follow_the_cpu_flags_and_the_clock():
    flags, per_cycle = environment.cpu_flags(), environment.cpu_peak_per_cycle()
    assert per_cycle["fp32"] in (16, 32, 64)
    assert ("bf16" in per_cycle) == environment.cpu_has_native_bf16()
    if "avx512_bf16" in flags and "amx_bf16" not in flags:
        assert per_cycle["bf16"] == 2 * per_cycle["fp32"]
    assert ("int8" in per_cycle) == bool({"avx512_vnni", "avx_vnni", "amx_int8"} & flags)
    clock = environment.cpu_clock_ghz()
    if clock is None:
        pytest.skip("no clock in cpufreq or /proc/cpuinfo")
    peaks = environment.cpu_peak_gflops()
    assert peaks["fp32"] == round(environment.cpu_cores() * clock * per_cycle["fp32"], 1)
    assert f"{environment.cpu_cores()} cores" in environment.cpu_peak_basis()


def test_describe_lists_the_gpus_and_imports_no_inference_library():
    code = (
        "import sys, golf_rt.machine.environment as e; e.describe(); e.gpus(); "
        "print(sorted(m for m in ('torch', 'tensorrt') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    described = environment.describe()
    assert described["gpus"] == list(environment.gpus())
    assert described["cpu"]["peak_gflops"] == environment.cpu_peak_gflops()


def test_first_package_version_is_that_of_the_first_name_installed():
    """One library under several names (tensorrt-cu13, tensorrt): the first installed one answers."""
    assert environment.first_package_version(("no-such-distribution", "numpy", "pytest")) == version("numpy")
    assert environment.first_package_version(("no-such-distribution",)) is None
