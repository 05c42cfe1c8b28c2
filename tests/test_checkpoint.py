import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from golf_rt.errors import CheckpointError  # noqa: E402
from golf_rt.model import checkpoint  # noqa: E402
from golf_rt.model.networks import GolfOptimizer, build_f, build_g  # noqa: E402


def perturbed_model() -> GolfOptimizer:
    torch.manual_seed(0)
    model = GolfOptimizer(build_f(), build_g(), iterations=2)
    for net in (model.f, model.g):
        torch.nn.init.normal_(net.branch[-1].weight, std=0.01)
    return model.eval()


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model = perturbed_model()
    path = checkpoint.save(model, tmp_path / "m.safetensors", {"step": 7, "metrics": {"val_psnr": 25.0}})
    meta = checkpoint.read_metadata(path)
    assert meta["filters"] == {"F": 32, "G": 16}
    assert meta["iterations"] == 2 and meta["step"] == 7
    loaded = checkpoint.load(path)
    x = torch.rand(1, 3, 21, 19)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert checkpoint.load(path, iterations=5).iterations == 5


def test_extra_tensors_travel_beside_the_networks_and_the_file_appears_whole(tmp_path):
    from safetensors.torch import load_file

    model = perturbed_model()
    moments = {"adam.0.exp_avg": torch.arange(4.0)}
    path = checkpoint.save(model, tmp_path / "state.safetensors", {"resume": {"step": 3}}, extra_tensors=moments)
    assert torch.equal(load_file(str(path))["adam.0.exp_avg"], torch.arange(4.0))
    assert checkpoint.read_metadata(path)["resume"] == {"step": 3}
    x = torch.rand(1, 3, 17, 17)
    with torch.no_grad():
        assert torch.equal(checkpoint.load(path)(x), model(x))
    assert [p.name for p in tmp_path.iterdir()] == ["state.safetensors"]  # no temporary file left
    with pytest.raises(ValueError, match="shadow"):
        checkpoint.save(model, tmp_path / "bad.safetensors", {}, extra_tensors={"F.head.weight": torch.zeros(1)})


def test_missing_and_foreign_files_raise_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "absent.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        checkpoint.read_metadata(garbage)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a golf-rt checkpoint"):
        checkpoint.read_metadata(foreign)


def test_wrong_weights_are_refused(tmp_path):
    model = GolfOptimizer(build_g(), build_g())  # F with 16 filters but metadata will say 32
    path = checkpoint.save(model, tmp_path / "bad.safetensors", {})
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        meta = json.loads(handle.metadata()["golf_rt"])
    meta["filters"]["F"] = 32
    save_file(tensors, str(path), metadata={"golf_rt": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="weights of F do not fit"):
        checkpoint.load(path)


def rewrite_metadata(path, change) -> None:
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        meta = json.loads(handle.metadata()["golf_rt"])
    change(meta)
    save_file(tensors, str(path), metadata={"golf_rt": json.dumps(meta)})


def test_residual_scale_round_trips_and_older_files_mean_the_papers_network(tmp_path):
    model = GolfOptimizer(build_f("none"), build_g("gradient"))
    path = checkpoint.save(model, tmp_path / "m.safetensors", {})
    assert checkpoint.read_metadata(path)["residual_scale"] == {"F": "none", "G": "gradient"}
    loaded = checkpoint.load(path)
    assert (loaded.f.residual_scale, loaded.g.residual_scale) == ("none", "gradient")

    rewrite_metadata(path, lambda meta: meta.pop("residual_scale"))
    loaded = checkpoint.load(path)
    assert (loaded.f.residual_scale, loaded.g.residual_scale) == ("none", "none")

    rewrite_metadata(path, lambda meta: meta.update(residual_scale={"F": "std", "G": "none"}))
    with pytest.raises(CheckpointError, match="architecture"):
        checkpoint.load(path)


def test_padding_round_trips_and_older_files_mean_zero_padding(tmp_path):
    model = GolfOptimizer(build_f(padding="reflect"), build_g())
    path = checkpoint.save(model, tmp_path / "m.safetensors", {})
    assert checkpoint.read_metadata(path)["padding"] == {"F": "reflect", "G": "zeros"}
    loaded = checkpoint.load(path)
    assert (loaded.f.padding, loaded.g.padding) == ("reflect", "zeros")

    rewrite_metadata(path, lambda meta: meta.pop("padding"))
    assert checkpoint.load(path).f.padding == "zeros"

    rewrite_metadata(path, lambda meta: meta.update(padding={"F": "mirror", "G": "zeros"}))
    with pytest.raises(CheckpointError, match="architecture"):
        checkpoint.load(path)
