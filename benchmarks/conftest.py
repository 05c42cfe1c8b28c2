"""Benchmark fixtures: one checkpoint, its fused ONNX, and a real blurred 256x256 photo."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

QUICK = os.environ.get("GOLF_RT_BENCH_QUICK", "") not in ("", "0")
"""GOLF_RT_BENCH_QUICK=1 runs every benchmark once (for CI); otherwise ROUNDS timed rounds each."""
ROUNDS = 1 if QUICK else int(os.environ.get("GOLF_RT_BENCH_ROUNDS", "8"))


@pytest.fixture(scope="session")
def bench_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GOLF_RT_BENCH_CHECKPOINT, the shipped checkpoint, or random weights (speed does not depend on them)."""
    from golf_rt import checkpoint

    if os.environ.get("GOLF_RT_BENCH_CHECKPOINT"):
        return Path(os.environ["GOLF_RT_BENCH_CHECKPOINT"])
    if checkpoint.default_checkpoint_path().is_file():
        return checkpoint.default_checkpoint_path()
    torch = pytest.importorskip("torch")
    from golf_rt.networks import GolfOptimizer, build_f, build_g

    torch.manual_seed(0)
    f, g = build_f(), build_g()
    with torch.no_grad():
        for net in (f, g):
            net.branch[-1].weight.normal_(0.0, 0.003)
    return checkpoint.save(GolfOptimizer(f, g, 3), tmp_path_factory.mktemp("bench") / "bench.safetensors", {})


@pytest.fixture(scope="session")
def fused_onnx(bench_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from golf_rt.export import onnx_from_checkpoint

    return onnx_from_checkpoint(bench_checkpoint, "fused", 3, tmp_path_factory.mktemp("bench-onnx"))


@pytest.fixture(scope="session")
def photo() -> tuple[np.ndarray, np.ndarray]:
    """(blurry 1x3x256x256 batch, sharp HxWx3) from the held-out set, else a synthetic dead-leaves image."""
    try:
        from golf_rt.heldout import heldout_pairs

        pair = heldout_pairs(crops_per_photo=1, size=256)[0]
        blurry, sharp = pair.blurry, pair.sharp
    except (FileNotFoundError, ImportError):
        from golf_rt.synthetic import BlurSpec, dead_leaves, degrade

        rng = np.random.default_rng(0)
        sharp = dead_leaves(rng, 256)
        blurry, _ = degrade(sharp, rng, BlurSpec(model="spline", noise_sigma=(0.01, 0.01), quantize=True))
    batch = np.ascontiguousarray(np.clip(blurry, 0, 1).transpose(2, 0, 1)[None], dtype=np.float32)
    return batch, sharp
