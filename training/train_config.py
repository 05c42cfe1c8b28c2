"""What a training run does: one frozen config, the named presets, and the command line that picks them.

Settings that differ between the stages take one value for both or two, F's then G's
(`--lr 3e-4 2e-4`). A run's budget is steps per stage, or `--minutes` for the whole run; with
minutes, `--val-every` and `--log-every` count seconds instead of steps. None means the device's
default (`resolved`).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path

from golf_rt.images.synthetic import HELD_OUT_MODELS, TRAINING_MODELS
from golf_rt.model.networks import PADDINGS, RESIDUAL_SCALES
from golf_rt.quality.heldout import HELDOUT_SETS
from training.gpu_timing import PRECISIONS
from training.losses import LOSSES

STAGES = ("F", "G")
PER_STAGE = ("steps", "lr", "crop", "val_every")
CHOICES = {
    "stages": ("FG", "F", "G"), "loss": LOSSES, "trajectory": TRAINING_MODELS, "padding": PADDINGS,
    "residual_scale": RESIDUAL_SCALES, "validation": ("unseen", "native"), "amp": ("none", "bf16"),
    "memory_format": ("auto", "channels_last", "contiguous"), "pairs_on": ("cpu", "device"),
}  # fmt: skip
LIST_CHOICES = {"val_blur": tuple(HELDOUT_SETS)}  # settings that take several of their choices


HELP = {
    "stages": "F, then G with F frozen; or one of them",
    "device": "cpu, cuda or cuda:N; auto: cuda when there is one",
    "init": "checkpoint to start from (stage G alone: the trained F)",
    "minutes": "wall-clock budget of the whole run; steps then only cap each stage",
    "final_lr_fraction": "Adam's rate decays exponentially to lr x this at each stage's end",
    "train_iterations": "G's loss is the mean over the iterates G^i(F(y)), i = 1..this (Eq. 4)",
    "seed": "stage F draws with this seed, stage G with seed + 1",
    "lambda_p": "weight of the VGG perceptual loss (needs --vgg-weights)",
    "data": "synthetic (scikit-image's photos), photos (plus data/photos), folder:PATH or gopro:PATH",
    "pairs_on": "cpu: loader workers blur each crop; device: drawn on the training device from a kernel bank",
    "kernel_bank": "kernels to draw from; 0: a new kernel per crop (cpu pairs only)",
    "procedural_images": "dead-leaves images made at start-up (device pairs)",
    "scale_range": "photo zoom-out (cpu pairs; device pairs crop at native scale)",
    "validation": "unseen: the validation photos of --photos; native: the training photos",
    "val_blur": "blur of the validation crops: the first chooses checkpoints, the others are logged beside it",
    "val_every": "steps between validations (seconds with --minutes)",
    "log_every": "steps between progress records (seconds with --minutes)",
    "memory_format": "auto: time both on CUDA, keep the faster",
    "report": "after training: held-out evaluation, heldout.png, benchmark-gpu.json, summary.md",
}


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run (HELP says what the less obvious ones mean); the defaults are the `cpu` preset."""

    stages: str = "FG"
    device: str = "auto"
    init: str | None = None
    steps: tuple[int, int] = (3000, 1500)
    minutes: float | None = None
    lr: tuple[float, float] = (1e-3, 1e-3)
    final_lr_fraction: float = 0.3**3
    batch: int | None = 8
    crop: tuple[int, int] = (96, 96)
    train_iterations: int = 5
    seed: int = 0
    loss: str = "mse"
    fft_weight: float = 0.0
    lambda_p: float = 0.0
    vgg_weights: str | None = None
    padding: str = "zeros"
    residual_scale: str = "none"
    data: str = "synthetic"
    photos: str = "data/photos"
    pairs_on: str = "cpu"
    workers: int = 0
    trajectory: str = "shake"
    kernel_extent: tuple[int, int] = (5, 31)
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    sharp_fraction: float = 0.0
    quantize: bool = False
    kernel_bank: int | None = 0
    procedural_fraction: float = 0.3
    procedural_images: int | None = 8
    scale_range: tuple[float, float] = (0.5, 1.0)
    validation: str = "native"
    val_blur: tuple[str, ...] = ("camera-shake",)
    val_every: tuple[float, float] = (250, 250)
    log_every: float = 50
    val_crop: int = 128
    val_blurred: int = 18
    val_sharp: int = 6
    amp: str | None = None
    memory_format: str = "contiguous"
    compile: bool = False
    report: bool = False
    eval_crops: int = 4
    eval_size: int = 256
    timing_sizes: tuple[tuple[int, int], ...] = ((256, 256), (720, 1280))
    timing_precisions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name, choices in CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in choices:
                held_out = f" ({', '.join(HELD_OUT_MODELS)}: held out)" if name == "trajectory" else ""
                raise ValueError(f"{name} must be one of {', '.join(choices)}{held_out}, got {value!r}")
        if not self.val_blur or any(name not in HELDOUT_SETS for name in self.val_blur):
            raise ValueError(f"val_blur must name one or more of {', '.join(HELDOUT_SETS)}, got {self.val_blur!r}")
        if self.lambda_p > 0 and not self.vgg_weights:
            raise ValueError("the perceptual loss needs --vgg-weights (torchvision's vgg11_bn state dict); "
                             "or train with --lambda-p 0")  # fmt: skip
        if min(self.steps) < 1 or min(self.lr) < 0 or (self.batch is not None and self.batch < 1):
            raise ValueError("steps and batch must be positive, lr >= 0")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"minutes must be positive, got {self.minutes}")
        if not 0 < self.final_lr_fraction <= 1 or self.train_iterations < 1:
            raise ValueError("final_lr_fraction must be in (0, 1] and train_iterations positive")
        if min(self.crop) <= self.kernel_extent[1] // 2 + 2:
            raise ValueError(f"crop {min(self.crop)} is too small for {self.kernel_extent[1]} px kernels")
        if self.pairs_on == "device" and (self.data.startswith("gopro:") or self.kernel_bank == 0):
            raise ValueError("device pairs blur photos with a kernel bank: not gopro data, and kernel_bank > 0")
        unknown = [p for p in self.timing_precisions or () if p not in PRECISIONS]
        if unknown:
            raise ValueError(f"unknown precision {unknown[0]!r}; choose from {', '.join(PRECISIONS)}")

    def of(self, name: str, stage: str) -> typing.Any:
        """A per-stage setting's value for stage F or G."""
        return getattr(self, name)[STAGES.index(stage)]

    @property
    def by_time(self) -> bool:
        return self.minutes is not None

    def resolved(self) -> TrainConfig:
        """The same run with the device chosen and every None replaced by the device's default."""
        import torch

        from golf_rt.machine.environment import cpu_has_native_bf16

        device = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
        gpu = device.startswith("cuda")
        # a CPU without native bf16 emulates it: 30x slower per step on a 2-core Zen 3 than fp32
        native_bf16 = not gpu and cpu_has_native_bf16()
        defaults = {
            "batch": 64 if gpu else 2, "amp": "bf16" if gpu or native_bf16 else "none",
            "kernel_bank": 16384 if gpu else 256, "procedural_images": 64 if gpu else 8,
            # CPUs lack fast fp16, and time bf16 only where they run it natively
            "timing_precisions": ("fp32", "fp16", "bf16") if gpu else ("fp32", "bf16") if native_bf16 else ("fp32",),
        }  # fmt: skip
        unset = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        return dataclasses.replace(self, device=device, **unset)


