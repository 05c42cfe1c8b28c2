"""Put a newer F under a trained G, and score both on the unseen validation set.

    python -m training.combine --f runs/campaign-F/best.safetensors \
        --g runs/campaign-G/best.safetensors --output runs/combined.safetensors

The campaign trains F and G in turns: when F has trained on after G was fitted to an earlier F,
this builds the pair (F from one checkpoint, G from the other) and prints the validation gains
of the G checkpoint as it is and of the pair, so the choice between them is made on validation
photos, never on the held-out set. The gate then decides whether the chosen one may ship.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import CheckpointError
from golf_rt.model import checkpoint
from golf_rt.model.networks import GolfOptimizer
from training import photos as photo_sets
from training.validation import score_gains, unseen_validation_set


def combine(f_path: str | Path, g_path: str | Path) -> GolfOptimizer:
    """G's checkpoint with its F replaced by the F of `f_path` (same architecture required)."""
    model = checkpoint.load(g_path)
    newer = checkpoint.load(f_path)
    if newer.f.padding != model.f.padding or newer.f.filters != model.f.filters:
        raise CheckpointError(f"{f_path}: its F is not the architecture of {g_path}'s F")
    model.f.load_state_dict(newer.f.state_dict(), strict=True)
    return model


def combined_metadata(f_path: str | Path, g_path: str | Path) -> dict:
    """G's metadata, with where each network came from."""
    metadata = checkpoint.read_metadata(g_path)
    for key in ("format", "architecture", "filters", "residual_scale", "padding", "iterations"):
        metadata.pop(key, None)
    metadata["combined"] = {
        "F": {"path": str(f_path), "sha256": checkpoint.file_sha256(f_path),
              "step": checkpoint.read_metadata(f_path).get("step")},
        "G": {"path": str(g_path), "sha256": checkpoint.file_sha256(g_path), "step": metadata.get("step")},
    }  # fmt: skip
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.combine", description=__doc__.split("\n")[0])
    parser.add_argument("--f", required=True, help="checkpoint whose F is taken")
    parser.add_argument("--g", required=True, help="checkpoint whose G (and metadata) is taken")
    parser.add_argument("--output", type=Path, required=True, help="where the pair is written")
    parser.add_argument("--photos", type=Path, default=photo_sets.DEFAULT_FOLDER, help="folder of the photos")
    parser.add_argument("--crops", type=int, default=24, help="validation crops (as the training's --val-pairs)")
    args = parser.parse_args(argv)
    data = unseen_validation_set(args.photos, args.crops)
    pair = combine(args.f, args.g)
    cpu = torch.device("cpu")
    rows = {"G as trained": score_gains(checkpoint.load(args.g), data, cpu, DEFAULT_ITERATIONS),
            "newer F under G": score_gains(pair, data, cpu, DEFAULT_ITERATIONS)}  # fmt: skip
    print("| | all | blurred | sharp | worst |\n|---|---|---|---|---|")
    for name, gains in rows.items():
        print(f"| {name} | {gains['val_score']:+.3f} | {gains['val_blurred_gain']:+.3f} | "
              f"{gains['val_sharp_gain']:+.3f} | {gains['val_worst_gain']:+.3f} |")  # fmt: skip
    checkpoint.save(pair, args.output, {**combined_metadata(args.f, args.g), "metrics": rows["newer F under G"]})
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
