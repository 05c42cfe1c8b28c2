"""The shipping gate: a checkpoint must do better than leaving the image alone.

    python -m training.gate --checkpoint runs/G/best.safetensors --output docs/model/gate.json

A checkpoint may replace the shipped one only if, on the held-out set (camera shake) and on the
held-out straight streaks alike, its mean PSNR gain is positive and no crop loses more than
0.5 dB, and sharp input (the held-out noise, 8 bits) comes out within 1 dB of its input PSNR.
`streak_target` says whether the streaks reach what the model is for (+1.0 dB, +0.03 SSIM).
The report also gives SSIM, and PSNR in a 16 px band along the border apart from the interior,
where padding artefacts show. The shipped checkpoint is scored
alongside, so the two are compared on the same pairs.

With `--tile-photos TREE` (wallpapers unpacked by `training.photos`), the candidate must also
deblur photos of 2 MP in tiles as well as whole (`training.tile_quality.tiles_pass`: at most
0.05 dB lost on average, seams at most 0.1 dB worse than elsewhere).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from golf_rt.model import checkpoint
from golf_rt.quality.heldout import STREAK_BLUR, Pair, heldout_pairs, with_heldout_noise
from golf_rt.quality.metrics import border_and_interior_psnr, psnr, ssim, to_uint8

WORST_LOSS_DB = 0.5
SHARP_LOSS_DB = 1.0
STREAK_TARGET = {"psnr": 1.0, "ssim": 0.03}
BORDER_BAND = 16


@torch.no_grad()
def _outputs(model: torch.nn.Module, pairs: list[Pair]) -> list[np.ndarray]:
    results = []
    for pair in pairs:
        x = torch.from_numpy(np.ascontiguousarray(pair.blurry.transpose(2, 0, 1)))[None]
        results.append(to_uint8(model(x)[0].permute(1, 2, 0).numpy()))
    return results


def _gains(pairs: list[Pair], outputs: list[np.ndarray]) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {"psnr": [], "ssim": [], "border": [], "interior": []}
    for pair, output in zip(pairs, outputs):
        target, given = to_uint8(pair.sharp), to_uint8(pair.blurry)
        rows["psnr"].append(psnr(output, target) - psnr(given, target))
        rows["ssim"].append(ssim(output, target) - ssim(given, target))
        (border_out, interior_out), (border_in, interior_in) = (
            border_and_interior_psnr(image, target, BORDER_BAND) for image in (output, given)
        )
        rows["border"].append(border_out - border_in)
        rows["interior"].append(interior_out - interior_in)
    return rows


def assess(model: torch.nn.Module) -> dict:
    """Gains on the held-out pairs and on their sharp, noisy versions, and the verdict."""
    model.eval()
    blurred = heldout_pairs()
    sharp = with_heldout_noise(blurred)
    streaks = heldout_pairs(blur=STREAK_BLUR)
    gains = _gains(blurred, _outputs(model, blurred))
    sharp_gains = _gains(sharp, _outputs(model, sharp))
    streak_gains = _gains(streaks, _outputs(model, streaks))
    summary = {
        "heldout_psnr_gain": float(np.mean(gains["psnr"])),
        "heldout_ssim_gain": float(np.mean(gains["ssim"])),
        "heldout_worst_gain": float(np.min(gains["psnr"])),
        "heldout_border_gain": float(np.mean(gains["border"])),
        "heldout_interior_gain": float(np.mean(gains["interior"])),
        "sharp_psnr_gain": float(np.mean(sharp_gains["psnr"])),
        "sharp_worst_gain": float(np.min(sharp_gains["psnr"])),
        "sharp_border_gain": float(np.mean(sharp_gains["border"])),
        "streak_psnr_gain": float(np.mean(streak_gains["psnr"])),
        "streak_ssim_gain": float(np.mean(streak_gains["ssim"])),
        "streak_worst_gain": float(np.min(streak_gains["psnr"])),
    }
    summary["passes"] = bool(
        summary["heldout_psnr_gain"] > 0
        and summary["heldout_worst_gain"] >= -WORST_LOSS_DB
        and summary["streak_psnr_gain"] > 0
        and summary["streak_worst_gain"] >= -WORST_LOSS_DB
        and summary["sharp_psnr_gain"] >= -SHARP_LOSS_DB
    )
    summary["streak_target"] = bool(
        summary["streak_psnr_gain"] >= STREAK_TARGET["psnr"] and summary["streak_ssim_gain"] >= STREAK_TARGET["ssim"]
    )
    return {"summary": summary, "per_image": {"names": [p.name for p in blurred], "heldout": gains,
                                              "sharp": sharp_gains, "streak": streak_gains}}  # fmt: skip


def markdown(results: dict[str, dict]) -> str:
    keys = list(next(iter(results.values()))["summary"])
    rows = ["| | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for key in keys:
        cells = [results[name]["summary"][key] for name in results]
        rows.append(f"| {key} | " + " | ".join(str(c) if isinstance(c, bool) else f"{c:+.3f}" for c in cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.gate", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="the candidate checkpoint")
    parser.add_argument("--baseline", help="checkpoint to compare with (default: the shipped one)")
    parser.add_argument("--output", type=Path, help="write both reports as JSON here")
    parser.add_argument("--tile-photos", type=Path, help="wallpaper tree: also require tiles as good as whole images")
    args = parser.parse_args(argv)
    results = {
        "candidate": assess(checkpoint.load(args.checkpoint)),
        "baseline": assess(checkpoint.load(args.baseline)),
    }
    print(markdown(results))
    if args.tile_photos:
        from training.tile_quality import default_tiling_report

        tiles = results["candidate"]["tiles"] = default_tiling_report(args.checkpoint, args.tile_photos)
        results["candidate"]["summary"]["passes"] &= tiles["passes"]
        print(f"\ntiles: {tiles['mean_delta_db']:+.3f} dB against whole images on {tiles['photos']} photos, "
              f"seams {tiles['seam_penalty_db']:+.3f} dB ({tiles['runner']})")  # fmt: skip
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"candidate": args.checkpoint, "baseline": args.baseline or "shipped",
                                           **results}, indent=2))  # fmt: skip
    verdict = results["candidate"]["summary"]["passes"]
    print(f"\ncandidate {'passes' if verdict else 'fails'} the gate", file=sys.stderr)
    return 0 if verdict else 1


if __name__ == "__main__":
    raise SystemExit(main())
