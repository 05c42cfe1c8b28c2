import numpy as np
import pytest

from golf_rt.errors import BackendUnavailableError, ConfigurationError, ModelFileError
from golf_rt.machine.environment import cpu_has_native_bf16

pytest.importorskip("openvino")

from golf_rt.backends.openvino.runner import OpenVinoRunner  # noqa: E402


def test_fp32_is_asked_for_explicitly(onnx_files):
    """OpenVINO would pick bf16 by itself on a bf16 CPU; fp32 must stay fp32."""
    config = OpenVinoRunner(onnx_files["g"], "fp32", threads=2, streams=1).compile_config()
    assert config == {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1",
    }  # fmt: skip


def test_compiled_model_runs_at_the_asked_precision(onnx_files):
    runner = OpenVinoRunner(onnx_files["g"], "fp32", shape_cache=0).activate()
    request = runner._request_for((1, 3, 8, 8))
    assert str(request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


def test_models_are_compiled_per_shape_and_the_oldest_is_dropped(onnx_files):
    rng = np.random.default_rng(0)
    static = OpenVinoRunner(onnx_files["g"], "fp32", shape_cache=2)
    dynamic = OpenVinoRunner(onnx_files["g"], "fp32", shape_cache=0)
    for shape in [(1, 3, 16, 16), (2, 3, 16, 24), (1, 3, 16, 16), (1, 3, 20, 20)]:
        batch = rng.random(shape, dtype=np.float32)
        np.testing.assert_allclose(static.deblur(batch), dynamic.deblur(batch), atol=1e-5)
    assert list(static._requests) == [(1, 3, 16, 16), (1, 3, 20, 20)]
    with pytest.raises(ConfigurationError, match="shape_cache"):
        OpenVinoRunner(onnx_files["g"], shape_cache=-1)


@pytest.mark.skipif(cpu_has_native_bf16(), reason="this CPU has native bf16")
def test_bf16_refused_without_native_support(onnx_files):
    with pytest.raises(BackendUnavailableError, match="fp32"):
        OpenVinoRunner(onnx_files["g"], "bf16")


def test_bad_options_are_named(onnx_files, tmp_path):
    with pytest.raises(ConfigurationError, match="choose one of"):
        OpenVinoRunner(onnx_files["g"], hint="FAST")
    with pytest.raises(ModelFileError, match="not found"):
        OpenVinoRunner(tmp_path / "missing.onnx")
