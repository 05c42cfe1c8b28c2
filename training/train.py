"""Train F (stage 1), then G with F frozen (stage 2), on a CPU or a GPU. The whole loop fits in this file.

    python -m training.train --preset shipped --init golf_rt/weights/golf_default.safetensors --output runs/shipped
    python -m training.train --preset gpu --minutes 8 --output $OUT/gpu     # a lent GPU; = python -m training.gpu_run
    python -m training.train --stages F --steps 300 --output runs/F         # one stage; any setting overridden
    python -m training.train --preset shipped --resume --output runs/shipped   # continue OUTPUT/state.safetensors
    torchrun --nproc-per-node 2 -m training.train ...   # data-parallel (gloo on CPU, nccl on GPU)

Loss (Eq. 6): L = Lc + lambda_p * Lp (+ a frequency term): Lc a pixel loss, Lp VGG-11-BN feature
MSE. Stage G (Eq. 4) averages it over the iterates G^i(F(y)), i = 1..N, with F frozen. Adam's rate
decays exponentially to lr x final_lr_fraction over each stage, by its share of the steps, or of
the stage's wall clock with --minutes (F then gets 55% and G 25% of what is left after start-up;
a stage stops early enough to validate once more). The paper's "decay to gamma^-11, gamma = 0.3"
is read as 0.3**11 (the `paper` preset). Every validation scores the mean PSNR gain over the
validation crops, sharp ones included (`val_score`), writes OUTPUT/best.safetensors when it is
the best so far and OUTPUT/state.safetensors (`training.run_files`) always; at a stage's end its
network returns to its best validated state, so G trains on the best F.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.images.synthetic import BlurSpec
from golf_rt.machine.environment import cpu_cores, device_name
from golf_rt.model import checkpoint
from golf_rt.model.networks import GolfOptimizer, build_f, build_g
from golf_rt.quality.heldout import HELDOUT_SETS
from training.data import (
    GoProPairs,
    SyntheticConfig,
    SyntheticPairs,
    batch_loader,
    gopro_validation,
    image_sources,  # fmt: skip
)
from training.device_pairs import DevicePairs, PairConfig
from training.distributed import from_rank_0, gathered, rank_seed
from training.losses import FiniteSteps, NonFiniteTrainingError, PerceptualLoss
from training.procedural import make_procedural
from training.run_files import BEST, LOG, STATE, RunLog, load_optimizer, read_state, save_state
from training.step import probe_memory_format, step_gflop, train_step
from training.train_config import STAGES, TrainConfig, describe_data, parse_args
from training.validation import score_gains, validation_set

logger = logging.getLogger("training.train")
SHARES = {"F": 0.55, "G": 0.25}  # of the time left after start-up, with --minutes; the report gets the rest
WRITE_MARGIN = 5.0  # seconds kept for writing the files at the end


@dataclass
class StageResult:
    """What a stage did: steps, time, steady throughput and its best validation."""

    name: str
    batch: int = 0
    steps: int = 0
    crops: int = 0
    seconds: float = 0.0
    crops_per_second: float = 0.0
    tflops: float = 0.0
    best: dict = field(default_factory=dict)
    best_step: int = 0


class Run:
    """One run's model, data, log and files; `stage` trains F or G and returns what it did."""

    def __init__(self, config: TrainConfig, output: Path, resume: bool, command: str, started: float) -> None:
        self.config, self.output, self.started = config, output, started
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed:
            dist.init_process_group("nccl" if config.device.startswith("cuda") else "gloo")
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if self.distributed else (0, 1)
        self.device = torch.device(config.device)
        if self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) if self.distributed else 0)
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(config.seed)
        output.mkdir(parents=True, exist_ok=True)
        self.state = read_state(output / STATE) if resume and (output / STATE).is_file() else None
        self.log = RunLog(output / LOG, started, append=resume, enabled=self.rank == 0)
        if self.state:
            model = checkpoint.load(output / STATE)
        elif config.init:
            model = checkpoint.load(config.init)
        else:
            scale, padding = config.residual_scale, config.padding
            model = GolfOptimizer(build_f(scale, padding), build_g(scale, padding))
        model.f.set_padding(config.padding), model.g.set_padding(config.padding)
        self.model = model.to(self.device)
        self.perceptual = PerceptualLoss(config.vgg_weights).to(self.device) if config.lambda_p > 0 else None

        if config.data.startswith("gopro:"):
            self.sources, notes = None, ()
            self.validations = {"gopro": gopro_validation(config.data.split(":", 1)[1], config.val_crop,
                                                          config.val_blurred)}  # fmt: skip
        else:
            self.sources = image_sources(config.data, config.photos, config.validation)
            notes = self.sources.notes
            self.validations = {name: validation_set(self.sources.validation, config.val_crop, config.val_blurred,
                                                     config.val_sharp, blur=HELDOUT_SETS[name])
                                for name in config.val_blur}  # fmt: skip
        for note in notes:
            self.log.write("note", message=note)
        self.kernels, self.leaves = None, []
        if config.pairs_on == "device":
            seconds = 0.05 * config.minutes * 60 if config.by_time else None
            self.kernels, self.leaves = make_procedural(
                config.kernel_bank, config.procedural_images, max(config.crop) * 3 // 2, config.kernel_extent,
                config.trajectory, config.seed, seconds=seconds, workers=cpu_cores())  # fmt: skip
        layout = {"channels_last": True, "contiguous": False}.get(config.memory_format, False)
        formats = {}
        if config.memory_format == "auto" and self.device.type == "cuda":
            formats = probe_memory_format(self.model, self.batches("F", 0)(config.batch), config)
            layout = formats["channels_last"] <= formats["contiguous"]
        self.memory_format = torch.channels_last if layout else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        bank = 0 if self.kernels is None else len(self.kernels)
        self.metadata = {"training": {**dataclasses.asdict(config), "command": command},
                         "data": describe_data(config, notes, bank, len(self.leaves))}  # fmt: skip
        if config.init:  # records how the networks it starts from were trained
            init = config.init
            self.metadata["init"] = {"sha256": checkpoint.file_sha256(init), **checkpoint.read_metadata(init)}
        self.startup = self.log.write(
            "startup", device=device_name(self.device.type == "cuda"), config=dataclasses.asdict(config),
            validation=getattr(self.sources, "validation_source", config.data), validation_blur=list(self.validations),
            validation_crops=len(next(iter(self.validations.values()))),
            photos=len(self.sources.training) if self.sources else 0, dead_leaves=len(self.leaves), kernels=bank,
            kernel_size=0 if self.kernels is None else int(self.kernels.shape[-1]), channels_last=layout,
            memory_format_step_seconds=formats, resumed=self.state is not None,
        )  # fmt: skip

    def batches(self, stage: str, start: int):
        """`draw(n)`: n (blurry, sharp) pairs on the device, in the stage's order from step `start` on."""
        config, crop = self.config, self.config.of("crop", stage)
        seed = config.seed + STAGES.index(stage)
        if config.pairs_on == "device":
            pair_config = PairConfig(crop=crop, sharp_fraction=config.sharp_fraction, noise_sigma=config.noise_sigma,
                                     quantize=config.quantize,
                                     procedural_fraction=config.procedural_fraction)  # fmt: skip
            return DevicePairs(self.sources.training, self.leaves, self.kernels, pair_config, self.device,
                               rank_seed(seed * 1_000_003 + start, self.world, self.rank)).batch  # fmt: skip
        steps = config.of("steps", stage)
        if config.data.startswith("gopro:"):
            train_set = GoProPairs(config.data.split(":", 1)[1], "train", crop, seed=seed + self.rank)
        else:
            blur = BlurSpec(extent=config.kernel_extent, model=config.trajectory, noise_sigma=config.noise_sigma,
                            quantize=config.quantize, sharp_fraction=config.sharp_fraction,
                            kernel_bank=config.kernel_bank)  # fmt: skip
            synthetic = SyntheticConfig(crop=crop, procedural_fraction=config.procedural_fraction, blur=blur,
                                        scale_range=config.scale_range)  # fmt: skip
            train_set = SyntheticPairs(self.sources.training, synthetic, seed=seed, length=steps * config.batch)
        loader = iter(batch_loader(train_set, config.batch, steps, start, config.workers, self.world, self.rank))

        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            blurry, sharp = next(loader)
            return blurry[:n].to(self.device), sharp[:n].to(self.device)

        return draw

    def scores(self, stage: str) -> dict[str, float]:
        """Gains on the first validation set (they choose checkpoints), then the others' prefixed by their name.

        F is scored alone while a G is still to be trained after it; with G taken as it is from
        --init, F is scored under that G, as it will be used.
        """
        g_kept = self.config.init is not None and "G" not in self.config.stages
        iterations = DEFAULT_ITERATIONS if stage == "G" or g_kept else 0
        (_, first), *others = self.validations.items()
        scores = score_gains(self.model, first, self.device, iterations)
        for blur, data in others:
            scores.update({f"{blur}:{k}": v for k, v in score_gains(self.model, data, self.device, iterations).items()})
        return scores

    def label(self, stage: str) -> str:
        """The checkpoint's stage: the stages this run has trained so far, F+G after both."""
        return "+".join(self.config.stages[: self.config.stages.index(stage) + 1])

    def stage(self, name: str, deadline: float | None) -> StageResult:
        """Train F or G until its steps are done or `deadline` (time.monotonic()) nears; leaves it at its best."""
        config, model, log = self.config, self.model, self.log
        trained = model.f if name == "F" else model.g
        model.train().requires_grad_(False)
        trained.requires_grad_(True)
        net = nn.parallel.DistributedDataParallel(trained) if self.distributed else trained
        net = torch.compile(net) if config.compile else net
        optimizer = torch.optim.Adam(trained.parameters(), lr=config.of("lr", name), betas=(0.9, 0.999),
                                     fused=self.device.type == "cuda")  # fmt: skip
        resumed = self.state if self.state and self.state["stage"] == name else None  # or a longer run of it
        if resumed:
            load_optimizer(self.output / STATE, optimizer)
        step, progress0 = (resumed["step"], resumed["progress"]) if resumed else (0, 0.0)
        result = StageResult(name, batch=config.batch, steps=step, best_step=resumed["best_step"] if resumed else 0)
        result.best = {"val_score": resumed["best"]} if resumed else {}
        steps, finite = config.of("steps", name), FiniteSteps(trained.parameters())
        per_crop = step_gflop(name, config.of("crop", name), config.train_iterations)
        draw, began = self.batches(name, step), time.monotonic()
        span = max((deadline or began) - began, 1e-3)
        every = {"val": config.of("val_every", name), "log": config.log_every}
        clock = (lambda: time.monotonic() - began) if config.by_time else (lambda: result.steps)
        last = {"val": clock(), "log": clock(), "scored": step if resumed else -1}
        window = {"steps": 0, "crops": 0, "start": time.monotonic(), "loss": torch.zeros((), device=self.device)}
        steady = [0, 0.0]  # crops and seconds of every window but the first (cudnn autotuning, compilation)

        def progress() -> float:
            if config.by_time:
                return progress0 + (1 - progress0) * min((time.monotonic() - began) / span, 1.0)
            return result.steps / steps

        def write_progress() -> None:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            seconds = max(time.monotonic() - window["start"], 1e-9)
            rate, first = window["crops"] / seconds, result.steps - window["steps"] == step
            if not first:
                steady[0], steady[1] = steady[0] + window["crops"], steady[1] + seconds
            memory = torch.cuda.max_memory_allocated(self.device) / 2**30 if self.device.type == "cuda" else None
            log.write("progress", stage=name, step=result.steps, batch=result.batch, lr=optimizer.param_groups[0]["lr"],
                      loss=window["loss"].item() / max(window["steps"], 1), crops_per_second=rate,
                      tflops=rate * per_crop / 1000, first_window=first, max_memory_gib=memory)  # fmt: skip
            window.update(steps=0, crops=0, start=time.monotonic(), loss=torch.zeros((), device=self.device))
            last["log"] = clock()

        def validate(done: bool = False) -> float:
            """Score (unless this step was scored), keep the best, write the files; returns the seconds it took."""
            start = time.monotonic()
            if self.rank == 0:
                meta = {**self.metadata, "stage": self.label(name), "step": result.steps}
                if last["scored"] != result.steps:
                    scores = self.scores(name)
                    better = not result.best or scores["val_score"] > result.best["val_score"]
                    if better:
                        result.best, result.best_step = scores, result.steps
                        checkpoint.save(model, self.output / BEST, {**meta, "metrics": scores})
                    log.write("validation", stage=name, step=result.steps, best=better, **scores)
                    last["scored"] = result.steps
                finished = list(config.stages[: config.stages.index(name)]) + ([name] if done else [])
                resume = {"stage": name, "step": result.steps, "done": finished, "progress": progress(),
                          "best": result.best["val_score"], "best_step": result.best_step}  # fmt: skip
                save_state(self.output / STATE, model, optimizer, resume, {**meta, "metrics": result.best})
            if self.distributed:
                dist.barrier()
            last["val"] = clock()
            return time.monotonic() - start

        validation_cost, first_sums = validate() if not resumed else 0.0, []
        while result.steps < steps:
            now = time.monotonic()
            step_cost = (now - window["start"]) / window["steps"] if window["steps"] else 0.0
            late = bool(deadline and result.steps > step and now + 1.2 * validation_cost + 2 * step_cost >= deadline)
            late, fraction = from_rank_0([late, progress()], self.device, self.distributed)  # one clock for all ranks
            if late:
                break
            for group in optimizer.param_groups:
                group["lr"] = config.of("lr", name) * config.final_lr_fraction**fraction
            try:
                blurry, sharp = draw(result.batch)
                if self.distributed and not first_sums:  # each rank draws crops of its own: sums differ
                    first_sums = gathered(blurry.double().sum().item(), self.device, True)
                pairs = (blurry.contiguous(memory_format=self.memory_format), sharp)
                loss = train_step(model, net, optimizer, pairs, name, config, finite, result.steps + 1, self.perceptual)
            except torch.cuda.OutOfMemoryError:  # halve the batch: a batch too large costs one step, not the run
                optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                if result.batch == 1:
                    raise MemoryError(f"stage {name} does not fit in GPU memory even at batch 1") from None
                result.batch //= 2
                log.write("note", stage=name, message=f"out of GPU memory: batch now {result.batch}")
                continue
            except NonFiniteTrainingError as exc:  # keep the best validated state and go on
                log.write("note", stage=name, message=str(exc))
                break
            result.steps += 1
            result.crops += result.batch
            window.update(steps=window["steps"] + 1, crops=window["crops"] + result.batch, loss=window["loss"] + loss)
            validation_due = clock() - last["val"] >= every["val"] and result.steps < steps
            (validation_due,) = from_rank_0([validation_due], self.device, self.distributed)
            if window["steps"] and (validation_due or clock() - last["log"] >= every["log"]):
                write_progress()
            if validation_due:
                validation_cost = validate()
                window["start"] = time.monotonic()
        if window["steps"]:
            write_progress()
        if self.distributed:  # every rank stopped at rank 0's step
            log.write("ranks", stage=name, steps=gathered(result.steps, self.device, True), batch_sums=first_sums)
        validate(done=True)
        best = checkpoint.load(self.output / BEST)  # every process: the best state, written by the first
        trained.load_state_dict((best.f if name == "F" else best.g).state_dict())
        if finite.skipped:
            log.write("note", stage=name, message=f"{finite.skipped} non-finite steps skipped")
        result.seconds = time.monotonic() - began
        crops, seconds = steady if steady[1] > 0 else (result.crops, result.seconds)
        result.crops_per_second = crops / max(seconds, 1e-9)
        result.tflops = result.crops_per_second * per_crop / 1000
        model.requires_grad_(False)
        return result


