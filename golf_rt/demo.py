"""The end-to-end job: build the CPU repository, start Triton, deblur a sample through `GolfClient`, report.

A held-out photo crop, blurred by a synthetic camera-shake kernel so that its sharp original is
known (a dead-leaves image where the held-out photos are not installed), goes through the server;
the input | output comparison is written as a PNG, and PSNR against the ground truth and the
client's latency are returned.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golf_rt.machine.extras import require

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured and wrote."""

    comparison: Path
    psnr_input: float
    psnr_output: float
    latency_ms: float
    url: str
    log: Path


def sample_pair(size: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(blurry, sharp) float32 H x W x 3 in [0, 1]: a held-out photo crop, else a dead-leaves image."""
    from golf_rt.quality.heldout import available_photos, heldout_pairs

    if available_photos():
        pair = heldout_pairs(crops_per_photo=1, size=size, seed=2024 + seed)[0]
        return pair.blurry, pair.sharp
    from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade

    rng = np.random.default_rng(seed)
    sharp = dead_leaves(rng, size)
    blurry, _ = degrade(sharp, rng, BlurSpec(extent=(9, 23), noise_sigma=(0.01, 0.01), quantize=True))
    return np.clip(blurry, 0.0, 1.0), sharp


def run_demo(
    output_dir: str | Path = "demo",
    checkpoint: str | Path | None = None,
    size: int = 256,
    repeats: int = 5,
    ports: tuple[int, int, int] | None = None,
) -> DemoResult:
    """Serve the model (from `checkpoint`, None = shipped) on loopback, deblur one sample, stop the server."""
    from golf_rt.client import GolfClient
    from golf_rt.images import save_image
    from golf_rt.quality.metrics import psnr, to_uint8
    from golf_rt.triton.ports import free_ports
    from golf_rt.triton.repository import cached_repository
    from golf_rt.triton.server import TritonServer
    from golf_rt.triton.server_config import ServerConfig

    require("skimage", "the demo's PSNR")  # now, not after a server start-up
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    blurry, sharp = sample_pair(size)
    repository = cached_repository(checkpoint=checkpoint)
    http, grpc, metrics = ports or free_ports(3)
    config = ServerConfig(repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics)
    with TritonServer(config) as server, GolfClient(config.http_url) as client:
        restored = client.deblur(blurry)  # first request also warms the runtimes up
        times = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            restored = client.deblur(blurry)
            times.append(time.perf_counter() - start)
        log = server.log_path
    comparison = output_dir / "comparison.png"
    save_image(comparison, np.concatenate([blurry, np.clip(restored, 0.0, 1.0), sharp], axis=1))
    return DemoResult(
        comparison=comparison,
        psnr_input=psnr(to_uint8(blurry), to_uint8(sharp)),
        psnr_output=psnr(to_uint8(restored), to_uint8(sharp)),
        latency_ms=1000 * float(np.median(times)),
        url=config.http_url,
        log=log,
    )
