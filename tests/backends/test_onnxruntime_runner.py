import subprocess
import sys

import pytest

from golf_rt.errors import BackendUnavailableError, ConfigurationError

pytest.importorskip("onnxruntime")

from golf_rt.backends.onnxruntime_runner import OnnxRuntimeRunner  # noqa: E402


def test_session_is_tuned():
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime_runner import session_options

    options = session_options(threads=1)
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.intra_op_num_threads == 1


def test_precision_comes_from_the_file(onnx_files, tmp_path):
    from golf_rt.export import fp16_onnx_from_onnx

    assert OnnxRuntimeRunner(onnx_files["g"]).precision == "fp32"
    assert OnnxRuntimeRunner(fp16_onnx_from_onnx(onnx_files["g"], tmp_path / "g_fp16.onnx")).precision == "fp16"


def test_bad_options_are_named(onnx_files, tmp_path):
    with pytest.raises(ConfigurationError, match="not found"):
        OnnxRuntimeRunner(tmp_path / "missing.onnx")
    with pytest.raises(ConfigurationError, match="choose one of"):
        OnnxRuntimeRunner(onnx_files["g"], device="tpu")
    with pytest.raises(ConfigurationError, match="at least 1"):
        OnnxRuntimeRunner(onnx_files["g"], threads=0)


def test_gpu_provider_missing_is_explained(onnx_files):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA")
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        OnnxRuntimeRunner(onnx_files["g"], device="cuda")


def test_precision_is_read_without_the_onnx_package(onnx_files):
    """onnx is not in the cpu and serve extras: the session's own metadata says the precision."""
    code = (
        "import sys; from golf_rt.backends.onnxruntime_runner import OnnxRuntimeRunner; "
        f"runner = OnnxRuntimeRunner({str(onnx_files['g'])!r}); print(runner.precision, 'onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["fp32", "False"]


def test_precisions_here_are_the_providers_of_this_build():
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime_runner import precisions_here

    here = precisions_here()
    assert here["cpu"] == ("fp32", "fp16")
    assert ("cuda" in here) == ("CUDAExecutionProvider" in ort.get_available_providers())


def test_tensorrt_provider_gets_the_engine_profiles_and_caches(monkeypatch, tmp_path):
    from golf_rt.backends.onnxruntime_runner import provider_options

    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    assert provider_options("cpu") == ["CPUExecutionProvider"]
    (name, options), *rest = provider_options("tensorrt")
    assert name == "TensorrtExecutionProvider" and rest == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert options["trt_profile_opt_shapes"] == "BLURRY:1x3x256x256,BLURRY:1x3x1080x1920"
    assert options["trt_profile_max_shapes"] == "BLURRY:4x3x1024x1024,BLURRY:4x3x1920x1920"
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_engine_cache_path"].startswith(str(tmp_path))
    assert options["trt_fp16_enable"] is False  # the fp16 files are FP16 already


@pytest.mark.gpu
@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_gpu_session_really_runs_on_the_gpu(device, onnx_files, blurry_batch, reference_output):
    import onnxruntime as ort

    from golf_rt.backends.onnxruntime_runner import PROVIDERS

    if PROVIDERS[device][0] not in ort.get_available_providers():
        pytest.skip(f"this ONNX Runtime has no {PROVIDERS[device][0]} (pip install '.[gpu-onnxruntime]')")
    with OnnxRuntimeRunner(onnx_files["fused"], device=device) as runner:
        assert runner._session.get_providers()[0] == PROVIDERS[device][0]
        assert abs(runner.deblur(blurry_batch) - reference_output).max() <= 1e-3