def train(config: TrainConfig, output: Path, resume: bool = False, command: str = "",
          started: float | None = None) -> dict[str, Path]:  # fmt: skip
    """Run every stage of `config` (the ones a resumed run finished are skipped); returns the files by kind.

    `started`: the time.monotonic() from which `config.minutes` count (None: now).
    """
    started = time.monotonic() if started is None else started
    config = config.resolved()
    run = Run(config, Path(output), resume, command, started)
    deadline = started + config.minutes * 60 if config.by_time else None
    left = (deadline - time.monotonic()) if deadline else 0.0
    shares = {name: SHARES[name] / (1.0 if config.report else sum(SHARES[s] for s in config.stages))
              for name in config.stages}  # fmt: skip
    stages, end = {}, time.monotonic()
    for name in config.stages:
        end += shares[name] * left
        state = run.state or {"done": [], "stage": None}
        longer = not config.by_time and state["stage"] == name and state["step"] < config.of("steps", name)
        if name in state["done"] and not longer:  # finished before this resumption
            continue
        stages[name] = run.stage(name, min(end, deadline - WRITE_MARGIN) if deadline else None)
    files = {"checkpoint": run.output / BEST, "state": run.output / STATE, "log": run.output / LOG}
    if run.rank == 0:
        run.model.eval()
        best = checkpoint.read_metadata(files["checkpoint"])  # the best networks, now in run.model: add the stages
        summary = {k: dataclasses.asdict(v) for k, v in stages.items()}
        meta = {**run.metadata, "stage": run.label(config.stages[-1]), "step": best["step"], "metrics": best["metrics"]}
        meta["training"] = {**meta["training"], "stages": summary}
        checkpoint.save(run.model, files["checkpoint"], meta)
        if config.report:
            from training.run_report import write_report

            files.update(write_report(run.model, config, run.device, stages, run.startup, run.log, files["checkpoint"],
                                      command, deadline))  # fmt: skip
        run.log.write("done", total_seconds=time.monotonic() - started,
                      budget_seconds=config.minutes * 60 if deadline else None)  # fmt: skip
    if run.distributed:
        dist.destroy_process_group()
    return files


def main(argv: list[str] | None = None, prog: str = "python -m training.train", preset: str = "cpu",
         started: float | None = None) -> int:  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    try:
        config, args = parse_args(argv, prog, preset)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    command = f"{prog} " + " ".join(sys.argv[1:] if argv is None else argv)
    files = train(config, args.output, resume=args.resume, command=command, started=started)
    if int(os.environ.get("RANK", "0")) == 0:
        for kind, path in files.items():
            print(kind, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
