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


def test_gpu_memory_is_reported_per_model_and_warned_over_budget():
    from golf_rt.triton.repository import RepositorySpec, gpu_memory_lines
    from tests.sidecars import sidecar

    spec = RepositorySpec(target="gpu", instances=2)
    small = {"golf_f": sidecar(profile_memory_bytes=(2**30,)), "golf_g_x3": sidecar(profile_memory_bytes=(2**29,))}
    lines = gpu_memory_lines(spec, small)
    assert lines[0] == (
        "golf_f: 2 instance(s) x 1 profile(s) = 2.00 GiB of execution-context memory (1.00 GiB per instance)"
    )
    assert lines[-1].startswith("in all 3.00 GiB")
    large = {"golf_f": sidecar(profile_memory_bytes=(40 * 2**30,)), "golf_g_x3": sidecar()}
    lines = gpu_memory_lines(spec, large)
    assert lines[1].startswith("warning: golf_g_x3: its plan's sidecar records no device memory")
    assert lines[-1].startswith("warning: in all 80.00 GiB")
