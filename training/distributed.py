"""Data-parallel training (torchrun): rank 0 makes every clock-driven decision, and each rank draws its own batches.

Each process reads its own clock, and they start seconds apart. A decision each rank made alone
(stop now, validate now) left one rank waiting forever in a collective the others never called;
the learning-rate schedule, read off each clock, drifted between ranks. So rank 0 decides and
broadcasts (`from_rank_0`); one process needs none of it.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def rank_seed(seed: int, world: int, rank: int) -> int:
    """The seed of one rank's device pairs: a stream of its own; one process keeps `seed` itself."""
    return seed * world + rank


def from_rank_0(values: list[float], device: torch.device, distributed: bool) -> list[float]:
    """Rank 0's `values` on every rank (the others' are ignored); `values` themselves in one process."""
    if not distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)  # on the device: NCCL needs CUDA tensors
    dist.broadcast(tensor, src=0)
    return tensor.tolist()


def gathered(value: float, device: torch.device, distributed: bool) -> list[float]:
    """Every rank's `value`, by rank (all ranks must call it); `[value]` in one process."""
    if not distributed:
        return [value]
    mine = torch.tensor([value], dtype=torch.float64, device=device)
    every = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(every, mine)
    return [float(item.item()) for item in every]
