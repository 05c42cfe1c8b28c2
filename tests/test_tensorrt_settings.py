import json

import pytest

from golf_rt.errors import ConfigurationError, EngineMismatchError
from golf_rt.tensorrt_settings import (
    BuildOptions,
    Profile,
    check_sidecar,
    default_timing_cache_path,
    engine_file_name,
    parse_shape,
    read_sidecar,
    write_sidecar,
)
from tests.sidecars import sidecar


def test_default_profile_is_the_documented_one():
    profile = Profile()
    assert (profile.min, profile.opt, profile.max) == ((1, 3, 64, 64), (1, 3, 256, 256), (4, 3, 720, 1280))


@pytest.mark.parametrize("text", ["2x3x128x96", "2,3,128,96", " 2 x 3 x 128 x 96 "])
def test_shapes_parse(text):
    assert parse_shape(text) == (2, 3, 128, 96)


@pytest.mark.parametrize("text", ["2x3x128", "axbxcxd", "", "2x3x128x96x1"])
def test_bad_shapes_are_named(text):
    with pytest.raises(ConfigurationError, match="NxCxHxW"):
        parse_shape(text)


def test_profile_from_strings_keeps_defaults():
    profile = Profile.from_strings(max="8x3x1080x1920")
    assert profile.min == (1, 3, 64, 64) and profile.max == (8, 3, 1080, 1920)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"min": (1, 3, 300, 64)}, "min <= opt <= max"),
        ({"opt": (8, 3, 256, 256)}, "min <= opt <= max"),
        ({"max": (4, 1, 720, 1280)}, "N x 3 x H x W"),
        ({"min": (0, 3, 64, 64)}, "batch >= 1"),
        ({"max": (1, 3, 5000, 5000)}, "over the image maximum"),
    ],
)
def test_bad_profiles_are_refused(bounds, message):
    with pytest.raises(ConfigurationError, match=message):
        Profile(**bounds)


def test_profile_accepts_shapes_inside_it():
    profile = Profile()
    assert profile.accepts((2, 3, 100, 200))
    assert not profile.accepts((5, 3, 100, 200)) and not profile.accepts((1, 3, 32, 64))


def test_build_options_validate_and_default_the_timing_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    assert BuildOptions().timing_cache_path == default_timing_cache_path() == tmp_path / "tensorrt" / "timing.cache"
    assert BuildOptions(timing_cache="my.cache").timing_cache_path.name == "my.cache"
    with pytest.raises(ConfigurationError, match="fp32, fp16"):
        BuildOptions(precision="int8")
    with pytest.raises(ConfigurationError, match="workspace"):
        BuildOptions(workspace_mib=1)


def test_engine_file_names():
    assert engine_file_name("fused", 3, "fp16") == "fused_x3_fp16.plan"
    assert engine_file_name("f", 3, "fp32") == "f_fp32.plan"


def test_sidecar_round_trip(tmp_path):
    engine = tmp_path / "fused_x3_fp16.plan"
    written = write_sidecar(engine, sidecar())
    assert written.name == "fused_x3_fp16.plan.json"
    assert json.loads(written.read_text())["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert read_sidecar(engine) == sidecar()
    assert read_sidecar(engine).profile == Profile()


def test_missing_or_broken_sidecar(tmp_path):
    with pytest.raises(EngineMismatchError, match="missing"):
        read_sidecar(tmp_path / "x.plan")
    (tmp_path / "x.plan.json").write_text("{not json")
    with pytest.raises(EngineMismatchError, match="not valid JSON"):
        read_sidecar(tmp_path / "x.plan")
    (tmp_path / "x.plan.json").write_text(json.dumps({"format": "golf-rt-engine/1", "precision": "fp16"}))
    with pytest.raises(EngineMismatchError, match="incomplete"):
        read_sidecar(tmp_path / "x.plan")


def test_matching_machine_is_accepted():
    check_sidecar(sidecar(), "10.9.0", "NVIDIA H100 80GB HBM3", "9.0")


@pytest.mark.parametrize(
    ("running", "message"),
    [
        (("10.8.0", "NVIDIA H100 80GB HBM3", "9.0"), r"TensorRT 10.9.0 \(running 10.8.0\)"),
        (("10.9.0", "NVIDIA L4", "8.9"), r"compute capability 9.0 \(running 8.9\)"),
        (("10.9.0", "NVIDIA H100 PCIe", "9.0"), "GPU 'NVIDIA H100 80GB HBM3'"),
    ],
)
def test_mismatch_is_refused_with_the_reason(running, message):
    with pytest.raises(EngineMismatchError, match=message) as info:
        check_sidecar(sidecar(), *running)
    assert "rebuild it here with `golf-rt build-engine`" in str(info.value)
