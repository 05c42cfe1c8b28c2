"""Evaluate a checkpoint: PSNR/SSIM of the blurry input, F alone, and after each G iteration.

    python -m training.evaluate --checkpoint runs/G/best.safetensors            # held-out photos
    python -m training.evaluate --data streak        # the same photos, straight streaks of 5-21 px
    python -m training.evaluate --data gopro:/data/GOPRO_Large --max-iterations 5
    python -m training.evaluate --data sharp                                     # unblurred input
    python -m training.evaluate --data sharp-noisy      # unblurred, with the held-out noise and 8 bits

Metrics are computed on RGB uint8 images (PSNR data range 255, SSIM with a Gaussian window,
sigma 1.5) by scikit-image. The table shows where G converges (the paper: 2-4 iterations).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from golf_rt.model import checkpoint
from golf_rt.quality.heldout import STREAK_BLUR, Pair, heldout_pairs, with_heldout_noise
from golf_rt.quality.metrics import psnr, ssim, to_uint8


@dataclass(frozen=True)
class Report:
    """Mean metrics per stage: 'input', then 0..N G iterations; plus per-image PSNR gains."""

    names: list[str]
    psnr: dict[str, list[float]]
    ssim: dict[str, list[float]]

    def mean(self) -> dict[str, dict[str, float]]:
        return {k: {"psnr": float(np.mean(self.psnr[k])), "ssim": float(np.mean(self.ssim[k]))} for k in self.psnr}

    def worst_loss_db(self, stage: str) -> float:
        """Largest PSNR drop of any image versus its input (positive = worse)."""
        return float(max(np.array(self.psnr["input"]) - np.array(self.psnr[stage])))

    def markdown(self) -> str:
        means = self.mean()
        rows = ["| stage | PSNR (dB) | SSIM | gain (dB) |", "|---|---|---|---|"]
        base = means["input"]["psnr"]
        for stage, m in means.items():
            label = "input" if stage == "input" else f"F + G x {stage}"
            gain = f"{m['psnr'] - base:+.2f}" if np.isfinite(base) else "n/a (sharp input)"
            rows.append(f"| {label} | {m['psnr']:.2f} | {m['ssim']:.4f} | {gain} |")
        return "\n".join(rows)


def gopro_pairs(root: str, limit: int | None) -> list[Pair]:
    from training.data import GoProPairs

    data = GoProPairs(root, "test", crop=None)
    count = len(data) if limit is None else min(limit, len(data))
    return [Pair(data.pairs[i][0].stem, *(t.permute(1, 2, 0).numpy() for t in data[i])) for i in range(count)]


def load_pairs(source: str, limit: int | None) -> list[Pair]:
    if source == "heldout":
        pairs = heldout_pairs()
    elif source == "streak":
        pairs = heldout_pairs(blur=STREAK_BLUR)
    elif source == "sharp":
        pairs = [Pair(p.name, p.sharp, p.sharp) for p in heldout_pairs()]
    elif source == "sharp-noisy":
        pairs = with_heldout_noise(heldout_pairs())
    elif source.startswith("gopro:"):
        pairs = gopro_pairs(source.split(":", 1)[1], limit)
    else:
        raise ValueError(f"unknown data source {source!r}: use heldout, streak, sharp, sharp-noisy or gopro:PATH")
    return pairs[:limit] if limit else pairs


@torch.no_grad()
def evaluate(model: torch.nn.Module, pairs: list[Pair], max_iterations: int = 5,
             device: torch.device | str | None = None) -> Report:  # fmt: skip
    """Metrics of every stage on every pair; `device` is where the model runs (None: the inputs stay on the CPU)."""
    stages = ["input"] + [str(i) for i in range(max_iterations + 1)]
    psnrs: dict[str, list[float]] = {s: [] for s in stages}
    ssims: dict[str, list[float]] = {s: [] for s in stages}
    for pair in tqdm(pairs, desc="evaluate", file=sys.stderr, dynamic_ncols=True):
        target = to_uint8(pair.sharp)
        blurry = torch.from_numpy(np.ascontiguousarray(pair.blurry.transpose(2, 0, 1)))[None].to(device)
        trajectory = model.trajectory(blurry, max_iterations)
        outputs = [pair.blurry] + [x[0].float().permute(1, 2, 0).cpu().numpy() for x in trajectory]
        for stage, image in zip(stages, outputs):
            psnrs[stage].append(psnr(to_uint8(image), target))
            ssims[stage].append(ssim(to_uint8(image), target))
    return Report([p.name for p in pairs], psnrs, ssims)


@torch.no_grad()
def write_figure(model: torch.nn.Module, pairs: list[Pair], path: Path,
                 device: torch.device | str | None = None) -> Path:  # fmt: skip
    """Rows of blurry input | model output | sharp ground truth, as one PNG; the model runs on `device`."""
    from PIL import Image

    rows = []
    for pair in pairs:
        blurry = torch.from_numpy(np.ascontiguousarray(pair.blurry.transpose(2, 0, 1)))[None].to(device)
        output = model(blurry)[0].float().permute(1, 2, 0).cpu().numpy()
        rows.append(np.hstack([to_uint8(pair.blurry), to_uint8(output), to_uint8(pair.sharp)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.vstack(rows)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", help="checkpoint to evaluate (default: the shipped one)")
    parser.add_argument("--data", default="heldout", help="heldout (default), streak, sharp, sharp-noisy or gopro:PATH")
    parser.add_argument("--max-iterations", type=int, default=5)
    parser.add_argument("--limit", type=int, help="evaluate only the first N pairs")
    parser.add_argument("--output", type=Path, help="write report JSON here")
    parser.add_argument("--figure", type=Path, help="write a PNG of the first pairs: input | output | sharp")
    args = parser.parse_args(argv)
    model = checkpoint.load(args.checkpoint)
    pairs = load_pairs(args.data, args.limit)
    report = evaluate(model, pairs, args.max_iterations)
    if args.figure:
        write_figure(model, pairs[:: max(1, len(pairs) // 4)][:4], args.figure)
    print(report.markdown())
    inference = str(model.iterations)
    print(f"\nworst per-image change at {inference} iterations: {-report.worst_loss_db(inference):+.2f} dB")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        payload = {"data": args.data, "checkpoint": args.checkpoint, "mean": report.mean(),
                   "per_image": {"names": report.names, "psnr": report.psnr, "ssim": report.ssim}}  # fmt: skip
        args.output.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
