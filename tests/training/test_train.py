import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from golf_rt import checkpoint
from training.losses import pixel_loss
from training.train import TrainConfig, bank_validation, build_datasets, describe_data, parse_args, train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """One small natural image: a task easy enough to learn in a few dozen steps."""
    import skimage.data
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(skimage.data.astronaut()).resize((64, 64), Image.BICUBIC).save(folder / "a.png")
    return folder


def tiny(stage: str, steps: int, folder: Path, **overrides) -> TrainConfig:
    values = dict(
        stage=stage, steps=steps, batch=4, crop=24, val_every=steps, val_pairs=2, seed=3, lr=1e-4, decades=0.0,
        data=f"folder:{folder}", procedural_fraction=0.0, kernel_extent=(3, 5), noise_sigma=(0.0, 0.0), amp="none",
    )  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def fixed_loss(model, config: TrainConfig, stage: str) -> float:
    """Training loss of the stage on a fixed batch from the training distribution."""
    data, _ = build_datasets(config, rank=0)
    pairs = [data[i] for i in range(8)]
    blurry = torch.stack([p[0] for p in pairs])
    sharp = torch.stack([p[1] for p in pairs])
    with torch.no_grad():
        xs = model.trajectory(blurry, config.train_iterations)
    outputs = xs[:1] if stage == "F" else xs[1:]
    return float(torch.stack([torch.nn.functional.mse_loss(x, sharp) for x in outputs]).mean())


@pytest.mark.slow
def test_each_stage_lowers_its_loss_and_resumes(tmp_path, image_folder):
    config_f = tiny("F", 25, image_folder)
    before = fixed_loss(checkpoint.load(train(tiny("F", 1, image_folder, lr=0.0), tmp_path / "F0")), config_f, "F")
    f_path = train(config_f, tmp_path / "F")
    trained_f = checkpoint.load(f_path)
    assert fixed_loss(trained_f, config_f, "F") < 0.97 * before

    config_g = tiny("G", 15, image_folder, train_iterations=2)
    g_before = fixed_loss(trained_f, config_g, "G")
    g_path = train(config_g, tmp_path / "G", init=str(f_path))
    trained = checkpoint.load(g_path)
    assert fixed_loss(trained, config_g, "G") < g_before
    for a, b in zip(trained.f.parameters(), trained_f.parameters()):
        assert torch.equal(a, b), "stage G must leave F frozen"
    meta = checkpoint.read_metadata(g_path)
    assert meta["stage"] == "G" and meta["training"]["train_iterations"] == 2

    # resume: a longer run continues from the last step instead of starting again
    log = tmp_path / "F" / "log.jsonl"
    train(tiny("F", 30, image_folder, val_every=5), tmp_path / "F", resume=True)
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert steps == [25, 30]
    assert checkpoint.read_metadata(tmp_path / "F" / "last.safetensors")["step"] == 30


def test_a_kernel_bank_run_also_validates_on_the_seen_kernels(tmp_path, image_folder):
    config = tiny("F", 2, image_folder, kernel_bank=2, val_every=2, crop=32)
    assert len(bank_validation(config, build_datasets(config, rank=0)[0])) == 2
    train(config, tmp_path / "bank")
    (record,) = [json.loads(line) for line in (tmp_path / "bank" / "log.jsonl").read_text().splitlines()]
    assert record["val_bank_input_psnr"] != record["val_input_psnr"]  # other kernels, same photos
    assert 10.0 < record["val_bank_psnr"] < 60.0
    plain = tiny("F", 2, image_folder)
    assert bank_validation(plain, build_datasets(plain, rank=0)[0]) == []


def test_psnr_loss_is_minus_the_mean_per_image_psnr():
    sharp = torch.rand(2, 3, 16, 16)
    output = sharp.clone()
    output[0] += 0.1  # 20 dB
    output[1] += 0.01  # 40 dB
    assert pixel_loss(output, sharp, "psnr").item() == pytest.approx(-30.0, abs=0.25)  # 50 dB floor
    assert pixel_loss(output, sharp, "mse").item() == pytest.approx(0.00505, rel=1e-3)
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l3")


def test_cli_presets_and_overrides():
    config, args = parse_args(["--stage", "G", "--preset", "paper", "--output", "x", "--lambda-p", "0"])
    assert (config.crop, config.batch, config.steps, config.train_iterations) == (256, 4, 200_000, 5)
    assert config.decades == 11.0 and config.lr == 1e-3
    config, _ = parse_args(["--stage", "F", "--output", "x", "--crop", "64", "--kernel-extent", "5", "9"])
    assert config.crop == 64 and config.kernel_extent == (5, 9) and config.steps == 3000
    config, _ = parse_args(["--stage", "F", "--output", "x", "--loss", "psnr", "--residual-scale", "none"])
    assert (config.loss, config.residual_scale) == ("psnr", "none")
    config, _ = parse_args(["--stage", "F", "--output", "x", "--trajectory", "wide-shake", "--sharp-fraction", "0.05",
                            "--quantize", "--kernel-bank", "64"])  # fmt: skip
    assert (config.trajectory, config.sharp_fraction, config.quantize) == ("wide-shake", 0.05, True)
    words = describe_data(config)
    assert "wide-shake" in words and "5% left unblurred" in words and "8 bits" in words
    assert config.kernel_bank == 64 and "bank of 64 kernels" in words
    assert parse_args(["--stage", "F", "--output", "x"])[0].quantize is False
    with pytest.raises(ValueError, match="held out"):
        TrainConfig(trajectory="spline")
    with pytest.raises(SystemExit):
        parse_args(["--stage", "F", "--output", "x", "--trajectory", "spline"])


@pytest.mark.slow
def test_data_parallel_training_with_two_cpu_processes(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
        "-m", "training.train", "--stage", "F", "--steps", "3", "--crop", "32", "--batch", "2",
        "--val-every", "3", "--val-pairs", "2", "--amp", "none", "--output", str(tmp_path / "ddp"),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert checkpoint.read_metadata(tmp_path / "ddp" / "last.safetensors")["step"] == 3
    assert len((tmp_path / "ddp" / "log.jsonl").read_text().splitlines()) == 1


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
    command = [sys.executable, "-m", "training.train", "--stage", "F", "--steps", "4", "--batch", "4", "--crop", "24",
               "--val-every", "4", "--val-pairs", "4", "--amp", "none", "--data", "photos", "--photos", str(folder),
               "--validation", "unseen", "--padding", "reflect", "--loss", "charbonnier", "--fft-weight", "0.05",
               "--workers", "1", "--trajectory", "mixed", "--init", str(checkpoint.default_checkpoint_path()),
               "--output", str(tmp_path / "F")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    path = Path(subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip())
    record = json.loads((tmp_path / "F" / "log.jsonl").read_text().splitlines()[-1])
    assert {"val_score", "val_blurred_gain", "val_sharp_gain", "val_worst_gain", "native_val_psnr"} <= record.keys()
    assert checkpoint.load(path).f.padding == "reflect"
    assert "TRAINING_PHOTOS" in checkpoint.read_metadata(path)["data"]
