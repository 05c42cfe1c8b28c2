"""Train F, then G with F frozen, evaluate and time the result, all inside a fixed number of minutes.

    PYTHONUNBUFFERED=1 PYTHONPATH=. python3 -m training.gpu_run --minutes 8 --device cuda --output $OUT/gpu

Made for a GPU lent for minutes: training pairs are made on the device (`training.device_pairs`)
from photos and a kernel bank uploaded once, so the GPU never waits for the CPU. The budget is
split by wall clock: start-up, then F (55% of what is left), G (25%), then the held-out
evaluation and the timing. Everything lands flat in OUTPUT, at most six files: golf.safetensors
(best F + G), log.jsonl, evaluation.json, benchmark-gpu.json (`golf-rt report` reads it),
summary.md and heldout.png. The minutes count from when this module starts working, after
Python has imported torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from golf_rt import checkpoint
from golf_rt.environment import cpu_cores, device_name
from golf_rt.heldout import heldout_pairs, with_heldout_noise
from golf_rt.networks import GolfOptimizer, build_f, build_g
from golf_rt.synthetic import TRAINING_MODELS
from training import photos as photo_sets
from training.data import skimage_images
from training.device_pairs import DevicePairs, PairConfig
from training.evaluate import evaluate, write_figure
from training.gpu_stage import RunLog, StageConfig, probe_memory_format, run_stage
from training.gpu_summary import evaluation_payload, summary_markdown
from training.gpu_timing import PRECISIONS, result_document, time_model
from training.losses import LOSSES
from training.procedural import make_procedural
from training.validation import validation_set

logger = logging.getLogger("training.gpu_run")

F_SHARE, G_SHARE = 0.55, 0.25  # of the time left after start-up; evaluation and timing get the rest
TIMING_SHARE = 0.125  # of the whole budget at most: a minute of an 8-minute run
WRITE_MARGIN = 5.0  # seconds kept for writing the files at the end
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


@dataclass(frozen=True)
class RunConfig:
    """Everything the run needs; None means the device's default (a full GPU batch, or a CPU test's)."""

    minutes: float
    output: str
    device: str = "cuda"
    batch: int | None = None
    crop: int = 256
    compile: bool = False
    init: str | None = None
    photos: str = str(photo_sets.DEFAULT_FOLDER)
    amp: str | None = None
    memory_format: str = "auto"
    loss: str = "charbonnier"
    fft_weight: float = 0.05
    lr_f: float = 1e-3
    lr_g: float = 5e-4
    final_lr_fraction: float = 0.1
    train_iterations: int = 5
    trajectory: str = "mixed"
    kernel_extent: tuple[int, int] = (3, 31)
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    sharp_fraction: float = 0.25
    procedural_fraction: float = 0.3
    kernels: int | None = None
    procedural_images: int | None = None
    val_every: float = 30.0
    log_every: float = 10.0
    val_crop: int = 128
    val_blurred: int = 24
    val_sharp: int = 8
    eval_crops: int = 4
    eval_size: int = 256
    timing_sizes: tuple[tuple[int, int], ...] = ((256, 256), (720, 1280))
    timing_precisions: tuple[str, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError(f"minutes must be positive, got {self.minutes}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.amp not in (None, "none", "bf16"):
            raise ValueError(f"amp must be 'none' or 'bf16', got {self.amp!r}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ValueError(f"memory_format must be one of {MEMORY_FORMATS}, got {self.memory_format!r}")
        if self.trajectory not in TRAINING_MODELS:
            raise ValueError(f"trajectory must be one of {TRAINING_MODELS}, got {self.trajectory!r}")
        if self.crop <= self.kernel_extent[1] // 2 + 2:
            raise ValueError(f"crop {self.crop} is too small for {self.kernel_extent[1]} px kernels")
        unknown = [p for p in self.timing_precisions or () if p not in PRECISIONS]
        if unknown:
            raise ValueError(f"unknown precision {unknown[0]!r}; choose from {', '.join(PRECISIONS)}")

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    def resolved(self) -> RunConfig:
        """The same run with every None replaced by the device's default."""
        gpu = self.on_gpu
        defaults = {
            "batch": 64 if gpu else 2,
            "amp": "bf16" if gpu else "none",
            "kernels": 16384 if gpu else 256,
            "procedural_images": 64 if gpu else 8,
            "timing_precisions": ("fp32", "fp16", "bf16") if gpu else ("fp32", "bf16"),  # CPUs lack fast fp16 convs
        }
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


