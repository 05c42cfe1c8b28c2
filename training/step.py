"""One optimiser step of F or G, what it costs in GFLOP, and which memory format runs it faster."""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from golf_rt.contract import F_FILTERS, G_FILTERS
from golf_rt.model.facts import gflop
from golf_rt.model.networks import GolfOptimizer
from training.losses import FiniteSteps, stage_loss
from training.train_config import TrainConfig


def step_gflop(stage: str, crop: int, iterations: int) -> float:
    """GFLOP of one training step per crop: forward + backward ~ 3 forwards; stage G also runs F forward."""
    if stage == "F":
        return 3 * gflop(F_FILTERS, crop, crop)
    return gflop(F_FILTERS, crop, crop) + 3 * iterations * gflop(G_FILTERS, crop, crop)


def train_step(model: GolfOptimizer, net: nn.Module, optimizer: torch.optim.Optimizer, pairs: tuple, stage: str,
               config: TrainConfig, finite: FiniteSteps, step: int,
               perceptual: nn.Module | None = None) -> torch.Tensor:  # fmt: skip
    """One optimiser step of `net` (F, or G after the frozen F); gradients that are not finite are dropped."""
    blurry, sharp = pairs
    with torch.autocast(blurry.device.type, dtype=torch.bfloat16, enabled=config.amp == "bf16"):
        weighted = (lambda x, y: config.lambda_p * perceptual(x, y)) if perceptual is not None else None
        loss = stage_loss(model.f, net, blurry, sharp, stage, config.train_iterations, config.loss, config.fft_weight,
                          weighted)  # fmt: skip
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if finite.allows(loss, step):
        optimizer.step()
    return loss.detach().float()


def probe_memory_format(model: GolfOptimizer, pairs: tuple, config: TrainConfig, steps: int = 3) -> dict[str, float]:
    """Seconds per F training step in each memory format, on a throwaway copy (after one warm-up step)."""
    timings = {}
    for name, layout in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format)):
        probe = copy.deepcopy(model).to(memory_format=layout).train()
        probe.f.requires_grad_(True)
        optimizer, finite = torch.optim.Adam(probe.f.parameters(), lr=0.0), FiniteSteps(probe.f.parameters())
        x = (pairs[0].contiguous(memory_format=layout), pairs[1])
        for i in range(steps + 1):
            if i == 1:
                torch.cuda.synchronize()
                began = time.perf_counter()
            train_step(probe, probe.f, optimizer, x, "F", config, finite, i)
        torch.cuda.synchronize()
        timings[name] = (time.perf_counter() - began) / steps
    return timings
