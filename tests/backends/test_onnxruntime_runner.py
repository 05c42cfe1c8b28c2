import numpy as np
import pytest

from golf_rt.errors import BackendUnavailableError, ConfigurationError

pytest.importorskip("onnxruntime")

from golf_rt.backends.onnxruntime_runner import OnnxRuntimeRunner  # noqa: E402


def test_session_is_tuned(onnx_files):
    import onnxruntime as ort

    options = OnnxRuntimeRunner(onnx_files["g"], threads=1).session_options()
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
    runner = OnnxRuntimeRunner(onnx_files["g"], device="cuda")
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        runner.deblur(np.zeros((1, 3, 8, 8), np.float32))
