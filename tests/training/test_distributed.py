"""Data-parallel training (training.distributed): ranks stop together and draw batches of their own."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from training.device_pairs import DevicePairs, PairConfig
from training.distributed import rank_seed

ROOT = Path(__file__).resolve().parents[2]


def test_each_rank_draws_its_own_device_pairs_and_one_process_keeps_its_seed():
    """Every rank seeded its device pairs alike: two ranks trained on the same crops, twice over."""
    photo = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    kernels = np.full((2, 5, 5), 1 / 25, np.float32)
    config = PairConfig(crop=32, sharp_fraction=0.0, noise_sigma=(0.0, 0.0), quantize=False, procedural_fraction=0.0)
    draws = [DevicePairs([photo], [], kernels, config, "cpu", rank_seed(7, 2, rank)).batch(2)[0] for rank in (0, 1)]
    assert not torch.equal(*draws)
    assert rank_seed(7, 1, 0) == 7 and len({rank_seed(s, 2, r) for s in range(3) for r in range(2)}) == 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_ranks_started_apart_stop_at_the_same_step_with_minutes(tmp_path):
    """Each rank stopped by its own clock: the one that stopped first waited for the other in a collective forever.

    Rank 1 starts 3 s after rank 0, so its clock (counted from its own start) runs 3 s behind.
    """
    port, output = free_port(), tmp_path / "ddp"
    command = [
        sys.executable, "-m", "training.train", "--stages", "F", "--minutes", "0.3", "--crop", "32", "--batch", "2",
        "--device", "cpu", "--pairs-on", "device", "--kernel-bank", "8", "--procedural-images", "2",
        "--val-every", "4", "--log-every", "2", "--val-crop", "32", "--val-blurred", "2", "--val-sharp", "0",
        "--amp", "none", "--output", str(output),
    ]  # fmt: skip
    base = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}  # fmt: skip
    ranks = []
    for rank in (0, 1):
        env = {**base, "RANK": str(rank), "LOCAL_RANK": str(rank)}
        ranks.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))  # fmt: skip
        time.sleep(3)
    try:
        outputs = [process.communicate(timeout=150) for process in ranks]
    finally:
        for process in ranks:
            process.kill()
    assert [process.returncode for process in ranks] == [0, 0], outputs[0][1][-1500:] + outputs[1][1][-1500:]
    lines = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    (ranks,) = [r for r in lines if r["kind"] == "ranks"]
    assert ranks["steps"][0] == ranks["steps"][1] >= 1, "both ranks stopped at the step rank 0 chose"
    assert len(set(ranks["batch_sums"])) == 2, "each rank draws its own crops"
