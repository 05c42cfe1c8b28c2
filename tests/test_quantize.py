"""INT8 copies of the ONNX files: calibrated on synthetic blur, checked against the fp32 files."""

from __future__ import annotations

import numpy as np
import pytest

from golf_rt.artifacts.names import read_onnx_metadata
from golf_rt.artifacts.supply import ensure_onnx
from golf_rt.contract import INPUT_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.machine.paths import shipped_models_dir

nncf = pytest.importorskip("nncf", reason="quantising needs NNCF (the quantize extra)")
ort = pytest.importorskip("onnxruntime", reason="running the files needs onnxruntime")

from golf_rt.artifacts.quantize import calibration_inputs, f_outputs, int8_onnx_from_onnx  # noqa: E402


def _run(path, batch):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {INPUT_NAME: batch})[0]


def _psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_calibration_inputs_are_deterministic_8_bit_images():
    first, again = calibration_inputs(3, 32, seed=1), calibration_inputs(3, 32, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert all(x.shape == (1, 3, 32, 32) and x.dtype == np.float32 for x in first)
    assert all(np.allclose(x * 255, np.round(x * 255), atol=1e-3) and 0 <= x.min() <= x.max() <= 1 for x in first)
    assert not np.array_equal(first[0], calibration_inputs(1, 32, seed=2)[0])


def test_an_int8_g_quantises_the_convolutions_and_keeps_the_metadata(tmp_path):
    onnx = pytest.importorskip("onnx")
    inputs = f_outputs(ensure_onnx("f"), calibration_inputs(4, 48))
    path = int8_onnx_from_onnx(ensure_onnx("g"), tmp_path / "g_int8.onnx", inputs)
    model = onnx.load(str(path))
    ops = [node.op_type for node in model.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    meta, source = read_onnx_metadata(path), read_onnx_metadata(ensure_onnx("g"))
    assert meta["golf_rt.precision"] == "int8"
    assert meta["golf_rt.checkpoint_sha256"] == source["golf_rt.checkpoint_sha256"]
    batch = f_outputs(ensure_onnx("f"), calibration_inputs(1, 64, seed=5))[0]
    assert _psnr(_run(path, batch), _run(ensure_onnx("g"), batch)) > 35
    assert [p.name for p in tmp_path.iterdir()] == ["g_int8.onnx"]


def test_an_int8_file_is_not_quantised_again(tmp_path):
    shipped = shipped_models_dir() / "g_int8.onnx"
    if not shipped.is_file():
        pytest.skip("no int8 files ship in golf_rt/models")
    with pytest.raises(ConfigurationError, match="int8; quantise the fp32 file"):
        int8_onnx_from_onnx(shipped, tmp_path / "again.onnx", calibration_inputs(1, 32))
    assert not (tmp_path / "again.onnx").exists()


@pytest.mark.slow
def test_the_shipped_int8_model_deblurs_within_the_budget_of_fp32():
    shipped = shipped_models_dir() / "fused_x3_int8.onnx"
    if not shipped.is_file():
        pytest.skip("no int8 files ship in golf_rt/models")
    pytest.importorskip("skimage", reason="the held-out photos come with scikit-image")
    ov = pytest.importorskip("openvino", reason="int8 runs on OpenVINO")
    from golf_rt.quality.heldout import heldout_pairs

    pairs = heldout_pairs(crops_per_photo=1, size=128)
    batch = np.stack([p.blurry.transpose(2, 0, 1) for p in pairs]).astype(np.float32)
    sharp = np.stack([p.sharp.transpose(2, 0, 1) for p in pairs])
    compiled = ov.Core().compile_model(str(shipped), "CPU")
    int8 = np.clip(compiled(batch)[0], 0, 1)
    fp32 = np.clip(_run(ensure_onnx("fused"), batch), 0, 1)
    assert abs(_psnr(int8, sharp) - _psnr(fp32, sharp)) < 0.05
