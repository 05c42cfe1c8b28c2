"""Train F (stage 1), then G with F frozen (stage 2). The whole loop fits in this file.

    python -m training.train --stage F --preset cpu --output runs/F
    python -m training.train --stage G --preset cpu --init runs/F/best.safetensors --output runs/G
    torchrun --nproc-per-node 2 -m training.train ...   # data-parallel (gloo on CPU, nccl on GPU)

Loss (Eq. 6): L = Lc + lambda_p * Lp, Lc pixel MSE, Lp VGG-11-BN feature MSE. Stage 2 (Eq. 4)
averages that loss over the iterates G^i(F(y)), i = 1..N. Learning rate: Adam at lr0, decayed
exponentially so that it reaches lr0 * gamma**decades at the last step. The paper's "decay to
gamma^-11 with gamma = 0.3" is read as decades = 11 (lr0 * 0.3**11 at the end); short CPU runs
use fewer decades so the rate does not vanish halfway.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from golf_rt import checkpoint
from golf_rt.metrics import psnr, to_uint8
from golf_rt.networks import PADDINGS, RESIDUAL_SCALES, GolfOptimizer, build_f, build_g
from golf_rt.synthetic import HELD_OUT_MODELS, TRAINING_MODELS, BlurSpec
from training import photos as photo_sets
from training.batches import batch_loader
from training.data import GoProPairs, SyntheticConfig, SyntheticPairs, folder_images, native_config, skimage_images
from training.finite_steps import FiniteSteps
from training.losses import LOSSES, stage_loss
from training.resume_state import load_state, save_state
from training.validation import score_gains, unseen_validation_set

VALIDATIONS = ("native", "unseen")
INTEGER_OPTIONS = (
    "steps",
    "batch",
    "crop",
    "train-iterations",
    "seed",
    "val-every",
    "val-pairs",
    "kernel-bank",
    "workers",
)


@dataclass(frozen=True)
class TrainConfig:
    stage: str = "F"
    steps: int = 3000
    batch: int = 8
    crop: int = 96
    lr: float = 1e-3
    gamma: float = 0.3
    decades: float = 3.0
    lambda_p: float = 0.0
    vgg_weights: str | None = None
    train_iterations: int = 5
    data: str = "synthetic"
    procedural_fraction: float = 0.3
    scale_range: tuple[float, float] = (0.5, 1.0)
    kernel_extent: tuple[int, int] = (5, 31)
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    trajectory: str = "shake"
    sharp_fraction: float = 0.0
    quantize: bool = False
    kernel_bank: int = 0
    seed: int = 0
    val_every: int = 250
    val_pairs: int = 24
    device: str = "cpu"
    amp: str = "none"
    residual_scale: str = "none"
    padding: str = "zeros"
    loss: str = "mse"
    fft_weight: float = 0.0
    validation: str = "native"
    photos: str = str(photo_sets.DEFAULT_FOLDER)
    workers: int = 0

    def __post_init__(self) -> None:
        if self.stage not in ("F", "G"):
            raise ValueError(f"stage must be 'F' or 'G', got {self.stage!r}")
        if self.lambda_p > 0 and not self.vgg_weights:
            raise ValueError("the perceptual loss needs --vgg-weights (torchvision's vgg11_bn state dict); "
                             "or train with --lambda-p 0")  # fmt: skip
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.trajectory not in TRAINING_MODELS:
            held_out = ", ".join(HELD_OUT_MODELS)
            raise ValueError(
                f"trajectory must be one of {TRAINING_MODELS} ({held_out}: held out), got {self.trajectory!r}"
            )
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {self.padding!r}")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"validation must be one of {VALIDATIONS}, got {self.validation!r}")
        if self.amp not in ("none", "bf16"):
            raise ValueError(f"amp must be 'none' or 'bf16', got {self.amp!r}")
        if self.steps < 1 or self.batch < 1 or self.train_iterations < 1:
            raise ValueError("steps, batch and train_iterations must be positive")


PRESETS = {
    "paper": dict(crop=256, batch=4, decades=11.0, lambda_p=5e-6, val_every=5000, val_pairs=64),
    "cpu": dict(crop=96, batch=8, decades=3.0, lambda_p=0.0, val_every=250, val_pairs=24, amp="bf16"),
}
PAPER_STEPS = {"F": 500_000, "G": 200_000}
CPU_STEPS = {"F": 3000, "G": 1500}


def build_datasets(config: TrainConfig, rank: int) -> tuple[torch.utils.data.Dataset, list]:
    """Training set and a fixed validation list of (blurry, sharp) pairs."""
    if config.data.startswith("gopro:"):
        root = config.data.split(":", 1)[1]
        train = GoProPairs(root, "train", config.crop, seed=config.seed + rank)
        test = GoProPairs(root, "test", crop=config.crop, seed=12345)
        return train, [test[i] for i in range(min(config.val_pairs, len(test)))]
    if config.data.startswith("folder:"):
        images = folder_images(config.data.split(":", 1)[1])
    elif config.data == "photos":  # scikit-image's photos plus the wallpaper photos
        images = skimage_images() + photo_sets.training_photos(Path(config.photos))
    else:
        images = skimage_images()
    synthetic = SyntheticConfig(
        crop=config.crop,
        procedural_fraction=config.procedural_fraction,
        scale_range=config.scale_range,
        blur=BlurSpec(
            extent=config.kernel_extent, model=config.trajectory, noise_sigma=config.noise_sigma,
            quantize=config.quantize, sharp_fraction=config.sharp_fraction, kernel_bank=config.kernel_bank,
        ),
    )  # fmt: skip
    train = SyntheticPairs(images, synthetic, seed=config.seed, length=config.steps * config.batch)
    # Validation looks like deployment: photos at native scale, 9-23 px, sigma 0.01, 8 bits.
    validation = SyntheticPairs(images, native_config(128, config.trajectory), seed=10_000, length=config.val_pairs)
    return train, [validation[i] for i in range(len(validation))]


def bank_validation(config: TrainConfig, train_set: torch.utils.data.Dataset) -> list:
    """The validation photos blurred with the training bank's kernels; empty without a bank.

    Shows how well the seen kernels are inverted, next to the main validation on unseen ones.
    """
    if not config.kernel_bank or not isinstance(train_set, SyntheticPairs):
        return []
    native = native_config(128, config.trajectory)
    blur = dataclasses.replace(train_set.config.blur, noise_sigma=native.blur.noise_sigma, quantize=True,
                               sharp_fraction=0.0)  # fmt: skip
    config_seen = dataclasses.replace(native, blur=blur)
    pairs = SyntheticPairs(train_set.images, config_seen, seed=10_000, length=config.val_pairs)
    return [pairs[i] for i in range(len(pairs))]


def mean_input_psnr(pairs: list) -> float:
    return float(np.mean([psnr(to_uint8(b.permute(1, 2, 0).numpy()), to_uint8(s.permute(1, 2, 0).numpy()))
                          for b, s in pairs]))  # fmt: skip


def describe_data(config: TrainConfig) -> str:
    """What the checkpoint was trained on, in words, for its metadata and model card."""
    if config.data not in ("synthetic", "photos"):
        return config.data
    low, high = config.kernel_extent
    extras = f", {config.sharp_fraction:.0%} left unblurred" if config.sharp_fraction else ""
    extras += ", 8 bits" if config.quantize else ""
    extras += f", from a bank of {config.kernel_bank} kernels" if config.kernel_bank else ""
    return (
        f"synthetic camera shake ({config.trajectory} trajectories, {low}-{high} px, noise sigma "
        f"{config.noise_sigma[0]:g}-{config.noise_sigma[1]:g}{extras}) over scikit-image's bundled photos listed in "
        f"training/data.py SKIMAGE_TRAINING"
        + (", the wallpaper photos in training/photos.py TRAINING_PHOTOS" if config.data == "photos" else "")
        + f" (zoom {config.scale_range[0]:g}-{config.scale_range[1]:g}), "
        f"{config.procedural_fraction:.0%} procedural dead-leaves images"
    )


@torch.no_grad()
def validate(model: GolfOptimizer, pairs: list, device: torch.device, iterations: int) -> float:
    """Mean PSNR (uint8, data range 255) of F (stage 1) or F + G x iterations (stage 2)."""
    model.eval()
    scores = []
    for blurry, sharp in pairs:
        x = model.f(blurry[None].to(device))
        for _ in range(iterations):
            x = model.g(x)
        out = x[0].permute(1, 2, 0).cpu().numpy()
        scores.append(psnr(to_uint8(out), to_uint8(sharp.permute(1, 2, 0).numpy())))
    model.train()
    return float(np.mean(scores))


def train(config: TrainConfig, output: Path, init: str | None = None, resume: bool = False,
          command: str = "") -> Path:  # fmt: skip
    """Run one stage; returns the path of the best checkpoint (by validation PSNR)."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if config.device.startswith("cuda") else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(config.device)
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(config.seed)

    output.mkdir(parents=True, exist_ok=True)
    resuming = resume and (output / "last.state.safetensors").is_file()
    if resuming:
        model = checkpoint.load(output / "last.safetensors")
    else:
        scale, padding = config.residual_scale, config.padding
        model = checkpoint.load(init) if init else GolfOptimizer(build_f(scale, padding), build_g(scale, padding))
        model.f.set_padding(padding), model.g.set_padding(padding)
    model.to(device).train()
    trained = model.f if config.stage == "F" else model.g
    model.f.requires_grad_(config.stage == "F")
    step_module: nn.Module = nn.parallel.DistributedDataParallel(trained) if distributed else trained
    optimizer = torch.optim.Adam(trained.parameters(), lr=config.lr, betas=(0.9, 0.999))
    start, best = load_state(output / "last.state.safetensors", optimizer) if resuming else (0, -float("inf"))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: config.gamma ** (config.decades * min(s, config.steps) / config.steps)
    )
    for _ in range(start):  # bring the rate to where the resumed run left it
        schedule.step()
    perceptual = None
    if config.lambda_p > 0:
        from training.perceptual import PerceptualLoss

        perceptual = PerceptualLoss(config.vgg_weights).to(device)

    train_set, validation = build_datasets(config, rank)
    unseen = (
        unseen_validation_set(Path(config.photos), config.val_pairs)
        if config.validation == "unseen" and rank == 0
        else None
    )
    input_psnr = mean_input_psnr(validation)
    seen_kernels = bank_validation(config, train_set) if rank == 0 else []
    seen_input_psnr = mean_input_psnr(seen_kernels) if seen_kernels else None
    val_iterations = 0 if config.stage == "F" else 3
    metadata = {"training": {**dataclasses.asdict(config), "command": command},
                "data": describe_data(config), "stage": config.stage}  # fmt: skip
    if init:  # stage G records how the F it builds on was trained
        metadata["init"] = {"sha256": checkpoint.file_sha256(init), **checkpoint.read_metadata(init)}
    log = open(output / "log.jsonl", "a") if rank == 0 else None
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, disable=rank != 0,
               desc=f"stage {config.stage}", dynamic_ncols=True, file=sys.stderr)  # fmt: skip
    began = time.time()
    finite = FiniteSteps(trained.parameters())
    batches = iter(batch_loader(train_set, config, start, world, rank))
    for step in bar:
        blurry, sharp = (t.to(device) for t in next(batches))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp == "bf16"):
            weighted = (lambda x, y: config.lambda_p * perceptual(x, y)) if perceptual else None
            loss = stage_loss(model.f, step_module, blurry, sharp, config.stage, config.train_iterations, config.loss,
                              config.fft_weight, weighted)  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if finite.allows(loss, step + 1):
            optimizer.step()
        schedule.step()
        done = step + 1
        if rank == 0:
            bar.set_postfix(loss=f"{loss.item():.5f}", best_val=f"{best:.2f}", lr=f"{schedule.get_last_lr()[0]:.1e}")
        if done % config.val_every == 0 or done == config.steps:
            if rank == 0:
                score = validate(model, validation, device, val_iterations)
                record = {"step": done, "loss": loss.item(), "val_psnr": score, "val_input_psnr": input_psnr,
                          "seconds": time.time() - began, "skipped_steps": finite.skipped}  # fmt: skip
                if unseen is not None:  # choose by the unseen set's mean gain, sharp crops included
                    record["native_val_psnr"] = score
                    record.update(unseen_scores := score_gains(model, unseen, device, val_iterations))
                    score = unseen_scores["val_score"]
                if seen_kernels:
                    record["val_bank_psnr"] = validate(model, seen_kernels, device, val_iterations)
                    record["val_bank_input_psnr"] = seen_input_psnr
                log.write(json.dumps(record) + "\n")
                log.flush()
                metrics = {"val_psnr": score, "val_input_psnr": input_psnr, "step": done}
                checkpoint.save(model, output / "last.safetensors", {**metadata, "step": done, "metrics": metrics})
                save_state(output / "last.state.safetensors", optimizer, done, max(best, score))
                if score > best:
                    best = score
                    checkpoint.save(model, output / "best.safetensors", {**metadata, "step": done, "metrics": metrics})
                bar.set_postfix(loss=f"{loss.item():.5f}", best_val=f"{best:.2f}")
            if distributed:
                dist.barrier()
    if log:
        log.close()
    if distributed:
        dist.destroy_process_group()
    return output / "best.safetensors"


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=("F", "G"), required=True)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--output", type=Path, required=True, help="run folder: best/last checkpoints, log.jsonl")
    parser.add_argument("--init", help="checkpoint to start from (stage G: the trained F)")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.*")
    parser.add_argument("--data", help="synthetic (default: scikit-image's photos), photos (plus the wallpaper "
                                       "photos), folder:PATH or gopro:PATH (GOPRO_Large)")  # fmt: skip
    parser.add_argument("--vgg-weights", help="torchvision vgg11_bn state dict (.safetensors or .pth)")
    for name in INTEGER_OPTIONS:
        parser.add_argument(f"--{name}", type=int)
    for name in ("lr", "gamma", "decades", "lambda-p", "procedural-fraction", "sharp-fraction", "fft-weight"):
        parser.add_argument(f"--{name}", type=float)
    parser.add_argument("--scale-range", type=float, nargs=2, metavar=("MIN", "MAX"), help="photo zoom-out range")
    parser.add_argument("--kernel-extent", type=int, nargs=2, metavar=("MIN", "MAX"))
    parser.add_argument("--noise-sigma", type=float, nargs=2, metavar=("MIN", "MAX"))
    parser.add_argument("--trajectory", choices=TRAINING_MODELS,
                        help="kernel model: shake (gentle paths), wide-shake (straight to tangled), random-walk "
                             "(compact, uneven dwell) or mixed (all three)")  # fmt: skip
    parser.add_argument("--padding", choices=PADDINGS, help="convolution padding: zeros (default) or reflect")
    parser.add_argument("--validation", choices=VALIDATIONS,
                        help="native: crops of the training photos; unseen: the validation photos, spline kernels, "
                             "a quarter sharp crops (needs `python -m training.photos`)")  # fmt: skip
    parser.add_argument("--photos", help="folder of the wallpaper photos (default data/photos)")
    parser.add_argument("--quantize", action="store_true", default=None, help="round blurry inputs to 8 bits")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--residual-scale",
        choices=RESIDUAL_SCALES,
        help="none (default): the paper's network; gradient: the branch's output scales with the input's detail",
    )
    parser.add_argument("--loss", choices=LOSSES, help="pixel loss: mse (the paper's) or psnr (mean per-image dB)")
    parser.add_argument("--amp", choices=("none", "bf16"), help="bf16 autocast (2x faster on CPUs with AVX512-BF16)")
    args = parser.parse_args(argv)
    values = dict(PRESETS[args.preset])
    values["steps"] = (PAPER_STEPS if args.preset == "paper" else CPU_STEPS)[args.stage]
    for field in dataclasses.fields(TrainConfig):
        given = getattr(args, field.name, None)
        if given is not None:
            values[field.name] = tuple(given) if isinstance(given, list) else given
    values["stage"] = args.stage
    values["device"] = args.device
    return TrainConfig(**values), args


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    command = "python -m training.train " + " ".join(sys.argv[1:] if argv is None else argv)
    best = train(config, args.output, init=args.init, resume=args.resume, command=command)
    if int(os.environ.get("RANK", "0")) == 0:
        print(best)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