_SHIPPED_DATA = dict(data="photos", validation="unseen", padding="reflect", trajectory="mixed", kernel_extent=(3, 31),
                     sharp_fraction=0.25, quantize=True, loss="charbonnier", fft_weight=0.05)  # fmt: skip
PRESETS: dict[str, dict[str, typing.Any]] = {
    "cpu": {},
    "paper": dict(crop=(256, 256), batch=4, final_lr_fraction=0.3**11, lambda_p=5e-6, steps=(500_000, 200_000),
                  val_every=(5000, 5000), amp="none"),
    # The recipe of the shipped checkpoint (MODEL_CARD.md), on 2 CPU cores; F continued from the previous default.
    "shipped": dict(**_SHIPPED_DATA, lr=(3e-4, 2e-4), final_lr_fraction=0.3, steps=(12_000, 20_000), crop=(96, 64),
                    val_every=(250, 100), seed=41, workers=1),
    # One lent GPU for minutes: pairs drawn on the device, then the held-out evaluation and timing.
    "gpu": dict(**_SHIPPED_DATA, minutes=8.0, steps=(10**9, 10**9), pairs_on="device", batch=None, amp=None,
                kernel_bank=None, procedural_images=None, crop=(256, 256), lr=(1e-3, 5e-4), final_lr_fraction=0.1,
                val_every=(30, 30), log_every=10, val_blurred=24, val_sharp=8, memory_format="auto", report=True),
}  # fmt: skip


