"""One stage of the GPU run (F, or G with F frozen), bounded by a wall-clock deadline.

A GPU run has minutes, not a step count, so the learning rate decays with the elapsed share of
the stage's time, validation runs every so many seconds, and the stage stops early enough to
validate once more before its deadline. The loop syncs with the GPU only when it writes a
record, so throughput (crops/s and achieved TFLOP/s) is measured without stalling it.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from golf_rt.contract import DEFAULT_ITERATIONS, F_FILTERS, G_FILTERS
from golf_rt.model_facts import gflop
from golf_rt.networks import GolfOptimizer
from training import losses
from training.device_pairs import DevicePairs
from training.finite_steps import FiniteSteps, NonFiniteTrainingError
from training.losses import LOSSES
from training.validation import ValidationSet, score_gains

logger = logging.getLogger(__name__)


class RunLog:
    """log.jsonl: one JSON object per record, `seconds` counted from the run's start; a line to the log too."""

    def __init__(self, path: Path, started: float) -> None:
        self.path, self.started = path, started
        path.write_text("")

    def write(self, kind: str, **fields: object) -> dict:
        record = {"kind": kind, "seconds": round(time.monotonic() - self.started, 2), **fields}
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        brief = {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in record.items() if not isinstance(v, dict)}
        logger.info(" ".join(f"{k}={v}" for k, v in brief.items()))
        return record


@dataclass(frozen=True)
class StageConfig:
    """How to train one network for one stage."""

    name: str
    lr: float
    final_lr_fraction: float
    batch: int
    loss: str = "charbonnier"
    fft_weight: float = 0.05
    train_iterations: int = 5
    val_every: float = 30.0
    log_every: float = 10.0
    amp: str = "none"
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        if self.name not in ("F", "G"):
            raise ValueError(f"stage must be 'F' or 'G', got {self.name!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.amp not in ("none", "bf16"):
            raise ValueError(f"amp must be 'none' or 'bf16', got {self.amp!r}")
        if self.batch < 1 or self.train_iterations < 1 or self.lr <= 0 or not 0 < self.final_lr_fraction <= 1:
            raise ValueError("batch and train_iterations must be positive, lr > 0, final_lr_fraction in (0, 1]")

    @property
    def val_iterations(self) -> int:
        """G iterations when validating: none for F alone, the inference default for G."""
        return 0 if self.name == "F" else DEFAULT_ITERATIONS


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


def step_gflop(stage: str, crop: int, iterations: int) -> float:
    """GFLOP of one training step per crop: forward + backward ~ 3 forwards of the trained network.

    Stage G also runs F forward (no gradient) and G `iterations` times.
    """
    if stage == "F":
        return 3 * gflop(F_FILTERS, crop, crop)
    return gflop(F_FILTERS, crop, crop) + 3 * iterations * gflop(G_FILTERS, crop, crop)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def stage_loss(model: GolfOptimizer, trained: torch.nn.Module, blurry: torch.Tensor, sharp: torch.Tensor,
               config: StageConfig) -> torch.Tensor:  # fmt: skip
    """The stage's training loss (`training.losses.stage_loss`) under this stage's settings."""
    return losses.stage_loss(model.f, trained, blurry, sharp, config.name, config.train_iterations, config.loss,
                             config.fft_weight)  # fmt: skip


def probe_memory_format(net: torch.nn.Module, pairs: DevicePairs, batch: int, amp: str,
                        device: torch.device, steps: int = 3) -> dict[str, float]:  # fmt: skip
    """Seconds per F training step in each memory format, on a throwaway copy (after one warm-up step)."""
    timings = {}
    blurry, sharp = pairs.batch(batch)
    for name, memory_format in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format)):
        probe = copy.deepcopy(net).to(memory_format=memory_format).train().requires_grad_(True)
        optimizer = torch.optim.Adam(probe.parameters(), lr=0.0)
        x = blurry.contiguous(memory_format=memory_format)
        for i in range(steps + 1):
            if i == 1:
                _sync(device)
                began = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16"):
                loss = losses.pixel_loss(probe(x).float(), sharp, "mse")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _sync(device)
        timings[name] = (time.perf_counter() - began) / steps
        del probe, optimizer
    return timings


