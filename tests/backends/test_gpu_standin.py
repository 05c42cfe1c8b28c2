"""golf-rt's GPU code run against the CPU stand-in of the device (GOLF_RT_GPU_STANDIN=1).

Everything above `golf_rt.backends.gpu.door` is real: engine caches and sidecars, profile choice,
buffers, locks, threads, fallback, deactivation. Each test names the failure it guards against.
"""

import gc
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from golf_rt.artifacts.engines import BuildOptions, Profile, read_sidecar
from golf_rt.backends.gpu.door import gpu, standin_active
from golf_rt.errors import InferenceError, StandInError
from golf_rt.images.files import load_image, save_image
from golf_rt.machine.environment import installed
from golf_rt.machine.paths import shipped_models_dir
from tests.threads import results_from_threads

pytest.importorskip("onnxruntime", reason="the GPU stand-in runs engines with ONNX Runtime")
pytestmark = pytest.mark.gpu  # the GPU tier, run on the stand-in even where no GPU is (tests/conftest.py)

RNG = np.random.default_rng(3)
CUSTOM = (Profile((1, 3, 8, 8), (1, 3, 64, 64), (2, 3, 96, 96)),)
SMALL_AND_LARGE = (
    Profile((1, 3, 8, 8), (1, 3, 32, 32), (1, 3, 64, 64)),
    Profile((1, 3, 8, 8), (1, 3, 96, 96), (2, 3, 256, 256)),
)


def skip_where_tensorrt_is_installed() -> None:
    """There GOLF_RT_GPU_STANDIN=1 is ignored and the real device is used: these tests are the stand-in's."""
    if installed("tensorrt"):
        pytest.skip("TensorRT is installed here, so the GPU stand-in is never used (the real GPU tests run instead)")


@pytest.fixture
def standin(monkeypatch, tmp_path):
    skip_where_tensorrt_is_installed()
    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path / "cache"))
    device = gpu()
    assert device.name == "standin" and standin_active()
    yield device
    device.busy, device.memory_limit_bytes = False, 80 * 2**30


def photo(height: int, width: int) -> np.ndarray:
    return (RNG.random((height, width, 3)) * 255).astype(np.uint8)


def finished(target, timeout: float = 120) -> bool:
    """Run `target` in a thread: False when it is still running after `timeout` (a hang, not a failure)."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def test_tensorrt_deblurrer_deblurs_is_shared_by_threads_and_closes(standin):
    """The runner took its own lock inside the base class's: the first deblur and close() hung."""
    from golf_rt.deblur.deblurrer import Deblurrer

    image, results = photo(120, 160), {}
    deblurrer = Deblurrer(backend="tensorrt")
    assert finished(lambda: results.setdefault("first", deblurrer.deblur(image))), "deblur hung"
    assert deblurrer.backend == "tensorrt" and results["first"].shape == image.shape
    shared = results_from_threads(lambda: deblurrer.deblur(image))
    assert all(np.array_equal(result, results["first"]) for result in shared)
    assert finished(deblurrer.close), "close() hung"
    assert standin.allocated_bytes() == 0 and standin.pinned_bytes() == 0


def test_tensorrt_runner_matches_onnx_runtime_on_the_same_file(standin, onnx_files, blurry_batch, reference_output):
    from golf_rt.backends import TOLERANCE, create_runner
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files

    engines = engines_from_onnx_files({"fused": onnx_files["fused"]}, None, 3, BuildOptions("fp32", CUSTOM))
    with create_runner("tensorrt", precision="fp32", model_file=engines["fused"]) as runner:
        assert np.abs(runner.deblur(blurry_batch) - reference_output).max() <= TOLERANCE["fp32"]


