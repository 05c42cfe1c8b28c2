"""Tiled against whole-image deblurring, per checkpoint: PSNR and seams on blurred photos of 2 MP and more.

    python -m training.tile_quality --output docs/model/tiles.json --picture docs/model/tile_seams.png

Photos from the wallpaper packages that neither training nor validation uses (`TILE_PHOTOS`),
shrunk to a long side of 1920 px (2.1-3.7 MP), blurred with the held-out blur model. For each
tiling, the PSNR of the tiled output against the sharp photo is compared with the whole-image
output's; seams are measured as the PSNR in the overlaps of the tiles (and 8 px around them)
against the PSNR elsewhere, tiled minus whole (the same pixels for both), so a seam shows as a
band that is worse only when tiled. The picture is a 400% zoom on a tile corner: whole, tiled,
and their difference x 20.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from golf_rt.backends import create_runner
from golf_rt.images.synthetic import degrade
from golf_rt.images.tiles import WHOLE, Tiling, run_in_tiles
from golf_rt.quality.heldout import HELDOUT_BLUR
from golf_rt.quality.metrics import psnr, to_uint8
from training.photos import unpack_packages

TILE_PHOTOS = (
    "usr/share/backgrounds/umang_by_Abhishek_Mudgal.jpg",
    "usr/share/backgrounds/Fossa_by_Jasper_Roks.jpg",
    "usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg",
    "usr/share/backgrounds/Painting-Colors_by__herobrine7gamer.jpg",
)
LONG_SIDE = 1920
SEAM_MARGIN = 8
MAX_SEAM_DB = 0.1
MAX_TILED_LOSS_DB = 0.05


def blurred_photos(tree: Path, long_side: int = LONG_SIDE, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, blurry, sharp) float32 H x W x 3 pairs from the unpacked wallpaper packages."""
    rng = np.random.default_rng(seed)
    pairs = []
    for relative in TILE_PHOTOS:
        with Image.open(tree / relative) as handle:
            image = handle.convert("RGB")
        scale = long_side / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        sharp = np.asarray(image, np.float32) / 255.0
        blurry, _kernel = degrade(sharp, rng, HELDOUT_BLUR)
        pairs.append((Path(relative).stem, np.clip(blurry, 0, 1).astype(np.float32), sharp))
    return pairs


def seam_mask(height: int, width: int, tiling: Tiling) -> np.ndarray:
    """True in the overlaps between tiles, widened by SEAM_MARGIN: where a seam would show."""
    mask = np.zeros((height, width), bool)
    for length, axis in ((height, 0), (width, 1)):
        starts, span = tiling.starts(length), tiling.span(length)
        for start in starts[1:]:
            previous_end = starts[starts.index(start) - 1] + span
            low, high = max(0, start - SEAM_MARGIN), min(length, previous_end + SEAM_MARGIN)
            if axis == 0:
                mask[low:high] = True
            else:
                mask[:, low:high] = True
    return mask


def _deblur(runner, blurry: np.ndarray, tiling: Tiling) -> np.ndarray:
    batch = np.ascontiguousarray(blurry.transpose(2, 0, 1)[None])
    out = run_in_tiles(runner.deblur, batch, tiling, runner.tile_batch, runner.max_batch)
    return to_uint8(out[0].transpose(1, 2, 0))


def compare(runner, pairs, tilings: list[Tiling]) -> dict:
    """Per tiling: mean PSNR change against whole-image, worst photo, and the seam penalty (dB)."""
    report: dict = {"photos": [name for name, _, _ in pairs], "tilings": {}}
    wholes = [_deblur(runner, blurry, WHOLE) for _, blurry, _ in pairs]
    for tiling in tilings:
        deltas, seams, agreement = [], [], []
        for (_, blurry, sharp), whole in zip(pairs, wholes):
            tiled = _deblur(runner, blurry, tiling)
            target = to_uint8(sharp)
            deltas.append(psnr(tiled, target) - psnr(whole, target))
            mask = seam_mask(*target.shape[:2], tiling)
            if mask.any():
                band = psnr(tiled[mask], target[mask]) - psnr(whole[mask], target[mask])
                rest = psnr(tiled[~mask], target[~mask]) - psnr(whole[~mask], target[~mask])
                seams.append(rest - band)
            agreement.append(psnr(tiled, whole))
        report["tilings"][f"{tiling.size}/{tiling.overlap}"] = {
            "mean_delta_db": round(float(np.mean(deltas)), 4),
            "worst_delta_db": round(float(np.min(deltas)), 4),
            "seam_penalty_db": round(float(np.max(seams)), 4) if seams else 0.0,
            "tiled_vs_whole_psnr_db": round(float(np.mean(agreement)), 2),
        }
    return report


