import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from golf_rt.images.synthetic import BlurSpec
from golf_rt.model import checkpoint
from training.data import SyntheticConfig, SyntheticPairs, folder_images
from training.losses import pixel_loss
from training.run_files import read_state
from training.train import train
from training.train_config import PRESETS, TrainConfig, describe_data, parse_args

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """One small natural image: a task easy enough to learn in a few dozen steps."""
    import skimage.data
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(skimage.data.astronaut()).resize((64, 64), Image.BICUBIC).save(folder / "a.png")
    return folder


def tiny(stages: str, steps: int, folder: Path, **overrides) -> TrainConfig:
    values = dict(
        stages=stages, steps=(steps, steps), batch=4, crop=(24, 24), val_every=(steps, steps), log_every=steps, seed=3,
        lr=(1e-4, 1e-4), final_lr_fraction=1.0, data=f"folder:{folder}", procedural_fraction=0.0, kernel_extent=(3, 5),
        noise_sigma=(0.0, 0.0), amp="none", val_crop=32, val_blurred=2, val_sharp=0, device="cpu",
    )  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def fixed_loss(model, folder: Path, stage: str, iterations: int = 5) -> float:
    """Training loss of the stage on a fixed batch from the training distribution."""
    config = SyntheticConfig(crop=24, procedural_fraction=0.0, blur=BlurSpec(extent=(3, 5), noise_sigma=(0.0, 0.0)))
    data = SyntheticPairs(folder_images(folder), config, seed=3, length=8)
    blurry, sharp = (torch.stack(t) for t in zip(*[data[i] for i in range(8)]))
    with torch.no_grad():
        xs = model.trajectory(blurry, iterations)
    outputs = xs[:1] if stage == "F" else xs[1:]
    return float(torch.stack([torch.nn.functional.mse_loss(x, sharp) for x in outputs]).mean())


def records(folder: Path, kind: str) -> list[dict]:
    lines = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return [r for r in lines if r["kind"] == kind]


@pytest.mark.slow
def test_each_stage_lowers_its_loss_and_resumes(tmp_path, image_folder):
    """The state holds the last weights; best.safetensors the best validated ones (here on other kernels)."""
    before = fixed_loss(checkpoint.load(train(tiny("F", 1, image_folder, lr=(0.0, 0.0)), tmp_path / "F0")["state"]),
                        image_folder, "F")  # fmt: skip
    f_path = train(tiny("F", 25, image_folder), tmp_path / "F")["state"]
    trained_f = checkpoint.load(f_path)
    assert fixed_loss(trained_f, image_folder, "F") < 0.97 * before

    g_before = fixed_loss(trained_f, image_folder, "G", 2)
    g_files = train(tiny("G", 15, image_folder, train_iterations=2, init=str(f_path)), tmp_path / "G")
    trained = checkpoint.load(g_files["state"])
    assert fixed_loss(trained, image_folder, "G", 2) < g_before
    for a, b in zip(trained.f.parameters(), trained_f.parameters()):
        assert torch.equal(a, b), "stage G must leave F frozen"
    g_path = g_files["checkpoint"]
    meta = checkpoint.read_metadata(g_path)
    assert meta["stage"] == "G" and meta["training"]["train_iterations"] == 2 and "sha256" in meta["init"]

    # resume: a longer run continues from the last step instead of starting again
    train(tiny("F", 30, image_folder, val_every=(5, 5)), tmp_path / "F", resume=True)
    assert [r["step"] for r in records(tmp_path / "F", "validation")] == [0, 25, 30]
    assert read_state(tmp_path / "F" / "state.safetensors")["step"] == 30


def test_a_run_writes_one_resumable_state_and_its_schedule(tmp_path, image_folder, one_thread):
    config = tiny("FG", 2, image_folder, lr=(1e-3, 5e-4), final_lr_fraction=0.25, train_iterations=1)
    files = train(config, tmp_path / "run")
    state = read_state(files["state"])
    assert (state["stage"], state["step"], state["done"]) == ("G", 2, ["F", "G"])
    assert state["param_groups"][0]["lr"] == pytest.approx(5e-4 * 0.25**0.5)  # the last step's rate: half-way down
    meta = checkpoint.read_metadata(files["state"])
    assert meta["training"]["lr"] == [1e-3, 5e-4] and meta["stage"] == "F+G"
    with safe_open(str(files["state"]), framework="pt") as handle:
        assert {"adam.0.exp_avg", "adam.0.exp_avg_sq", "adam.0.step"} <= set(handle.keys())
    checkpoint.load(files["state"])  # the state is a checkpoint too
    assert checkpoint.read_metadata(files["checkpoint"])["stage"] == "F+G"
    validated = [(r["stage"], r["step"]) for r in records(tmp_path / "run", "validation")]
    assert validated == [("F", 0), ("F", 2), ("G", 0), ("G", 2)]
    train(config, tmp_path / "run", resume=True)  # both stages done: nothing more to train
    assert len(records(tmp_path / "run", "validation")) == 4


def test_psnr_loss_is_minus_the_mean_per_image_psnr():
    sharp = torch.rand(2, 3, 16, 16)
    output = sharp.clone()
    output[0] += 0.1  # 20 dB
    output[1] += 0.01  # 40 dB
    assert pixel_loss(output, sharp, "psnr").item() == pytest.approx(-30.0, abs=0.25)  # 50 dB floor
    assert pixel_loss(output, sharp, "mse").item() == pytest.approx(0.00505, rel=1e-3)
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l3")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_parses_and_resolves_every_default(preset, device):
    argv = ["--preset", preset, "--output", "x", "--device", device, "--lambda-p", "0"]  # no VGG weights here
    config = parse_args(argv)[0].resolved()
    assert config.device == device
    assert None not in (
        config.batch,
        config.amp,
        config.kernel_bank,
        config.procedural_images,
        config.timing_precisions,
    )


