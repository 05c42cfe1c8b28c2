import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from golf_rt.contract import TOLERANCE
from golf_rt.errors import BackendUnavailableError, ConfigurationError, ModelFileError

pytest.importorskip("onnxruntime")

from golf_rt.backends import create_runner  # noqa: E402
from golf_rt.backends.onnxruntime.loader import session_from_onnx  # noqa: E402
from golf_rt.backends.onnxruntime.runner import OnnxRuntimeOptions, OnnxRuntimeRunner  # noqa: E402


def test_session_is_tuned():
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime.loader import session_options

    options = session_options(threads=1)
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.intra_op_num_threads == 1


def test_precision_comes_from_the_file(onnx_files, tmp_path):
    from golf_rt.artifacts.export import fp16_onnx_from_onnx

    fp16 = fp16_onnx_from_onnx(onnx_files["g"], tmp_path / "g_fp16.onnx")
    assert create_runner("onnxruntime", model_file=onnx_files["g"]).precision == "fp32"
    assert create_runner("onnxruntime", model_file=fp16).precision == "fp16"
    with pytest.raises(ConfigurationError, match="g_fp16.onnx runs at fp16, not fp32"):
        create_runner("onnxruntime", precision="fp32", model_file=fp16)


def test_a_runner_runs_the_session_it_is_handed(onnx_files, blurry_batch):
    """No file, no loader: a session made elsewhere, as a test or a caller with its own options would."""
    session = session_from_onnx(onnx_files["g"])
    with OnnxRuntimeRunner(session) as runner:
        assert runner._session is session and runner.deblur(blurry_batch).shape == blurry_batch.shape


