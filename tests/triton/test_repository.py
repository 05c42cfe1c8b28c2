"""Writing whole repositories: model files in place, GPU plans checked against their profiles, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tritonclient", reason="tritonclient is not installed (pip install -e '.[client]')")

from golf_rt.artifacts.engines import DEFAULT_PROFILES, Profile, write_sidecar  # noqa: E402
from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.parser import read_config  # noqa: E402
from golf_rt.triton.repository import RepositorySpec, cached_repository, write_repository  # noqa: E402
from tests.sidecars import sidecar  # noqa: E402


def _fake_plans(folder: Path, max_batch: int, **changes) -> Path:
    folder.mkdir()
    profiles = tuple(
        Profile(p.min, (min(max_batch, p.opt[0]), *p.opt[1:]), (max_batch, *p.max[1:])) for p in DEFAULT_PROFILES
    )
    for name in ("fused_x3_fp16.plan", "f_fp16.plan", "g_x3_fp16.plan"):
        (folder / name).write_bytes(b"plan")
        write_sidecar(folder / name, sidecar(profiles=profiles, onnx_name=name, **changes.get(name, {})))
    return folder


@pytest.mark.parametrize("layout", ["ensemble", "fused"])
def test_gpu_repository_places_the_plans_named_by_the_configs(tmp_path: Path, layout: str) -> None:
    plans = _fake_plans(tmp_path / "plans", max_batch=4)
    repository = write_repository(RepositorySpec(target="gpu", layout=layout), tmp_path / "repo", models=plans)
    for model_dir in (p for p in repository.iterdir() if p.name != "golf" or layout == "fused"):
        config = read_config(model_dir)
        assert config.max_batch_size == 4 and config.instance_group.profiles == (0,)
        assert (model_dir / "1" / config.default_model_filename).read_bytes() == b"plan"


def test_gpu_configs_offer_every_profile_of_the_plans(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("f_fp16.plan", "g_x3_fp16.plan"):
        (plans / name).write_bytes(b"plan")
        write_sidecar(plans / name, sidecar(profiles=DEFAULT_PROFILES[:1], version_compatible=True))
    repository = write_repository(RepositorySpec(target="gpu"), tmp_path / "repo", models=plans)
    assert read_config(repository / "golf_f").instance_group.profiles == (0,)


def test_gpu_plans_that_disagree_are_refused(tmp_path: Path) -> None:
    plans = _fake_plans(tmp_path / "plans", max_batch=4, **{"f_fp16.plan": {"version_compatible": True}})
    with pytest.raises(ConfigurationError, match="must share their profiles and version compatibility"):
        write_repository(RepositorySpec(target="gpu"), tmp_path / "repo", models=plans)


def test_gpu_plan_profile_too_small_for_the_batch_is_refused(tmp_path: Path) -> None:
    plans = _fake_plans(tmp_path / "plans", max_batch=2)
    with pytest.raises(
        ConfigurationError, match="built for batches 1..2 .*--max-batch-size 2 or rebuild with a larger --profile"
    ):
        write_repository(RepositorySpec(target="gpu", layout="fused"), tmp_path / "repo", models=plans)


def test_models_folder_without_the_needed_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="has no f.onnx"):
        write_repository(RepositorySpec(), tmp_path / "repo", models=tmp_path / "empty")


def test_an_int8_repository_says_how_to_make_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "fp32-only").mkdir()
    with pytest.raises(ConfigurationError, match=r"has no f_int8.onnx.*golf-rt quantize --output"):
        write_repository(RepositorySpec(precision="int8"), tmp_path / "repo", models=tmp_path / "fp32-only")


def test_an_int8_repository_serves_the_quantised_files(tmp_path: Path) -> None:
    repo = write_repository(RepositorySpec(precision="int8", layout="fused"), tmp_path / "repo")
    assert (repo / "golf" / "1" / "fused_x3_int8.onnx").is_file()
    assert 'string_value: "int8"' in (repo / "golf" / "config.pbtxt").read_text()


def test_cached_repository_is_built_once_per_checkpoint(checkpoint_path: Path, cached_onnx: Path) -> None:
    first = cached_repository(RepositorySpec(layout="fused"), checkpoint=checkpoint_path)
    assert (first / "golf" / "1" / "fused_x3.onnx").is_file()
    assert cached_repository(RepositorySpec(layout="fused"), checkpoint=checkpoint_path) == first
    assert cached_repository(RepositorySpec(layout="fused", threads=1), checkpoint=checkpoint_path) != first


GIB = 2**30


def test_gpu_memory_is_instances_times_weights_plus_one_largest_profile_context_per_profile():
    """Triton's TensorRT backend gives each instance its own engine (dynamic shapes are not shared) and one
    execution context per listed profile, each allocated statically for the largest profile."""
    from golf_rt.triton.gpu_memory import PlanMemory, gpu_memory_lines

    plans = {
        "golf_f": PlanMemory(weights_bytes=GIB // 4, profile_memory_bytes=(1 * GIB, 3 * GIB)),
        "golf_g_x3": PlanMemory(weights_bytes=GIB // 2, profile_memory_bytes=(GIB // 2, GIB)),
    }
    assert plans["golf_f"].instance_bytes == GIB // 4 + 2 * 3 * GIB
    lines = gpu_memory_lines(2, plans, gpu_memory_gib=80)
    assert lines[0] == (
        "golf_f: 2 instance(s) x (256 MiB weights + 2 profile context(s) x 3.00 GiB, the largest profile's"
        " activations) = 12.50 GiB"
    )
    assert lines[1].endswith("= 5.00 GiB")  # 2 x (0.5 + 2 x 1); summing the profiles would say 3 + 1 GiB in all
    assert lines[-1] == "in all 17.50 GiB on each GPU before I/O buffers"


def test_gpu_memory_over_half_the_gpu_is_a_warning_that_names_the_flag():
    from golf_rt.triton.gpu_memory import PlanMemory, gpu_memory_lines

    plans = {"golf": PlanMemory(weights_bytes=GIB, profile_memory_bytes=(10 * GIB,))}
    assert gpu_memory_lines(3, plans, gpu_memory_gib=80)[-1] == "in all 33.00 GiB on each GPU before I/O buffers"
    assert gpu_memory_lines(4, plans, gpu_memory_gib=80)[-1] == (
        "warning: in all 44.00 GiB on each GPU before I/O buffers, over 50% of a 80 GiB GPU;"
        " use fewer instances (--instances N) or fewer or narrower profiles (golf-rt build-engine --profile)"
    )
    unknown = gpu_memory_lines(1, {"golf": PlanMemory(weights_bytes=0, profile_memory_bytes=())}, gpu_memory_gib=None)
    assert unknown[0] == "warning: golf: its plan's sidecar records no device memory; rebuild it to know"


def test_a_gpu_repository_estimates_from_the_plan_files_and_their_sidecars(tmp_path, caplog):
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("f_fp16.plan", "g_x3_fp16.plan"):
        (plans / name).write_bytes(b"w" * (2**20))  # 1 MiB of weights
        write_sidecar(plans / name, sidecar(profile_memory_bytes=(3 * 2**20,)))
    with caplog.at_level("WARNING", logger="golf_rt.triton.repository"):
        write_repository(RepositorySpec(target="gpu", instances=3), tmp_path / "repo", models=plans)
    assert "golf_f: 3 instance(s) x (1 MiB weights + 1 profile context(s) x 3 MiB, the largest" in caplog.text
    assert "in all 24 MiB on each GPU" in caplog.text  # 2 models x 3 x (1 + 3) MiB
