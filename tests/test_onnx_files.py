import shutil

import pytest

from golf_rt.artifacts import names as onnx_files
from golf_rt.artifacts import supply as onnx_supply
from golf_rt.errors import BackendUnavailableError, CheckpointError, ConfigurationError
from golf_rt.machine import paths

from .conftest import needs_torch


def test_file_names():
    assert onnx_files.onnx_file_name("f") == "f.onnx"
    assert onnx_files.onnx_file_name("g", 5) == "g.onnx"
    assert onnx_files.onnx_file_name("g_unrolled", 5) == "g_x5.onnx"
    assert onnx_files.onnx_file_name("fused", 3, fp16=True) == "fused_x3_fp16.onnx"
    with pytest.raises(ConfigurationError, match="choose one of"):
        onnx_files.onnx_file_name("h")
    with pytest.raises(ConfigurationError, match="at least 1"):
        onnx_files.onnx_file_name("fused", 0)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GOLF_RT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert paths.cache_dir() == tmp_path / "golf-rt"


def test_missing_checkpoint_without_shipped_files(tmp_path):
    with pytest.raises(CheckpointError):
        onnx_supply.ensure_onnx("fused", 3, tmp_path / "missing.safetensors")


@needs_torch
def test_cached_files_are_found_without_export(checkpoint_path, cached_onnx):
    assert onnx_supply.ensure_onnx("g", 3, checkpoint_path) == cached_onnx / "g.onnx"


@needs_torch
def test_fp16_file_is_made_on_demand(checkpoint_path, cached_onnx):
    path = onnx_supply.ensure_onnx("g", 3, checkpoint_path, fp16=True)
    assert path == cached_onnx / "g_fp16.onnx" and path.is_file()


@needs_torch
@pytest.mark.parametrize("damage", ["truncated", "another checkpoint's"])
def test_a_damaged_cached_file_is_made_again(checkpoint_path, cached_onnx, damage):
    path = onnx_supply.ensure_onnx("g", 3, checkpoint_path, fp16=True)
    whole = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(whole[: len(whole) // 2])
    else:
        path.write_bytes((paths.shipped_models_dir() / "g.onnx").read_bytes())
    assert onnx_supply.ensure_onnx("g", 3, checkpoint_path, fp16=True) == path
    from golf_rt.model.checkpoint import file_sha256

    assert onnx_files.read_onnx_metadata(path)["golf_rt.checkpoint_sha256"] == file_sha256(checkpoint_path)
    assert len(path.read_bytes()) == len(whole)


def test_without_torch_a_missing_export_says_what_to_do(checkpoint_path, cached_onnx, monkeypatch, tmp_path):
    """Simulate a torch-free install by hiding torch from `installed`."""
    other = tmp_path / "other.safetensors"
    shutil.copy(checkpoint_path, other)
    with open(other, "ab") as handle:  # a different hash, so nothing is cached for it
        handle.write(b" ")
    monkeypatch.setattr("golf_rt.machine.environment.installed", lambda module: module != "torch")
    with pytest.raises(BackendUnavailableError, match="needs torch"):
        onnx_supply.ensure_onnx("fused", 3, other)