def test_presets_differ_where_it_matters_and_options_override_them():
    def preset(name: str, *more: str) -> TrainConfig:
        return parse_args(["--preset", name, "--output", "x", *more])[0]

    with pytest.raises(ValueError, match="perceptual loss needs --vgg-weights"):
        preset("paper")  # the paper's loss has a perceptual term
    paper, shipped = preset("paper", "--lambda-p", "0"), preset("shipped")
    assert paper.of("steps", "F") > shipped.of("steps", "F") and paper.crop > shipped.crop, "the paper's long run"
    assert shipped.of("lr", "F") != shipped.of("lr", "G"), "per-stage values reach their own stage"
    assert shipped.quantize and shipped.data == "photos" and preset("cpu").data != shipped.data
    on_gpu, on_cpu = (preset("gpu", "--device", device).resolved() for device in ("cuda", "cpu"))
    assert on_gpu.batch > on_cpu.batch and on_gpu.kernel_bank > on_cpu.kernel_bank, "the GPU preset shrinks on a CPU"
    assert "fp16" in on_gpu.timing_precisions and "fp16" not in on_cpu.timing_precisions
    overridden = preset("paper", "--lambda-p", "0", "--lr", "2e-4", "--steps", "10", "20")
    assert (overridden.lambda_p, overridden.lr, overridden.steps) == (0, (2e-4, 2e-4), (10, 20))
    assert overridden.crop == paper.crop, "what is not given stays the preset's"


@pytest.mark.parametrize("native", [True, False])
def test_cpu_runs_train_in_bf16_only_where_the_cpu_has_it_natively(monkeypatch, native):
    from golf_rt.machine import environment

    monkeypatch.setattr(environment, "cpu_has_native_bf16", lambda: native)
    for preset in ("cpu", "shipped"):
        config = parse_args(["--preset", preset, "--output", "x", "--device", "cpu"])[0].resolved()
        assert config.amp == ("bf16" if native else "none")
    forced = parse_args(["--output", "x", "--device", "cpu", "--amp", "bf16"])[0].resolved()
    assert forced.amp == "bf16"
    config, _ = parse_args(["--output", "x", "--crop", "64", "--kernel-extent", "5", "9", "--lr", "1e-3", "2e-4"])
    assert config.crop == (64, 64) and config.kernel_extent == (5, 9) and config.lr == (1e-3, 2e-4)
    config, _ = parse_args(["--output", "x", "--trajectory", "wide-shake", "--sharp-fraction", "0.05", "--quantize",
                            "--kernel-bank", "64", "--no-compile"])  # fmt: skip
    words = describe_data(config)
    assert "wide-shake" in words and "5% left unblurred" in words and "8 bits" in words and "bank of 64" in words
    assert parse_args(["--output", "x"])[0].quantize is False
    with pytest.raises(ValueError, match="held out"):
        TrainConfig(trajectory="spline")
    with pytest.raises(ValueError, match="one value or two"):
        parse_args(["--output", "x", "--steps", "1", "2", "3"])
    with pytest.raises(ValueError, match="kernel bank"):
        TrainConfig(pairs_on="device", kernel_bank=0)
    with pytest.raises(SystemExit):
        parse_args(["--output", "x", "--trajectory", "spline"])


@pytest.mark.slow
def test_data_parallel_training_with_two_cpu_processes(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
        "-m", "training.train", "--stages", "F", "--steps", "3", "--crop", "32", "--batch", "2", "--device", "cpu",
        "--val-every", "3", "--val-crop", "32", "--val-blurred", "2", "--val-sharp", "0", "--amp", "none",
        "--output", str(tmp_path / "ddp"),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_state(tmp_path / "ddp" / "state.safetensors")["step"] == 3
    assert [r["step"] for r in records(tmp_path / "ddp", "validation")] == [0, 3]  # one process writes


@pytest.mark.slow
def test_wallpaper_photos_unseen_validation_reflect_padding_and_a_loader_worker(tmp_path, image_folder):
    import skimage.data
    from PIL import Image

    from training import photos

    folder = tmp_path / "photos"
    folder.mkdir()
    picture = Image.fromarray(skimage.data.coffee()).resize((200, 160))
    for name in photos.TRAINING_PHOTOS + photos.VALIDATION_PHOTOS:
        picture.save(folder / photos.file_name(name))
    # Through the command line, in its own process: the loader's worker process stays out of this one.
    command = [sys.executable, "-m", "training.train", "--stages", "F", "--steps", "4", "--batch", "4", "--crop", "24",
               "--val-every", "4", "--val-blurred", "3", "--val-sharp", "1", "--amp", "none", "--data", "photos",
               "--photos", str(folder), "--device", "cpu",
               "--validation", "unseen", "--padding", "reflect", "--loss", "charbonnier", "--fft-weight", "0.05",
               "--workers", "1", "--trajectory", "mixed", "--init", str(checkpoint.default_checkpoint_path()),
               "--output", str(tmp_path / "F")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    printed = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    path = Path(dict(line.split(" ", 1) for line in printed.splitlines())["checkpoint"])
    record = records(tmp_path / "F", "validation")[-1]
    assert {"val_score", "val_blurred_gain", "val_sharp_gain", "val_worst_gain"} <= record.keys()
    assert records(tmp_path / "F", "startup")[0]["validation"] == f"validation photos in {folder}"
    assert checkpoint.load(path).f.padding == "reflect"
    assert "TRAINING_PHOTOS" in checkpoint.read_metadata(path)["data"]
