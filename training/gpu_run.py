"""The lent-GPU run: `python -m training.train --preset gpu`, under the name its docs and checks use.

    PYTHONUNBUFFERED=1 PYTHONPATH=. python3 -m training.gpu_run --minutes 3 --device cuda --output $OUT/gpu

Trains F, then G, with pairs drawn on the device, then evaluates on the held-out set, times the
model and writes summary.md, all inside the minutes given, counted from the start of the process:
importing torch, start-up, cuDNN's autotuning, compilation, CUDA-graph capture and the evaluation
are inside them. Every option of `training.train` applies (MODEL_CARD.md, "GPU run").
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_started() -> float:
    """The time.monotonic() at which this process started (Linux's /proc; elsewhere, now)."""
    try:
        fields = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, in clock ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    return time.monotonic() - max(uptime - since_boot, 0.0)


STARTED = process_started()


def main(argv: list[str] | None = None) -> int:
    from training.train import main as train_main

    return train_main(argv, prog="python -m training.gpu_run", preset="gpu", started=STARTED)


if __name__ == "__main__":
    raise SystemExit(main())
