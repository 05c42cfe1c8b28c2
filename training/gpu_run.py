"""The lent-GPU run: `python -m training.train --preset gpu`, under the name its docs and checks use.

    PYTHONUNBUFFERED=1 PYTHONPATH=. python3 -m training.gpu_run --minutes 8 --device cuda --output $OUT/gpu

Trains F, then G, with pairs drawn on the device, inside the minutes given (counted from start-up,
after Python has imported torch), then evaluates on the held-out set, times the model and writes
summary.md; every option of `training.train` applies (MODEL_CARD.md, "GPU run").
"""

from __future__ import annotations

from training.train import main as train_main


def main(argv: list[str] | None = None) -> int:
    return train_main(argv, prog="python -m training.gpu_run", preset="gpu")


if __name__ == "__main__":
    raise SystemExit(main())
