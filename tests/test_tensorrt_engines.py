import json
from dataclasses import replace

import pytest

from golf_rt.artifacts.engines import (
    DEFAULT_PROFILES,
    BuildOptions,
    Machine,
    Profile,
    cached_engine_path,
    check_sidecar,
    default_timing_cache_path,
    engine_file_name,
    parse_shape,
    read_sidecar,
    stale_reasons,
    tensorrt_ep_profile_options,
    write_sidecar,
)
from golf_rt.artifacts.supply import engine_sources
from golf_rt.backends.tensorrt.runner import choose_profile
from golf_rt.errors import (
    ConfigurationError,
    EngineMismatchError,
    InvalidImageError,
    ModelFileError,
    ShapeOutsideProfilesError,
)
from tests.sidecars import H100, sidecar


@pytest.mark.parametrize("hw", [(384, 384), (256, 256), (300, 384), (384, 130), (4, 4), (4, 384), (63, 17)])
def test_the_default_profile_takes_every_tile_and_anything_smaller(hw):
    for batch in (1, 4):
        assert choose_profile((batch, 3, *hw), DEFAULT_PROFILES) == 0


TWO_PROFILES = (
    Profile((1, 3, 4, 4), (1, 3, 256, 256), (4, 3, 1024, 1024)),
    Profile((1, 3, 4, 4), (1, 3, 1080, 1920), (4, 3, 1920, 1920)),
)


def test_the_profile_tuned_nearest_the_input_is_chosen():
    two = TWO_PROFILES
    assert choose_profile((1, 3, 256, 256), two) == 0
    assert choose_profile((1, 3, 64, 64), two) == 0
    assert choose_profile((1, 3, 1080, 1920), two) == 1
    assert choose_profile((1, 3, 1000, 1000), two) == 1  # nearer 1080x1920 than 256x256
    assert choose_profile((1, 3, 1000, 1100), two) == 1  # only the large profile takes it


@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (1, 3, 3000, 4000), (5, 3, 256, 256), (1, 3, 385, 100)])
def test_a_shape_outside_every_profile_is_a_clear_image_error(shape):
    with pytest.raises(ShapeOutsideProfilesError, match="outside every optimization profile") as info:
        choose_profile(shape, DEFAULT_PROFILES)
    assert isinstance(info.value, InvalidImageError) and "--profile MIN:OPT:MAX" in str(info.value)


@pytest.mark.parametrize("text", ["2x3x128x96", "2,3,128,96", " 2 x 3 x 128 x 96 "])
def test_shapes_parse(text):
    assert parse_shape(text) == (2, 3, 128, 96)


@pytest.mark.parametrize("text", ["2x3x128", "axbxcxd", "", "2x3x128x96x1"])
def test_bad_shapes_are_named(text):
    with pytest.raises(ConfigurationError, match="NxCxHxW"):
        parse_shape(text)


def test_profiles_parse_and_print_as_min_opt_max():
    text = "1x3x4x4:2x3x512x512:8x3x1080x1920"
    profile = Profile.parse(text)
    assert (profile.min, profile.opt, profile.max) == ((1, 3, 4, 4), (2, 3, 512, 512), (8, 3, 1080, 1920))
    assert str(profile) == text
    with pytest.raises(ConfigurationError, match="MIN:OPT:MAX"):
        Profile.parse("1x3x4x4:1x3x256x256")


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (((1, 3, 300, 64), (1, 3, 256, 256), (4, 3, 720, 1280)), "min <= opt <= max"),
        (((1, 3, 64, 64), (8, 3, 256, 256), (4, 3, 720, 1280)), "min <= opt <= max"),
        (((1, 3, 64, 64), (1, 3, 256, 256), (4, 1, 720, 1280)), "N x 3 x H x W"),
        (((0, 3, 64, 64), (1, 3, 256, 256), (4, 3, 720, 1280)), "batch >= 1"),
        (((1, 3, 2, 2), (1, 3, 256, 256), (4, 3, 720, 1280)), "sides >= 4"),
        (((1, 3, 64, 64), (1, 3, 256, 256), (1, 3, 20000, 20000)), "over the image maximum"),
    ],
)
def test_bad_profiles_are_refused(bounds, message):
    with pytest.raises(ConfigurationError, match=message):
        Profile(*bounds)


