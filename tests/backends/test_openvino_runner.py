import numpy as np
import pytest

from golf_rt.errors import BackendUnavailableError, ConfigurationError, ModelFileError
from golf_rt.machine.environment import cpu_has_native_bf16

pytest.importorskip("openvino")

from golf_rt.backends import create_runner, options_for  # noqa: E402
from golf_rt.backends.openvino.loader import model_from_onnx  # noqa: E402
from golf_rt.backends.openvino.runner import OpenVinoOptions, OpenVinoRunner  # noqa: E402


def _runner(path, precision="fp32", **options) -> OpenVinoRunner:
    return OpenVinoRunner(lambda: model_from_onnx(path), precision=precision, options=OpenVinoOptions(**options))


def test_fp32_is_asked_for_explicitly(onnx_files):
    """OpenVINO would pick bf16 by itself on a bf16 CPU; fp32 must stay fp32."""
    config = _runner(onnx_files["g"], threads=2, streams=1).compile_config()
    assert config == {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1",
    }  # fmt: skip


def test_compiled_model_runs_at_the_asked_precision(onnx_files):
    runner = _runner(onnx_files["g"], shape_cache=0).activate()
    request = runner._request_for((1, 3, 8, 8))
    assert str(request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


def test_models_are_compiled_per_shape_and_the_oldest_is_dropped(onnx_files):
    rng = np.random.default_rng(0)
    static = OpenVinoRunner(model_from_onnx(onnx_files["g"]), options=OpenVinoOptions(shape_cache=2))  # handed a model
    dynamic = _runner(onnx_files["g"], shape_cache=0)
    for shape in [(1, 3, 16, 16), (2, 3, 16, 24), (1, 3, 16, 16), (1, 3, 20, 20)]:
        batch = rng.random(shape, dtype=np.float32)
        np.testing.assert_allclose(static.deblur(batch), dynamic.deblur(batch), atol=1e-5)
    assert list(static._requests) == [(1, 3, 16, 16), (1, 3, 20, 20)]
    with pytest.raises(ConfigurationError, match="shape_cache"):
        OpenVinoOptions(shape_cache=-1)


@pytest.mark.skipif(cpu_has_native_bf16(), reason="this CPU has native bf16")
def test_bf16_refused_without_native_support(onnx_files):
    with pytest.raises(BackendUnavailableError, match="fp32"):
        create_runner("openvino", precision="bf16", model_file=onnx_files["g"])


def test_a_file_runs_only_its_precisions():
    from golf_rt.machine.paths import shipped_models_dir

    with pytest.raises(ConfigurationError, match="g_int8.onnx runs at int8, not fp32"):
        create_runner("openvino", precision="fp32", model_file=shipped_models_dir() / "g_int8.onnx")


def test_bad_options_are_named(onnx_files, tmp_path):
    with pytest.raises(ConfigurationError, match="choose one of"):
        OpenVinoOptions(hint="FAST")
    with pytest.raises(ConfigurationError, match="has no option fast; choose among threads, hint, streams"):
        options_for("openvino", fast=True)
    with pytest.raises(ModelFileError, match="not found"):
        create_runner("openvino", model_file=tmp_path / "missing.onnx")