def tiles_pass(row: dict) -> bool:
    """A tiling's report row passes: tiled loses at most MAX_TILED_LOSS_DB on average, seams at most MAX_SEAM_DB."""
    return row["mean_delta_db"] >= -MAX_TILED_LOSS_DB and row["seam_penalty_db"] <= MAX_SEAM_DB


def default_tiling_report(checkpoint: Path | str | None, tree: Path) -> dict:
    """`compare` at the shipped tiling (`Tiling()`) for `checkpoint` on the wallpaper photos in `tree`."""
    with create_runner("openvino", precision="auto", checkpoint=checkpoint) as runner:
        report = compare(runner, blurred_photos(tree), [Tiling()])
        report["runner"] = f"{runner.name} {runner.precision}"
    row = next(iter(report["tilings"].values()))
    return {**row, "photos": len(report["photos"]), "runner": report["runner"], "passes": tiles_pass(row)}


def seam_picture(runner, blurry: np.ndarray, tiling: Tiling, path: Path, zoom: int = 4, crop: int = 96) -> Path:
    """Whole | tiled | |difference| x 20 around the most textured tile corner, each zoomed `zoom` times (nearest).

    A corner is where four tiles overlap; the one with the most detail around it is where a seam
    would show first.
    """
    whole, tiled = _deblur(runner, blurry, WHOLE), _deblur(runner, blurry, tiling)
    height, width = blurry.shape[:2]
    detail = np.abs(np.diff(blurry.mean(axis=2), axis=1))
    corners = [(max(0, min(height - crop, top + tiling.overlap // 2 - crop // 2)),
                max(0, min(width - crop, left + tiling.overlap // 2 - crop // 2)))
               for top in tiling.starts(height)[1:] for left in tiling.starts(width)[1:]]  # fmt: skip
    y, x = max(corners, key=lambda c: float(detail[c[0] : c[0] + crop, c[1] : c[1] + crop - 1].mean()))
    window = (slice(y, y + crop), slice(x, x + crop))
    difference = np.clip(np.abs(whole.astype(np.int16) - tiled.astype(np.int16)) * 20, 0, 255).astype(np.uint8)
    panels = [np.kron(image[window], np.ones((zoom, zoom, 1), np.uint8)) for image in (whole, tiled, difference)]
    gap = np.full((panels[0].shape[0], 8, 3), 255, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.tile_quality", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--backend", default="openvino")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--tilings", default="256/32,384/32,512/32,512/64", help="SIZE/OVERLAP, comma-separated")
    parser.add_argument("--packages", type=Path, default=None, help="An unpacked wallpaper tree (default: apt)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--picture", type=Path, default=None)
    args = parser.parse_args(argv)
    tilings = [Tiling(*map(int, text.split("/"))) for text in args.tilings.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        tree = args.packages or unpack_packages(Path(scratch))
        pairs = blurred_photos(tree)
    with create_runner(args.backend, precision=args.precision, checkpoint=args.checkpoint) as runner:
        report = compare(runner, pairs, tilings)
        report["runner"] = f"{runner.name} {runner.precision}"
        if args.picture:  # the photo with the most detail, where a seam would show
            busiest = max(pairs, key=lambda pair: float(np.abs(np.diff(pair[2], axis=1)).mean()))
            seam_picture(runner, busiest[1], tilings[-1], args.picture)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0 if all(tiles_pass(row) for row in report["tilings"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