def test_build_options_validate_and_key_the_timing_cache_by_machine(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    default = BuildOptions().timing_cache_path(H100)
    assert default == default_timing_cache_path(H100)
    assert default == tmp_path / "tensorrt" / "timing-trt10.13.3.9-nvidia-h100-80gb-hbm3-sm90-cuda13.0.cache"
    other_cuda = BuildOptions().timing_cache_path(replace(H100, cuda_version="13.1"))
    other_trt = BuildOptions().timing_cache_path(replace(H100, tensorrt_version="11.4.0.106"))
    assert len({default, other_cuda, other_trt}) == 3
    assert BuildOptions(timing_cache="my.cache").timing_cache_path(H100).name == "my.cache"
    with pytest.raises(ConfigurationError, match="fp32, fp16"):
        BuildOptions(precision="int8")
    with pytest.raises(ConfigurationError, match="workspace"):
        BuildOptions(workspace_mib=1)
    with pytest.raises(ConfigurationError, match="at least one optimization profile"):
        BuildOptions(profiles=())


def test_cached_engines_are_keyed_by_onnx_hash_tensorrt_and_gpu(monkeypatch, tmp_path):
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    fp16 = BuildOptions("fp16")
    path = cached_engine_path("onnx/fused_x3.onnx", "ab" * 32, H100, fp16)
    assert path.parent == tmp_path / "engines" / "trt10.13.3.9-nvidia-h100-80gb-hbm3-sm90"
    assert path.name.startswith("fused_x3-abababababab_fp16-p") and path.suffix == ".plan"
    others = {
        cached_engine_path("onnx/fused_x3.onnx", "cd" * 32, H100, fp16),
        cached_engine_path("onnx/fused_x3.onnx", "ab" * 32, replace(H100, tensorrt_version="10.14.1.48"), fp16),
        cached_engine_path("onnx/fused_x3.onnx", "ab" * 32, Machine("10.13.3.9", "NVIDIA L4", "8.9"), fp16),
        cached_engine_path("onnx/fused_x3.onnx", "ab" * 32, H100, BuildOptions("fp16", version_compatible=True)),
        cached_engine_path("onnx/fused_x3.onnx", "ab" * 32, H100, BuildOptions("fp16", (TWO_PROFILES[1],))),
    }
    assert path not in others and len(others) == 5


def test_engine_file_names():
    assert engine_file_name("fused", 3, "fp16") == "fused_x3_fp16.plan"
    assert engine_file_name("f", 3, "fp32") == "f_fp32.plan"


def test_sidecar_round_trip(tmp_path):
    engine = tmp_path / "fused_x3_fp16.plan"
    written = write_sidecar(engine, sidecar(profile_memory_bytes=(123_456_789,)))
    assert written.name == "fused_x3_fp16.plan.json"
    data = json.loads(written.read_text())
    assert data["gpu_name"] == "NVIDIA H100 80GB HBM3" and data["profiles"][0] == "1x3x4x4:4x3x384x384:4x3x384x384"
    assert data["profile_memory_bytes"] == [123_456_789]
    assert read_sidecar(engine) == sidecar(profile_memory_bytes=(123_456_789,))
    assert read_sidecar(engine).profiles == DEFAULT_PROFILES
    assert [p.name for p in tmp_path.iterdir()] == ["fused_x3_fp16.plan.json"]  # no temporary file left


def test_missing_broken_or_old_sidecar(tmp_path):
    with pytest.raises(EngineMismatchError, match="missing"):
        read_sidecar(tmp_path / "x.plan")
    (tmp_path / "x.plan.json").write_text("{not json")
    with pytest.raises(EngineMismatchError, match="not valid JSON"):
        read_sidecar(tmp_path / "x.plan")
    (tmp_path / "x.plan.json").write_text(json.dumps({"format": "golf-rt-engine/1", "precision": "fp16"}))
    with pytest.raises(EngineMismatchError, match="expected 'golf-rt-engine/2': rebuild"):
        read_sidecar(tmp_path / "x.plan")
    (tmp_path / "x.plan.json").write_text(json.dumps({"format": "golf-rt-engine/2", "precision": "fp16"}))
    with pytest.raises(EngineMismatchError, match="incomplete"):
        read_sidecar(tmp_path / "x.plan")


def test_matching_machine_is_accepted():
    check_sidecar(sidecar(), H100)


@pytest.mark.parametrize(
    ("running", "message"),
    [
        (replace(H100, tensorrt_version="10.12.0.36"), r"TensorRT 10.13.3.9 \(running 10.12.0.36\)"),
        (Machine("10.13.3.9", "NVIDIA L4", "8.9"), r"compute capability 9.0 \(running 8.9\)"),
        (replace(H100, gpu_name="NVIDIA H100 PCIe"), "GPU 'NVIDIA H100 80GB HBM3'"),
    ],
)
def test_mismatch_is_refused_with_the_reason(running, message):
    with pytest.raises(EngineMismatchError, match=message) as info:
        check_sidecar(sidecar(), running)
    assert "rebuild it here with `golf-rt build-engine`" in str(info.value)


def test_version_compatible_plans_run_on_later_tensorrt_of_the_same_major():
    portable = sidecar(version_compatible=True)
    check_sidecar(portable, replace(H100, tensorrt_version="10.16.1.11"))
    for running in ("10.12.0.36", "11.4.0.106"):
        with pytest.raises(EngineMismatchError, match="TensorRT 10.13.3.9"):
            check_sidecar(portable, replace(H100, tensorrt_version=running))


def test_stale_reasons_name_what_changed():
    options = BuildOptions("fp16")
    assert stale_reasons(sidecar(), H100, "ab" * 32, options) == []
    reasons = stale_reasons(sidecar(), replace(H100, tensorrt_version="10.14.1.48"), "cd" * 32, options)
    assert reasons == ["TensorRT 10.13.3.9 (running 10.14.1.48)", "ONNX file abababababab (now cdcdcdcdcdcd)"]
    narrow = BuildOptions("fp16", profiles=TWO_PROFILES[:1], version_compatible=True)
    reasons = stale_reasons(sidecar(), H100, "ab" * 32, narrow)
    assert reasons[0].startswith("profiles 1x3x4x4:4x3x384x384:4x3x384x384 (asked 1x3x4x4:1x3x256x256")
    assert "version compatible" in reasons[1]


def test_a_plan_whose_bytes_changed_since_its_build_is_stale():
    options = BuildOptions("fp16")
    built = replace(sidecar(), engine_sha256="ef" * 32)
    assert stale_reasons(built, H100, "ab" * 32, options, engine_sha256="ef" * 32) == []
    (reason,) = stale_reasons(built, H100, "ab" * 32, options, engine_sha256="00" * 32)
    assert reason.startswith("a plan file whose bytes changed")
    assert stale_reasons(sidecar(), H100, "ab" * 32, options, engine_sha256="00" * 32) == []  # older sidecar: no hash


def test_tensorrt_execution_provider_gets_every_profile():
    options = tensorrt_ep_profile_options("BLURRY", TWO_PROFILES)
    assert options == {
        "trt_profile_min_shapes": "BLURRY:1x3x4x4,BLURRY:1x3x4x4",
        "trt_profile_opt_shapes": "BLURRY:1x3x256x256,BLURRY:1x3x1080x1920",
        "trt_profile_max_shapes": "BLURRY:4x3x1024x1024,BLURRY:4x3x1920x1920",
    }


def test_engine_sources_from_a_folder_name_the_missing_file(tmp_path):
    for name in ("fused_x5.onnx", "f.onnx"):
        (tmp_path / name).write_bytes(b"onnx")
    with pytest.raises(ModelFileError, match=r"g_x5.onnx is missing: run `golf-rt export --iterations 5"):
        engine_sources(tmp_path, 5)
    (tmp_path / "g_x5.onnx").write_bytes(b"onnx")
    names = {"fused": "fused_x5.onnx", "f": "f.onnx", "g_unrolled": "g_x5.onnx"}
    assert engine_sources(tmp_path, 5) == {part: tmp_path / name for part, name in names.items()}


@pytest.mark.slow
def test_engine_sources_without_a_folder_find_each_part_for_any_iterations():
    """f.onnx is shipped while fused_x1/g_x1 are exported into the cache: each part is found on its own."""
    pytest.importorskip("torch", reason="exporting fused_x1 needs torch")
    files = engine_sources(None, 1)
    assert [p.name for p in files.values()] == ["fused_x1.onnx", "f.onnx", "g_x1.onnx"]
    assert all(p.is_file() for p in files.values())
