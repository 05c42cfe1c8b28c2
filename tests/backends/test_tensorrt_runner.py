import numpy as np
import pytest

from golf_rt.environment import cuda_device_count, installed
from golf_rt.errors import BackendUnavailableError, EngineMismatchError
from golf_rt.tensorrt_settings import write_sidecar
from tests.sidecars import sidecar

HAS_GPU = installed("tensorrt") and cuda_device_count() > 0
gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU with TensorRT and cuda-python")


def fake_engine(tmp_path, **changes):
    engine = tmp_path / "fused_x3_fp16.plan"
    engine.write_bytes(b"not an engine")
    mismatch = {"tensorrt_version": "0.0.0", "gpu_name": "no GPU", "compute_capability": "0.0"}
    write_sidecar(engine, sidecar(**{**mismatch, **changes}))
    return engine


def test_runner_reads_precision_and_profile_from_the_sidecar_without_a_gpu(tmp_path):
    from golf_rt.backends.tensorrt_runner import TensorRTRunner

    runner = TensorRTRunner(fake_engine(tmp_path))
    assert runner.precision == "fp16" and runner.profile.max == (4, 3, 720, 1280)


def test_missing_engine_or_sidecar(tmp_path):
    from golf_rt.backends.tensorrt_runner import TensorRTRunner

    with pytest.raises(BackendUnavailableError, match="build-engine"):
        TensorRTRunner(tmp_path / "missing.plan")
    (tmp_path / "lonely.plan").write_bytes(b"x")
    with pytest.raises(EngineMismatchError, match="missing"):
        TensorRTRunner(tmp_path / "lonely.plan")


@pytest.mark.skipif(HAS_GPU, reason="this machine has TensorRT and a GPU")
def test_activation_without_tensorrt_is_one_clear_error(tmp_path):
    from golf_rt.backends.tensorrt_runner import TensorRTRunner

    runner = TensorRTRunner(fake_engine(tmp_path))
    with pytest.raises(BackendUnavailableError, match="needs tensorrt|needs cuda-python|no CUDA device"):
        runner.deblur(np.zeros((1, 3, 64, 64), np.float32))


@gpu
@needs_gpu
def test_engine_from_another_machine_is_refused(tmp_path):
    from golf_rt.backends.tensorrt_runner import TensorRTRunner

    with pytest.raises(EngineMismatchError, match="not portable"):
        TensorRTRunner(fake_engine(tmp_path)).activate()


@gpu
@needs_gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_built_engine_matches_pytorch(precision, onnx_files, tmp_path, blurry_batch, reference_output):
    from golf_rt.backends import TOLERANCE
    from golf_rt.backends.tensorrt_runner import TensorRTRunner, engines_from_onnx_dir
    from golf_rt.tensorrt_settings import BuildOptions, Profile, read_sidecar

    options = BuildOptions(precision, Profile((1, 3, 16, 16), (2, 3, 40, 56), (2, 3, 64, 64)), tmp_path / "t.cache")
    engines = engines_from_onnx_dir(onnx_files["fused"].parent, tmp_path, 3, options)
    assert set(engines) == {"fused", "f", "g_unrolled"}
    assert (tmp_path / "t.cache").stat().st_size > 0
    assert read_sidecar(engines["fused"]).precision == precision
    with TensorRTRunner(engines["fused"]) as runner:
        out = runner.deblur(blurry_batch)
        again = runner.deblur(blurry_batch[:1])  # buffers are reused across shapes
    assert np.abs(out - reference_output).max() <= TOLERANCE[precision]
    assert again.shape == (1, *blurry_batch.shape[1:])