def describe_data(config: RunConfig, photos: int, leaves: int, kernels: int) -> str:
    """What the checkpoint was trained on, in words, for its metadata."""
    low, high = config.kernel_extent
    return (
        f"synthetic camera shake made on the device ({config.trajectory} trajectories, {low}-{high} px, a bank of "
        f"{kernels} kernels in 8 orientations, noise sigma {config.noise_sigma[0]:g}-{config.noise_sigma[1]:g}, "
        f"{config.sharp_fraction:.0%} left unblurred, 8 bits) over {photos} photos (training/data.py "
        f"SKIMAGE_TRAINING and training/photos.py TRAINING_PHOTOS where present) at native scale and "
        f"{config.procedural_fraction:.0%} crops of {leaves} dead-leaves images"
    )


def load_photos(config: RunConfig, log: RunLog) -> tuple[list, list, str]:
    """(training photos, validation photos, where validation comes from); scikit-image's alone without the folder."""
    folder = Path(config.photos)
    try:
        extra, held_apart = photo_sets.training_photos(folder), photo_sets.validation_photos(folder)
        return skimage_images() + extra, held_apart, f"validation photos in {folder}"
    except FileNotFoundError as exc:
        log.write("note", message=f"{exc}; training on scikit-image's photos alone and validating on crops of "
                                  "them (kept apart neither in photos nor in kernel model)")  # fmt: skip
        images = skimage_images()
        return images, images, "scikit-image's training photos (no photo folder)"


def build_model(config: RunConfig) -> GolfOptimizer:
    """The paper's networks with reflect padding; from `init` when given (its padding switched to reflect)."""
    if config.init:
        model = checkpoint.load(config.init)
    else:
        model = GolfOptimizer(build_f("none", "reflect"), build_g("none", "reflect"))
    model.f.set_padding("reflect")
    model.g.set_padding("reflect")
    return model


def stage_config(config: RunConfig, name: str, channels_last: bool) -> StageConfig:
    return StageConfig(
        name=name, lr=config.lr_f if name == "F" else config.lr_g, final_lr_fraction=config.final_lr_fraction,
        batch=config.batch, loss=config.loss, fft_weight=config.fft_weight, train_iterations=config.train_iterations,
        val_every=config.val_every, log_every=config.log_every, amp=config.amp, channels_last=channels_last,
        compile=config.compile,
    )  # fmt: skip


