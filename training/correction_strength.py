"""How strongly F corrects each input, against how much correction the input needs.

    python -m training.correction_strength --checkpoint runs/F/best.safetensors

For one held-out crop per photo: the RMS of F's residual F(y) - y on the blurry crop, on the
unblurred crop with the held-out noise, and on the blurry crop at half contrast, next to the
RMS of sharp - blurry, the correction a perfect model would make. A model that deblurs adds
much more to blurry crops than to sharp ones; one that adds the same amount to both is
sharpening blindly.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from golf_rt.model import checkpoint
from golf_rt.model.networks import GolfNet
from golf_rt.quality.heldout import Pair, heldout_pairs, with_heldout_noise

INPUTS = ("blurry", "sharp_noisy", "blurry_half_contrast")


def _rms(array: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(array, dtype=np.float64)))))


@torch.no_grad()
def correction_rms(f: GolfNet, image: np.ndarray) -> float:
    """RMS of F(image) - image for one HxWx3 float image."""
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    return _rms((f(tensor) - tensor).numpy())


def measure(f: GolfNet, pairs: list[Pair], seed: int = 7) -> list[dict[str, float | str]]:
    """One row per pair: the correction F makes on each input kind and the one needed."""
    rows = []
    for pair, noisy in zip(pairs, with_heldout_noise(pairs, seed)):
        inputs = {
            "blurry": pair.blurry,
            "sharp_noisy": noisy.blurry,
            "blurry_half_contrast": (0.5 * pair.blurry + 0.25).astype(np.float32),
        }
        row: dict[str, float | str] = {"name": pair.name, "needed": _rms(pair.sharp - pair.blurry)}
        row.update({kind: correction_rms(f, image) for kind, image in inputs.items()})
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, float | str]]) -> str:
    lines = ["| crop | needed | on blurry | on sharp + noise | on blurry, half contrast |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['name']} | {row['needed']:.4f} | " + " | ".join(f"{row[k]:.4f}" for k in INPUTS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.correction_strength", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", help="checkpoint to measure (default: the shipped one)")
    parser.add_argument("--crops-per-photo", type=int, default=1)
    parser.add_argument("--output", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    f = checkpoint.load(args.checkpoint).f.eval()
    rows = measure(f, heldout_pairs(args.crops_per_photo))
    print(markdown(rows))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"checkpoint": args.checkpoint, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