def test_large_photos_go_through_in_tiles_within_the_one_profile(standin):
    from golf_rt.deblur.deblurrer import Deblurrer

    with Deblurrer(backend="tensorrt", tile=128) as deblurrer:
        profile = deblurrer.runner.profiles[0]
        calls = []
        run = deblurrer.runner.deblur
        deblurrer.runner.deblur = lambda batch, **checks: calls.append(batch.shape) or run(batch, **checks)
        out = deblurrer.deblur(photo(300, 520))
    assert out.shape == (300, 520, 3) and calls
    assert all(profile.accepts(shape) and shape[0] <= 4 for shape in calls)
    assert {shape[2:] for shape in calls} == {(128, 128)}, "one tile shape for TensorRT: its optimum, one CUDA graph"
    assert not deblurrer.tiling.even and Deblurrer("onnxruntime", tile=128).tiling.even


def test_auto_steps_down_when_the_gpu_is_held_by_another_process(standin, caplog):
    from golf_rt.deblur.deblurrer import Deblurrer

    standin.busy = True
    with caplog.at_level("WARNING"):
        deblurrer = Deblurrer()
    assert deblurrer.backend != "tensorrt" and "tensorrt could not start here" in caplog.text
    with pytest.raises(InferenceError, match="busy or unavailable"):
        Deblurrer(backend="tensorrt").deblur(photo(32, 32))  # named explicitly: no fallback


def test_auto_steps_down_when_the_context_does_not_fit_in_memory(standin, caplog):
    from golf_rt.deblur.deblurrer import Deblurrer

    standin.memory_limit_bytes = 64 << 20
    with caplog.at_level("WARNING"):
        deblurrer = Deblurrer()
    assert deblurrer.backend != "tensorrt" and "could not create an execution context" in caplog.text


