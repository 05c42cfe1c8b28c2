import pytest
import torch

from golf_rt.errors import CheckpointError
from golf_rt.model import checkpoint
from golf_rt.model.networks import GolfOptimizer, build_f, build_g
from training.combine import combine, combined_metadata


def saved(path, seed: int, padding: str = "reflect", step: int = 1):
    torch.manual_seed(seed)
    model = GolfOptimizer(build_f(padding=padding), build_g(padding=padding))
    return model, checkpoint.save(model, path, {"step": step})


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_the_pair_takes_f_from_one_checkpoint_and_g_from_the_other(tmp_path):
    newer, f_path = saved(tmp_path / "f.safetensors", seed=1, step=9000)
    trained, g_path = saved(tmp_path / "g.safetensors", seed=2, step=12000)
    pair = combine(f_path, g_path)
    assert same(pair.f, newer.f) and same(pair.g, trained.g)
    assert not same(pair.f, trained.f)
    sources = combined_metadata(f_path, g_path)["combined"]
    assert (sources["F"]["step"], sources["G"]["step"]) == (9000, 12000)
    assert sources["F"]["sha256"] == checkpoint.file_sha256(f_path)


def test_an_f_of_another_architecture_is_refused(tmp_path):
    _, f_path = saved(tmp_path / "f.safetensors", seed=1, padding="zeros")
    _, g_path = saved(tmp_path / "g.safetensors", seed=2, padding="reflect")
    with pytest.raises(CheckpointError, match="not the architecture"):
        combine(f_path, g_path)
