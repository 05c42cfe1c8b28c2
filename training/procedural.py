"""Blur kernels and dead-leaves images made once at start-up, by every core, for on-device pairs.

Drawing one camera-shake kernel costs milliseconds of Python (a trajectory of up to 1,000
steps), while a GPU trains on dozens of crops per millisecond: kernels drawn per crop would
keep it waiting. So a bank of thousands is made in a process pool before training and uploaded
once. Kernel i depends on (seed, i) alone, and the bank is a prefix of that sequence, so a bank
cut short by its time limit is still reproducible from its size. Numpy only: the pool's workers
import no torch.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from functools import partial

import numpy as np

from golf_rt.images.synthetic import camera_shake_kernel, dead_leaves

logger = logging.getLogger(__name__)
CHUNK = 32  # kernels per task: large enough to hide the pool's messaging, small enough to stop on time


def kernel_size(extent: tuple[int, int]) -> int:
    """The side of the largest kernel `rasterize` makes for the extent range: always odd."""
    high = extent[1]
    return high + 2 if high % 2 else high + 3


def centred(kernel: np.ndarray, size: int) -> np.ndarray:
    """The kernel zero-padded on every side to size x size; odd sizes keep its centre in place."""
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0 or kh > size or kw > size or size % 2 == 0:
        raise ValueError(f"cannot centre a {kernel.shape} kernel in {size}x{size}: sizes must be odd and fit")
    top, left = (size - kh) // 2, (size - kw) // 2
    padded = np.zeros((size, size), np.float32)
    padded[top : top + kh, left : left + kw] = kernel
    return padded


def _kernels(start: int, seed: int, extent: tuple[int, int], model: str, size: int) -> np.ndarray:
    indices = range(start, start + CHUNK)
    return np.stack([centred(camera_shake_kernel(np.random.default_rng([seed, i]), extent, model), size)
                     for i in indices])  # fmt: skip


def _leaves(index: int, seed: int, size: int) -> np.ndarray:
    return dead_leaves(np.random.default_rng([seed, 1, index]), size)


def _context() -> multiprocessing.context.BaseContext:
    """forkserver: workers forked from one clean process, so no thread state of ours is copied."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def make_procedural(
    kernels: int,
    leaves: int,
    leaves_size: int,
    extent: tuple[int, int] = (3, 31),
    model: str = "mixed",
    seed: int = 0,
    seconds: float | None = None,
    workers: int = 1,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(K x S x S kernel bank, dead-leaves images); the bank stops early after `seconds` of drawing kernels.

    The dead-leaves images are made first and always in full; the bank gets at least one chunk.
    """
    if kernels < 1:
        raise ValueError(f"the kernel bank needs at least one kernel, got {kernels}")
    size = kernel_size(extent)
    draw = partial(_kernels, seed=seed, extent=extent, model=model, size=size)
    paint = partial(_leaves, seed=seed, size=leaves_size)
    pool = None
    if workers > 1:
        try:
            pool = _context().Pool(workers)
        except OSError as exc:  # e.g. no semaphores in a sandbox: one process is slower, not wrong
            logger.warning("no process pool (%s): making the kernels in this process", exc)
    chunks = []
    try:
        images = pool.map(paint, range(leaves)) if pool else [paint(i) for i in range(leaves)]
        began = time.monotonic()
        for chunk in (pool.imap if pool else map)(draw, range(0, kernels, CHUNK)):
            chunks.append(chunk)
            if seconds is not None and time.monotonic() - began > seconds:
                break
    finally:
        if pool:
            pool.terminate()
    return np.concatenate(chunks)[:kernels], list(images)