def test_activation_memory_is_checked_as_tensorrt_does_at_the_context_and_at_a_profile_switch(standin):
    """The stand-in failed the build, sized by the largest profile: TensorRT builds, then the context fails."""
    from golf_rt.backends.gpu.standin import StandInDevice, profile_memory_estimate

    small, large = SMALL_AND_LARGE
    need = [profile_memory_estimate(p, "fp32") for p in (small, large)]
    device = StandInDevice(memory_limit_bytes=(need[0] + need[1]) // 2)
    plan, _ = device.build_plan(shipped_models_dir() / "f.onnx", (small, large), 4096, False, b"")  # builds
    engine = device.load_engine(plan, False)
    with pytest.raises(InferenceError, match="could not create an execution context.*out of memory"):
        device.create_context(engine, strategy="STATIC")  # sized by the largest profile
    context, stream = device.create_context(engine), device.create_stream()  # ON_PROFILE_CHANGE: profile 0's size
    assert device.activation_bytes() == need[0]
    assert not context.set_optimization_profile_async(1, stream), "profile 1's memory does not fit"
    assert context.set_optimization_profile_async(0, stream) and device.activation_bytes() == need[0]
    with pytest.raises(InferenceError, match="out of memory"):
        device.malloc(device.memory_limit_bytes - need[0] + 1)  # buffers and activations share the memory
    del context
    assert device.activation_bytes() == 0, "a context's memory goes with it"
    device.memory_limit_bytes = need[0] - 1
    with pytest.raises(InferenceError, match="could not create an execution context"):
        device.create_context(engine)
    with pytest.raises(StandInError, match="USER_MANAGED"):
        device.create_context(engine, strategy="USER_MANAGED")


def test_the_runner_reports_a_profile_whose_memory_does_not_fit(standin):
    from golf_rt.backends.gpu.standin import profile_memory_estimate
    from golf_rt.backends.tensorrt.runner import TensorRTRunner

    small, large = SMALL_AND_LARGE
    plan, _ = standin.build_plan(shipped_models_dir() / "f.onnx", (small, large), 64, False, b"")
    gc.collect()  # contexts of earlier tests, if any, give their memory back
    standin.memory_limit_bytes = standin.allocated_bytes() + profile_memory_estimate(small, "fp32") + (8 << 20)
    with TensorRTRunner(standin.load_engine(plan, False), profiles=(small, large)) as runner:
        assert runner.deblur(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 3, 32, 32)
        with pytest.raises(InferenceError, match="refused optimization profile 1"):
            runner.deblur(np.zeros((1, 3, 96, 96), np.float32))


def test_engines_built_with_other_profiles_are_used_not_rebuilt(standin):
    """build-engine --profile wrote the cache's one file; the next runner rebuilt it with the defaults."""
    from golf_rt.artifacts.supply import ensure_onnx, plan_file
    from golf_rt.backends import create_runner
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files

    built = engines_from_onnx_files({"fused": ensure_onnx("fused", 3)}, None, 3, BuildOptions("fp32", CUSTOM))
    stamp = built["fused"].stat().st_mtime_ns
    assert plan_file("fused", 3, None, "fp32") == built["fused"]
    assert create_runner("tensorrt", precision="fp32", iterations=3).profiles == CUSTOM
    assert built["fused"].stat().st_mtime_ns == stamp
    default = plan_file("fused", 3, None, "fp32", BuildOptions("fp32"))
    assert default != built["fused"] and built["fused"].is_file()  # side by side


def test_sidecar_records_device_memory_per_profile(standin, onnx_files, tmp_path):
    from golf_rt.backends.tensorrt.loader import engine_from_onnx

    two = (*CUSTOM, Profile((1, 3, 8, 8), (1, 3, 128, 128), (1, 3, 256, 256)))
    engine = engine_from_onnx(onnx_files["f"], tmp_path / "f_fp32.plan", BuildOptions("fp32", two))
    memory = read_sidecar(engine).profile_memory_bytes
    assert len(memory) == 2 and 0 < memory[0] < memory[1]
    assert read_sidecar(engine).context_memory_bytes == memory[1]


def test_a_failed_host_allocation_frees_its_device_half(standin, monkeypatch):
    from golf_rt.backends.tensorrt.runner import _Buffer

    def no_pinned_memory(nbytes):
        raise InferenceError("CUDA error: out of memory")

    monkeypatch.setattr(standin, "malloc_host", no_pinned_memory)
    buffer = _Buffer(standin)
    with pytest.raises(InferenceError, match="out of memory"):
        buffer.reserve(1 << 20)
    assert standin.allocated_bytes() == 0 and buffer.capacity == 0


def test_the_standin_fails_loudly_on_what_it_does_not_model(standin, onnx_files, tmp_path):
    from golf_rt.backends.tensorrt.loader import engine_from_onnx, engine_from_path

    path = engine_from_onnx(onnx_files["f"], tmp_path / "f_fp32.plan", BuildOptions("fp32", CUSTOM))
    engine = engine_from_path(path, read_sidecar(path))
    with pytest.raises(StandInError, match="does not model StandInEngine.create_engine_inspector"):
        engine.create_engine_inspector()
    context, stream = standin.create_context(engine), standin.create_stream()
    assert context.set_input_shape("BLURRY", (1, 3, 64, 64)) and not context.set_input_shape("BLURRY", (1, 3, 97, 8))
    with pytest.raises(StandInError, match="without an address"):
        context.execute_async_v3(stream)
    host = standin.malloc_host(64)
    with pytest.raises(StandInError, match="not device memory"):
        context.set_tensor_address("BLURRY", host)  # a host pointer would crash a GPU kernel
    context._running.acquire()
    with pytest.raises(StandInError, match="two threads at once"):
        context.execute_async_v3(stream)


def test_provider_options_onnx_runtime_does_not_document_are_refused(standin, monkeypatch):
    """The stand-in took any option: a misspelt one (which ONNX Runtime refuses) passed CI."""
    from golf_rt.backends.onnxruntime.loader import provider_options, session_options

    monkeypatch.setenv("NVIDIA_TF32_OVERRIDE", "0")  # fp32 on the TensorRT provider: see the TF32 test
    f = shipped_models_dir() / "f.onnx"
    for device in ("cuda", "tensorrt"):  # golf-rt's own options are documented ones
        assert standin.onnxruntime_session(f, session_options(1), provider_options(device)).get_providers()
    wrong = {
        "trt_tf32_enable": [("TensorrtExecutionProvider", {"trt_tf32_enable": "0"}), "CPUExecutionProvider"],
        "cudnn_conv_algo": [("CUDAExecutionProvider", {"cudnn_conv_algo": "EXHAUSTIVE"}), "CPUExecutionProvider"],
        "ROCMExecutionProvider": ["ROCMExecutionProvider", "CPUExecutionProvider"],
    }
    for name, providers in wrong.items():
        with pytest.raises(StandInError, match=name):
            standin.onnxruntime_session(f, session_options(1), providers)


def test_fp32_on_the_tensorrt_provider_is_refused_unless_tf32_is_off_for_the_process(standin, monkeypatch):
    """The provider's engines compute fp32 files in TF32 (TensorRT's default); only NVIDIA_TF32_OVERRIDE=0 stops it."""
    from golf_rt.backends.onnxruntime.loader import provider_options, session_from_onnx, session_options
    from golf_rt.errors import BackendUnavailableError

    monkeypatch.delenv("NVIDIA_TF32_OVERRIDE", raising=False)
    f = shipped_models_dir() / "f.onnx"
    with pytest.raises(BackendUnavailableError, match="TF32.*NVIDIA_TF32_OVERRIDE=0"):
        session_from_onnx(f, "tensorrt")
    with pytest.raises(StandInError, match="TF32.*NVIDIA_TF32_OVERRIDE=0"):  # below the loader too
        standin.onnxruntime_session(f, session_options(1), provider_options("tensorrt"))
    assert session_from_onnx(f, "cuda").get_providers()[0] == "CUDAExecutionProvider"  # use_tf32=0 per session
    monkeypatch.setenv("NVIDIA_TF32_OVERRIDE", "0")
    assert session_from_onnx(f, "tensorrt").get_providers()[0] == "TensorrtExecutionProvider"


def test_the_standin_tests_are_in_the_gpu_tier_and_run_without_a_gpu(standin, request):
    """`-m gpu` left them out: the GPU tier on the stand-in ran ten tests, and none of these."""
    assert request.node.get_closest_marker("gpu") is not None
    assert request.node.get_closest_marker("skip") is None, "they need no GPU: the stand-in is their device"


def test_where_tensorrt_is_installed_the_standin_tests_skip_with_the_reason(standin, monkeypatch):
    """They errored there instead: the fixture asserted that the stand-in was in use."""
    monkeypatch.setattr(sys.modules[__name__], "installed", lambda module: module == "tensorrt")
    with pytest.raises(pytest.skip.Exception, match="TensorRT is installed here"):
        skip_where_tensorrt_is_installed()


def test_where_tensorrt_is_installed_the_standin_is_never_used(standin, monkeypatch):
    monkeypatch.setattr("golf_rt.backends.gpu.door.installed", lambda module: module == "tensorrt")
    assert not standin_active()


@pytest.mark.slow
def test_cli_deblurs_a_large_photo_on_tensorrt_and_falls_back_for_whole_images(standin, tmp_path):
    """`golf-rt deblur` skipped Deblurrer's fallback: a whole image outside the engine's profile failed."""
    save_image(tmp_path / "in" / "large.jpg", photo(700, 1000))  # 2 x 3 tiles of the engine's profile
    save_image(tmp_path / "in2" / "whole.png", photo(600, 700))
    env = {**os.environ, "GOLF_RT_GPU_STANDIN": "1"}
    command = [
        sys.executable,
        "-m",
        "golf_rt.cli",
        "deblur",
        "--precision",
        "fp32",
    ]  # fp16 is slow on ONNX Runtime's CPU
    done = subprocess.run([*command, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--backend", "tensorrt"],
                          capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert load_image(tmp_path / "out" / "large.jpg").shape == (700, 1000, 3) and "tensorrt" in done.stdout
    done = subprocess.run([*command, str(tmp_path / "in2"), "-o", str(tmp_path / "out2"), "--tile", "0"],
                          capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert load_image(tmp_path / "out2" / "whole.png").shape == (600, 700, 3)
    assert "outside every optimization profile" in done.stderr
