"""The commands through the real `golf-rt` entry point (`python -m golf_rt.cli`), as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from golf_rt.environment import cuda_device_count, installed
from golf_rt.images import load_image, save_image

from ..conftest import needs_torch


def golf_rt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "golf_rt.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    save_image(folder / "rgb.png", (rng.random((24, 32, 3)) * 255).astype(np.uint8))
    save_image(folder / "deep.png", (rng.random((20, 20, 3)) * 65535).astype(np.uint16))
    save_image(folder / "grey.bmp", (rng.random((20, 22)) * 255).astype(np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


@needs_torch
def test_deblur_keeps_names_kinds_and_writes_comparisons(image_folder, checkpoint_path, cached_onnx, tmp_path):
    result = golf_rt(
        "deblur", str(image_folder), "-o", str(tmp_path), "--checkpoint", str(checkpoint_path), "--compare"
    )
    assert result.returncode == 0, result.stderr
    assert "3 images with" in result.stdout and "median" in result.stdout
    assert load_image(tmp_path / "deep.png").dtype == np.uint16
    assert load_image(tmp_path / "grey.bmp").shape == (20, 22)
    compare = load_image(tmp_path / "rgb_compare.png")
    assert compare.shape == (24, 64, 3)
    assert not (tmp_path / "notes.txt").exists()


@needs_torch
def test_deblur_never_overwrites_an_input(image_folder, checkpoint_path):
    before = (image_folder / "rgb.png").read_bytes()
    result = golf_rt(
        "deblur", str(image_folder / "rgb.png"), "-o", str(image_folder), "--checkpoint", str(checkpoint_path)
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "overwrite an input" in result.stderr
    assert (image_folder / "rgb.png").read_bytes() == before


def test_deblur_of_a_missing_input_is_one_line(tmp_path):
    result = golf_rt("deblur", str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0
    assert "no such file or folder" in result.stderr


@pytest.mark.skipif(installed("tensorrt") and cuda_device_count() > 0, reason="this machine can build engines")
def test_build_engine_without_a_gpu_is_one_clear_sentence():
    result = golf_rt("build-engine", "--fp16")
    assert result.returncode == 1
    expected = "error: build-engine needs an NVIDIA GPU with TensorRT installed, and this machine has none."
    assert result.stderr.strip() == expected


def test_build_engine_checks_its_options_first():
    result = golf_rt("build-engine", "--max", "2x3x10")
    assert result.returncode == 1 and "NxCxHxW" in result.stderr


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
    # The tiny model loses under 0.01 dB at any precision here, against a 0.05 dB budget: exit 0, not 2.
    assert result.returncode == 0, result.stderr
    assert "over the" not in result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == ["backend", "precision"]
    rows = json.loads((tmp_path / "v.json").read_text())
    assert rows[0]["backend"] == "torch" and rows[0]["psnr_vs_reference"] is None
    assert all(r["within_budget"] and abs(r["psnr_delta"]) < 0.01 for r in rows)
    assert {(r["backend"], r["precision"]) for r in rows} >= {("onnxruntime", "fp32"), ("onnxruntime", "fp16")}
    assert (tmp_path / "v.md").read_text().startswith("| backend |")