def describe_data(config: TrainConfig, notes: tuple[str, ...] = (), kernels: int = 0, leaves: int = 0) -> str:
    """What the checkpoint was trained on, in words, for its metadata and the model card."""
    if config.data.startswith(("gopro:", "folder:")):
        return config.data
    low, high = config.kernel_extent
    photos = "scikit-image's bundled photos listed in training/data.py SKIMAGE_TRAINING"
    if config.data == "photos" and not any("photos missing" in note for note in notes):
        photos += " and the wallpaper photos in training/photos.py TRAINING_PHOTOS"
    bank = kernels or config.kernel_bank
    blur = (f"{config.trajectory} trajectories, {low}-{high} px"
            + (f", from a bank of {bank} kernels" if bank else "")
            + f", noise sigma {config.noise_sigma[0]:g}-{config.noise_sigma[1]:g}"
            + (f", {config.sharp_fraction:.0%} left unblurred" if config.sharp_fraction else "")
            + (", 8 bits" if config.quantize else ""))  # fmt: skip
    if config.pairs_on == "device":
        where, zoom = "made on the device", "at native scale"
        leaves_words = f"crops of {leaves} dead-leaves images"
    else:
        where, zoom = "", f"(zoom {config.scale_range[0]:g}-{config.scale_range[1]:g})"
        leaves_words = "procedural dead-leaves images"
    return (f"synthetic camera shake{' ' + where if where else ''} ({blur}) over {photos} {zoom}, "
            f"{config.procedural_fraction:.0%} {leaves_words}")  # fmt: skip


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.strip().partition("x")
    if not (height.isdigit() and width.isdigit()):
        raise argparse.ArgumentTypeError(f"sizes are HxW, e.g. 256x256; got {text!r}")
    return int(height), int(width)


def parser(prog: str = "python -m training.train", preset: str = "cpu") -> argparse.ArgumentParser:
    """One option per config field (--kebab-case), typed by the field's annotation."""
    result = argparse.ArgumentParser(prog=prog, description="Train F, then G with F frozen.")
    result.add_argument("--preset", choices=sorted(PRESETS), default=preset, help=f"named settings (default {preset})")
    result.add_argument("--output", type=Path, required=True, help="run folder: best/state checkpoints, log.jsonl")
    result.add_argument("--resume", action="store_true", help="continue from OUTPUT/state.safetensors")
    for item in dataclasses.fields(TrainConfig):
        hint, flag = str(item.type), "--" + item.name.replace("_", "-")  # the annotation as written
        kind = float if "float" in hint else int if "int" in hint else str
        if item.name == "timing_sizes":
            result.add_argument(flag, type=_size, nargs="+", metavar="HxW")
        elif hint.startswith("bool"):
            result.add_argument(flag, action=argparse.BooleanOptionalAction, help=HELP.get(item.name))
        elif item.name in PER_STAGE:
            words = HELP.get(item.name, "")
            result.add_argument(flag, type=kind, nargs="+", metavar=("F", "G"), help=f"{words} (one value or F's, G's)")
        elif hint.startswith("tuple"):
            nargs = "+" if "..." in hint else 2
            choices = CHOICES.get(item.name) or LIST_CHOICES.get(item.name)
            result.add_argument(flag, type=kind, nargs=nargs, choices=choices, help=HELP.get(item.name))
        else:
            result.add_argument(flag, type=kind, choices=CHOICES.get(item.name), help=HELP.get(item.name))
    return result


def parse_args(argv: list[str] | None = None, prog: str = "python -m training.train",
               preset: str = "cpu") -> tuple[TrainConfig, argparse.Namespace]:  # fmt: skip
    """The preset's settings, overridden by every option given; ValueError names a bad one."""
    args = parser(prog, preset).parse_args(argv)
    values = dict(PRESETS[args.preset])
    for item in dataclasses.fields(TrainConfig):
        given = getattr(args, item.name)
        if given is None:
            continue
        if item.name in PER_STAGE:
            if len(given) > 2:
                raise ValueError(f"--{item.name.replace('_', '-')} takes one value or two (F, G), got {len(given)}")
            given = given * (3 - len(given))
        values[item.name] = tuple(given) if isinstance(given, list) else given
    return TrainConfig(**values), args