def run(config: RunConfig, command: str = "") -> dict[str, Path]:
    """The whole job; returns the files written by kind."""
    started = time.monotonic()
    deadline = started + config.minutes * 60
    config = config.resolved()
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    log = RunLog(output / "log.jsonl", started)
    device = torch.device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(config.seed)

    photos, validation_photos, validation_source = load_photos(config, log)
    leaves_size = max(config.crop, config.crop * 3 // 2)
    kernels, leaves = make_procedural(config.kernels, config.procedural_images, leaves_size, config.kernel_extent,
                                      config.trajectory, config.seed, seconds=0.05 * config.minutes * 60,
                                      workers=cpu_cores())  # fmt: skip
    pair_config = PairConfig(crop=config.crop, sharp_fraction=config.sharp_fraction, noise_sigma=config.noise_sigma,
                             procedural_fraction=config.procedural_fraction)  # fmt: skip
    pairs = DevicePairs(photos, leaves, kernels, pair_config, device, config.seed)
    validation = validation_set(validation_photos, config.val_crop, config.val_blurred, config.val_sharp)
    model = build_model(config).to(device)
    formats = {}
    channels_last = config.memory_format == "channels_last"
    if config.memory_format == "auto" and device.type == "cuda":
        formats = probe_memory_format(model.f, pairs, config.batch, config.amp, device)
        channels_last = formats["channels_last"] <= formats["contiguous"]
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    startup = log.write(
        "startup", device=device_name(device.type == "cuda"), photos=pairs.photo_count, dead_leaves=len(leaves),
        kernels=len(kernels), kernel_size=int(kernels.shape[-1]), device_pixels_mib=pairs.pixel_bytes / 2**20,
        validation=validation_source, validation_crops=len(validation), channels_last=channels_last,
        memory_format_step_seconds=formats, batch=config.batch, crop=config.crop, amp=config.amp,
    )  # fmt: skip

    left = deadline - time.monotonic()
    f_end = time.monotonic() + F_SHARE * left
    g_end = f_end + G_SHARE * left
    stages = {}
    for name, end in (("F", f_end), ("G", g_end)):
        stages[name] = run_stage(model, pairs, validation, stage_config(config, name, channels_last), device, end, log)
    model.eval()

    metadata = {
        "training": {**dataclasses.asdict(config), "command": command, "stages": {k: dataclasses.asdict(v)
                                                                                   for k, v in stages.items()}},
        "data": describe_data(config, pairs.photo_count, len(leaves), len(kernels)),
        "stage": "F+G",
        "step": stages["F"].steps + stages["G"].steps,
        "metrics": {"val_score": stages["G"].best.get("val_score"), "val_score_f": stages["F"].best.get("val_score"),
                    "validation": validation_source},
    }  # fmt: skip
    if config.init:
        metadata["init"] = {"sha256": checkpoint.file_sha256(config.init), **checkpoint.read_metadata(config.init)}
    files = {"checkpoint": checkpoint.save(model, output / "golf.safetensors", metadata)}

    pairs_heldout = heldout_pairs(config.eval_crops, config.eval_size)
    reports = {"heldout": evaluate(model, pairs_heldout, 5, device),
               "sharp-noisy": evaluate(model, with_heldout_noise(pairs_heldout), 5, device)}  # fmt: skip
    evaluation = evaluation_payload(reports, config.eval_size)
    files["evaluation"] = output / "evaluation.json"
    files["evaluation"].write_text(json.dumps(evaluation, indent=2))
    log.write("evaluation", **{f"{name}_gain_db_at_3": data["gain_db"]["3"] for name, data in evaluation.items()})
    shown = pairs_heldout[:: max(1, len(pairs_heldout) // 4)][:4]
    files["figure"] = write_figure(model, shown, output / "heldout.png", device)

    seconds = min(deadline - time.monotonic() - WRITE_MARGIN, TIMING_SHARE * config.minutes * 60)
    timings = time_model(model, device, config.timing_sizes, config.timing_precisions, max(seconds, 0.0))
    note = f"training.gpu_run: the checkpoint trained in this run ({config.minutes:g} minutes)"
    files["benchmark"] = output / "benchmark-gpu.json"
    files["benchmark"].write_text(json.dumps(result_document(timings, files["checkpoint"], note), indent=2))
    log.write("timing", **{f"{t.size[0]}x{t.size[1]} {t.precision} ms": t.mean for t in timings})

    files["summary"] = output / "summary.md"
    total = time.monotonic() - started
    files["summary"].write_text(summary_markdown(config, command, startup, stages, evaluation, timings, total))
    log.write("done", total_seconds=total, budget_seconds=config.minutes * 60)
    return files


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.strip().partition("x")
    if not (height.isdigit() and width.isdigit()):
        raise argparse.ArgumentTypeError(f"sizes are HxW, e.g. 256x256; got {text!r}")
    return int(height), int(width)


def parse_args(argv: list[str] | None = None) -> RunConfig:
    parser = argparse.ArgumentParser(prog="python -m training.gpu_run", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, required=True, help="wall-clock budget of the whole job")
    parser.add_argument("--output", required=True, help="folder for the (at most six) result files")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--init", help="checkpoint to continue from (F and G)")
    parser.add_argument("--photos", help="folder of the wallpaper photos (`python -m training.photos` makes it)")
    parser.add_argument("--compile", action="store_true", default=None, help="torch.compile the trained network")
    parser.add_argument("--amp", choices=("none", "bf16"), help="autocast (default: bf16 on CUDA, none on CPU)")
    parser.add_argument("--memory-format", choices=MEMORY_FORMATS, help="auto: time both on CUDA, keep the faster")
    parser.add_argument("--loss", choices=LOSSES)
    parser.add_argument("--trajectory", choices=TRAINING_MODELS)
    parser.add_argument("--kernel-extent", type=int, nargs=2, metavar=("MIN", "MAX"))
    parser.add_argument("--noise-sigma", type=float, nargs=2, metavar=("MIN", "MAX"))
    for name in ("batch", "crop", "train-iterations", "kernels", "procedural-images", "val-crop", "val-blurred",
                 "val-sharp", "eval-crops", "eval-size", "seed"):  # fmt: skip
        parser.add_argument(f"--{name}", type=int)
    for name in ("fft-weight", "lr-f", "lr-g", "final-lr-fraction", "sharp-fraction", "procedural-fraction",
                 "val-every", "log-every"):  # fmt: skip
        parser.add_argument(f"--{name}", type=float)
    parser.add_argument("--timing-sizes", type=_size, nargs="+", metavar="HxW", help="default: 256x256 720x1280")
    parser.add_argument("--timing-precisions", nargs="+", choices=tuple(PRECISIONS))
    args = parser.parse_args(argv)
    values = {}
    for item in dataclasses.fields(RunConfig):
        given = getattr(args, item.name, None)
        if given is not None:
            values[item.name] = tuple(given) if isinstance(given, list) else given
    return RunConfig(**values)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    try:
        config = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    command = "python -m training.gpu_run " + " ".join(sys.argv[1:] if argv is None else argv)
    files = run(config, command)
    for kind, path in files.items():
        print(kind, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
