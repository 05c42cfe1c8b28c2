import pytest

from golf_rt.environment import cpu_has_native_bf16
from golf_rt.errors import BackendUnavailableError

pytest.importorskip("openvino")

from golf_rt.backends.openvino_runner import OpenVinoRunner  # noqa: E402


def test_fp32_is_asked_for_explicitly(onnx_files):
    """OpenVINO would pick bf16 by itself on a bf16 CPU; fp32 must stay fp32."""
    config = OpenVinoRunner(onnx_files["g"], "fp32", threads=2, streams=1).compile_config()
    assert config == {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1",
    }  # fmt: skip


def test_compiled_model_runs_at_the_asked_precision(onnx_files):
    runner = OpenVinoRunner(onnx_files["g"], "fp32").activate()
    assert str(runner._request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


@pytest.mark.skipif(cpu_has_native_bf16(), reason="this CPU has native bf16")
def test_bf16_refused_without_native_support(onnx_files):
    with pytest.raises(BackendUnavailableError, match="fp32"):
        OpenVinoRunner(onnx_files["g"], "bf16")


def test_bad_options_are_named(onnx_files, tmp_path):
    with pytest.raises(BackendUnavailableError, match="choose one of"):
        OpenVinoRunner(onnx_files["g"], hint="FAST")
    with pytest.raises(BackendUnavailableError, match="not found"):
        OpenVinoRunner(tmp_path / "missing.onnx")
