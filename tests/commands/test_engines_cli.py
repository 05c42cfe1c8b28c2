"""The commands through the real `golf-rt` entry point (`python -m golf_rt.cli`), as a user runs them."""

import json

import pytest

from golf_rt.backends.gpu.door import tensorrt_here
from golf_rt.machine.environment import installed

from ..cli_helpers import golf_rt
from ..conftest import needs_torch


@pytest.mark.skipif(tensorrt_here(), reason="this machine can build engines (or stands in for a GPU)")
def test_build_engine_without_a_gpu_is_one_clear_sentence():
    result = golf_rt("build-engine", "--fp16")
    assert result.returncode == 1
    expected = (
        "error: build-engine needs an NVIDIA GPU with TensorRT installed, and this machine has none "
        "(a dry run on the CPU stand-in: GOLF_RT_GPU_STANDIN=1)"
    )
    assert result.stderr.strip() == expected


def test_build_engine_checks_its_options_first():
    result = golf_rt("build-engine", "--profile", "1x3x4x4:1x3x256x256:2x3x10")
    assert result.returncode == 1 and "NxCxHxW" in result.stderr
    result = golf_rt("build-engine", "--profile", "1x3x4x4:1x3x256x256")
    assert result.returncode == 1 and "MIN:OPT:MAX" in result.stderr


@pytest.mark.slow
@needs_torch
def test_export_writes_the_files(checkpoint_path, tmp_path):
    result = golf_rt("export", "--checkpoint", str(checkpoint_path), "--iterations", "1", "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.onnx", "fused_x1.onnx", "g.onnx", "g_x1.onnx"]


@pytest.mark.slow
@needs_torch
@pytest.mark.skipif(not installed("skimage"), reason="held-out pairs need scikit-image")
def test_verify_prints_one_table_and_writes_json_and_markdown(checkpoint_path, cached_onnx, tmp_path):
    args = ["verify", "--checkpoint", str(checkpoint_path), "--size", "32", "--crops", "1"]
    result = golf_rt(*args, "--json", str(tmp_path / "v.json"), "--markdown", str(tmp_path / "v.md"))
    # The tiny model loses under 0.01 dB at any float precision here and int8 stays within the
    # 0.05 dB budget: exit 0, not 2.
    assert result.returncode == 0, result.stderr
    assert "over the" not in result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == ["backend", "precision"]
    rows = json.loads((tmp_path / "v.json").read_text())
    assert rows[0]["backend"] == "torch" and rows[0]["psnr_vs_reference"] is None
    assert all(r["within_budget"] for r in rows)
    assert all(abs(r["psnr_delta"]) < 0.01 for r in rows if r["precision"] != "int8")
    assert {(r["backend"], r["precision"]) for r in rows} >= {("onnxruntime", "fp32"), ("onnxruntime", "fp16")}
    assert (tmp_path / "v.md").read_text().startswith("| backend |")