def test_bad_options_are_named(onnx_files, tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        create_runner("onnxruntime", model_file=tmp_path / "missing.onnx")
    with pytest.raises(ConfigurationError, match="choose one of"):
        create_runner("onnxruntime", model_file=onnx_files["g"], device="tpu")
    with pytest.raises(ConfigurationError, match="choose one of"):
        OnnxRuntimeRunner(None, device="tpu")
    with pytest.raises(ConfigurationError, match="at least 1"):
        OnnxRuntimeOptions(threads=0)
    with pytest.raises(ConfigurationError, match="takes OnnxRuntimeOptions, not TorchOptions"):
        from golf_rt.backends.torch.runner import TorchOptions

        create_runner("onnxruntime", options=TorchOptions())


def test_gpu_provider_missing_is_explained(onnx_files):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA")
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        OnnxRuntimeRunner(lambda: session_from_onnx(onnx_files["g"], "cuda"), device="cuda").activate()


def test_precision_is_read_without_the_onnx_package(onnx_files):
    """onnx is not in the cpu and serve extras: the name says the precision, the session's metadata confirms it."""
    code = (
        "import sys; from golf_rt.backends import create_runner; "
        f"runner = create_runner('onnxruntime', model_file={str(onnx_files['g'])!r}).activate(); "
        "print(runner.precision, 'onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["fp32", "False"]


def test_precisions_here_are_the_providers_of_this_build():
    import onnxruntime as ort

    from golf_rt.backends.gpu.door import gpu_visible
    from golf_rt.backends.onnxruntime.loader import precisions_here

    here = precisions_here()
    assert here["cpu"] == ("fp32", "fp16")
    assert ("cuda" in here) == ("CUDAExecutionProvider" in ort.get_available_providers() and gpu_visible())


def test_gpu_providers_without_a_gpu_are_not_offered(monkeypatch):
    """onnxruntime-gpu lists its CUDA and TensorRT providers on any machine, GPU or not."""
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime.loader import precisions_here

    monkeypatch.delenv("GOLF_RT_GPU_STANDIN", raising=False)
    listed = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: listed)
    monkeypatch.setattr("golf_rt.backends.gpu.door.cuda_device_count", lambda: 0)
    assert precisions_here() == {"cpu": ("fp32", "fp16")}


def test_tensorrt_provider_gets_the_tile_profile_keyed_caches_and_no_tf32(monkeypatch, tmp_path):
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime.loader import provider_options

    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    assert provider_options("cpu") == ["CPUExecutionProvider"]
    (name, options), *rest = provider_options("tensorrt")
    assert name == "TensorrtExecutionProvider"
    assert rest == [("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"]
    assert provider_options("cuda")[0] == ("CUDAExecutionProvider", {"use_tf32": "0"})
    assert options["trt_profile_opt_shapes"] == "BLURRY:4x3x384x384"
    assert options["trt_profile_max_shapes"] == "BLURRY:4x3x384x384"
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_fp16_enable"] is False  # the fp16 files are FP16 already
    for key in ("trt_engine_cache_path", "trt_timing_cache_path"):
        folder = Path(options[key])
        assert folder.is_dir() and folder.is_relative_to(tmp_path)  # the provider makes one level only
        assert f"ort{ort.__version__}" in str(folder) and "standin" in str(folder)


def test_a_provider_that_fails_to_start_is_not_called_an_unreadable_file(monkeypatch, onnx_files):
    from golf_rt.backends.gpu.door import gpu
    from golf_rt.backends.onnxruntime.loader import session_from_onnx

    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    monkeypatch.setattr(gpu(), "busy", True)
    with pytest.raises(BackendUnavailableError, match="could not start CUDAExecutionProvider.*busy"):
        session_from_onnx(onnx_files["fused"], "cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_gpu_session_really_runs_on_the_gpu(device, onnx_files, blurry_batch, reference_output, tmp_path):
    """fp32 within fp32's tolerance: TF32 off, per session on the CUDA provider, for the process on TensorRT's."""
    import onnxruntime as ort

    from golf_rt.backends.gpu.door import standin_active
    from golf_rt.backends.onnxruntime.loader import PROVIDERS

    if PROVIDERS[device][0] not in ort.get_available_providers() and not standin_active():
        pytest.skip(f"this ONNX Runtime has no {PROVIDERS[device][0]} (pip install '.[gpu-onnxruntime]')")
    if device == "tensorrt":  # TF32 unless the process starts with NVIDIA_TF32_OVERRIDE=0: fp32 runs in a child
        np.save(tmp_path / "batch.npy", blurry_batch)
        code = (
            "import sys, numpy as np; from golf_rt.backends import create_runner; "
            f"runner = create_runner('onnxruntime', precision='fp32', model_file={str(onnx_files['fused'])!r}, "
            "device='tensorrt'); "
            f"print(runner.activate()._session.get_providers()[0], runner.deblur(np.load({str(tmp_path)!r} + "
            "'/batch.npy')).tobytes().hex())"
        )
        env = {**os.environ, "NVIDIA_TF32_OVERRIDE": "0"}  # LD_LIBRARY_PATH and the rest as they are
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        provider, output = done.stdout.split()
        output = np.frombuffer(bytes.fromhex(output), np.float32).reshape(reference_output.shape)
        assert provider == PROVIDERS[device][0] and abs(output - reference_output).max() <= TOLERANCE["fp32"]
        return
    with create_runner("onnxruntime", precision="fp32", model_file=onnx_files["fused"], device=device) as runner:
        assert runner._session.get_providers()[0] == PROVIDERS[device][0]
        assert abs(runner.deblur(blurry_batch) - reference_output).max() <= TOLERANCE["fp32"]  # use_tf32=0


def test_the_tensorrt_provider_takes_what_its_profiles_hold_and_says_so_before_running(monkeypatch, tmp_path):
    """Without limits, a batch outside the provider's profiles was an InferenceError the Deblurrer could not fall
    back from, and tiles went four at a time to no engine shape in particular."""
    from golf_rt.artifacts.engines import DEFAULT_PROFILES
    from golf_rt.backends.gpu.door import standin_active
    from golf_rt.deblur.deblurrer import Deblurrer
    from golf_rt.errors import ShapeOutsideProfilesError

    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    if not standin_active():
        pytest.skip("TensorRT is installed here, so the real GPU is used, not the stand-in")
    runner = create_runner("onnxruntime", precision="fp32", device="tensorrt")
    assert runner.profiles == DEFAULT_PROFILES and runner.max_batch == runner.tile_batch == 4
    assert runner.fixed_tile_shape and runner.takes((4, 3, 384, 384)) and not runner.takes((1, 3, 8, 390))
    with pytest.raises(ShapeOutsideProfilesError, match="outside every optimization profile"):
        runner.deblur(np.zeros((1, 3, 8, 390), np.float32))
    on_cpu = create_runner("onnxruntime", precision="fp32", device="cpu")
    assert on_cpu.profiles == () and on_cpu.max_batch is None and on_cpu.takes((9, 3, 8, 390))
    assert not Deblurrer("onnxruntime", precision="fp32", device="tensorrt").tiling.even, "one engine shape"