class _Stage:
    """The loop's state: the best weights so far, the current throughput window, the batch size.

    The batch halves when the GPU runs out of memory, so a batch too large for a network costs
    one failed step rather than the run.
    """

    def __init__(self, model: GolfOptimizer, pairs: DevicePairs, validation: ValidationSet, config: StageConfig,
                 device: torch.device, log: RunLog) -> None:  # fmt: skip
        self.model, self.pairs, self.validation, self.config, self.device, self.log = (
            model, pairs, validation, config, device, log)  # fmt: skip
        self.trained = model.f if config.name == "F" else model.g
        self.step_net = torch.compile(self.trained) if config.compile else self.trained
        self.optimizer = torch.optim.Adam(self.trained.parameters(), lr=config.lr, betas=(0.9, 0.999),
                                          fused=device.type == "cuda")  # fmt: skip
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.finite = FiniteSteps(self.trained.parameters())
        self.per_crop = step_gflop(config.name, pairs.config.crop, config.train_iterations)
        self.result = StageResult(config.name, batch=config.batch)
        self.best_state: dict[str, torch.Tensor] = {}
        self.validated_step = -1
        self.window_steps, self.window_crops, self.window_start = 0, 0, time.monotonic()
        self.loss_sum = torch.zeros((), device=device)
        self.steady = [0, 0.0]  # crops and seconds of every window but the first (cudnn autotuning, compilation)

    def validate(self) -> float:
        """Score the model, keep the best state; returns the seconds it took."""
        start, step, result = time.monotonic(), self.result.steps, self.result
        self.validated_step = step
        scores = score_gains(self.model, self.validation, self.device, self.config.val_iterations)
        better = not result.best or scores["val_score"] > result.best["val_score"]
        if better:
            result.best, result.best_step = scores, step
            self.best_state = {k: v.detach().clone() for k, v in self.trained.state_dict().items()}
        self.log.write("validation", stage=self.config.name, step=step, best=better, **scores)
        return time.monotonic() - start

    def progress(self) -> None:
        """Write the window's loss and throughput (after waiting for the GPU), start a new window."""
        _sync(self.device)
        now = time.monotonic()
        seconds = max(now - self.window_start, 1e-9)
        rate = self.window_crops / seconds
        first = self.result.steps == self.window_steps
        if not first:
            self.steady[0] += self.window_crops
            self.steady[1] += seconds
        memory = torch.cuda.max_memory_allocated(self.device) / 2**30 if self.device.type == "cuda" else None
        self.log.write("progress", stage=self.config.name, step=self.result.steps, batch=self.result.batch,
                       lr=self.optimizer.param_groups[0]["lr"], loss=self.loss_sum.item() / max(self.window_steps, 1),
                       crops_per_second=rate, tflops=rate * self.per_crop / 1000, first_window=first,
                       max_memory_gib=memory)  # fmt: skip
        self.new_window()

    def new_window(self) -> None:
        self.window_steps, self.window_crops, self.window_start = 0, 0, time.monotonic()
        self.loss_sum = torch.zeros((), device=self.device)

    def _step(self, lr: float) -> torch.Tensor:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        blurry, sharp = self.pairs.batch(self.result.batch)
        blurry = blurry.contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.amp == "bf16"):
            loss = stage_loss(self.model, self.step_net, blurry, sharp, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.finite.allows(loss, self.result.steps + 1):
            self.optimizer.step()
        return loss.detach().float()

    def step(self, lr: float) -> None:
        """One optimiser step; on running out of GPU memory, halve the batch instead."""
        try:
            loss = self._step(lr)
        except torch.cuda.OutOfMemoryError:
            loss = None  # the failed step's tensors are freed once the exception is gone
        if loss is None:
            self.optimizer.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
            if self.result.batch == 1:
                raise MemoryError(f"stage {self.config.name} does not fit in GPU memory even at batch 1")
            self.result.batch //= 2
            self.log.write("note", stage=self.config.name, message=f"out of GPU memory: batch now {self.result.batch}")
            self.new_window()
            return
        self.loss_sum += loss
        self.result.steps += 1
        self.result.crops += self.result.batch
        self.window_steps += 1
        self.window_crops += self.result.batch

    def run(self, deadline: float) -> StageResult:
        config, result = self.config, self.result
        began = time.monotonic()
        span = max(deadline - began, 1e-3)
        validation_cost = self.validate()
        last_validation = self.window_start = time.monotonic()
        while True:
            now = time.monotonic()
            step_cost = (now - self.window_start) / self.window_steps if self.window_steps else 0.0
            if result.steps and now + 1.2 * validation_cost + 2 * step_cost >= deadline:
                break
            try:
                self.step(config.lr * config.final_lr_fraction ** min((now - began) / span, 1.0))
            except NonFiniteTrainingError as exc:  # keep the best validated state and go on to the next stage
                self.log.write("note", stage=config.name, message=str(exc))
                break
            validation_due = time.monotonic() - last_validation >= config.val_every
            if self.window_steps and (validation_due or time.monotonic() - self.window_start >= config.log_every):
                self.progress()
            if validation_due:
                validation_cost = self.validate()
                last_validation = time.monotonic()
                self.new_window()
        if self.window_steps:
            self.progress()
        if self.validated_step != result.steps:
            self.validate()
        self.trained.load_state_dict(self.best_state)
        if self.finite.skipped:
            self.log.write("note", stage=config.name, message=f"{self.finite.skipped} non-finite steps skipped")
        result.seconds = time.monotonic() - began
        crops, seconds = self.steady if self.steady[1] > 0 else (result.crops, result.seconds)
        result.crops_per_second = crops / max(seconds, 1e-9)
        result.tflops = result.crops_per_second * self.per_crop / 1000
        return result


def run_stage(model: GolfOptimizer, pairs: DevicePairs, validation: ValidationSet, config: StageConfig,
              device: torch.device, deadline: float, log: RunLog) -> StageResult:  # fmt: skip
    """Train F or G until `deadline` (time.monotonic()); leaves the network at its best validated state."""
    model.f.requires_grad_(config.name == "F")
    model.g.requires_grad_(config.name == "G")
    model.train()
    result = _Stage(model, pairs, validation, config, device, log).run(deadline)
    model.requires_grad_(False)
    return result
