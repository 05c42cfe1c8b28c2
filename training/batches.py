"""Training batches in a fixed, resumable order, built in spawned workers while the model trains."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from training.train import TrainConfig


class StepIndices(torch.utils.data.Sampler):
    """Item indices in training order from step `start` on; each rank takes its own share."""

    def __init__(self, steps: int, batch: int, start: int, world: int, rank: int, length: int) -> None:
        self.steps, self.batch = steps, batch
        self.start, self.world, self.rank, self.length = start, world, rank, length

    def __len__(self) -> int:
        return (self.steps - self.start) * self.batch

    def __iter__(self):
        batch = self.batch
        for step in range(self.start, self.steps):
            for j in range(batch):
                yield ((step * self.world + self.rank) * batch + j) % self.length


def batch_loader(train_set: torch.utils.data.Dataset, config: TrainConfig, start: int, world: int,
                 rank: int) -> torch.utils.data.DataLoader:  # fmt: skip
    """Batches in a fixed order; with workers > 0 they are built while the model trains."""
    sampler = StepIndices(config.steps, config.batch, start, world, rank, len(train_set))
    # spawn, not fork: a forked worker inherits the threads of runtimes already loaded and can crash
    extra = {"prefetch_factor": 4, "multiprocessing_context": "spawn"} if config.workers else {}
    return torch.utils.data.DataLoader(train_set, batch_size=config.batch, sampler=sampler,
                                       num_workers=config.workers, **extra)  # fmt: skip
