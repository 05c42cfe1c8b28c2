"""A validation set that predicts the held-out set: unseen photos, unseen kernels, sharp input.

Validating on crops of the training photos misleads: runs that gained there lost on photos and
kernels they had never seen. So checkpoints are chosen on crops of photos kept out of training
(`training.photos.VALIDATION_PHOTOS`), blurred by the spline trajectory model that training
never draws from (9-23 px, noise sigma 0.01, 8 bits, like the held-out set), plus a quarter of
unblurred crops with the same noise, so a model that damages sharp photos scores badly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from golf_rt.images.synthetic import BlurSpec, add_noise, degrade
from golf_rt.quality.heldout import HELDOUT_BLUR
from golf_rt.quality.metrics import psnr, to_uint8


@dataclass(frozen=True)
class ValidationSet:
    """Blurred crops first, then sharp ones; N x 3 x H x W float tensors in [0, 1]."""

    blurry: torch.Tensor
    sharp: torch.Tensor
    blurred_count: int

    def __len__(self) -> int:
        return len(self.sharp)


def validation_set(photos: list[np.ndarray], crop: int = 128, blurred: int = 24, sharp: int = 8,
                   seed: int = 10_000, blur: BlurSpec = HELDOUT_BLUR) -> ValidationSet:  # fmt: skip
    """Deterministic crops, photo i % len(photos) for crop i, blurred by `blur` (the held-out spline blur)."""
    if not photos:
        raise ValueError("validation needs at least one photo")
    rng = np.random.default_rng(seed)
    inputs, targets = [], []
    for i in range(blurred + sharp):
        image = photos[i % len(photos)]
        h, w = image.shape[:2]
        top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
        target = np.ascontiguousarray(image[top : top + crop, left : left + crop])
        if i < blurred:
            degraded, _ = degrade(target, rng, blur)
        else:
            degraded = add_noise(target, rng, blur.noise_sigma[0], blur.quantize)
        inputs.append(np.clip(degraded, 0, 1).transpose(2, 0, 1))
        targets.append(target.transpose(2, 0, 1))
    return ValidationSet(torch.from_numpy(np.stack(inputs)), torch.from_numpy(np.stack(targets)), blurred)


def unseen_validation_set(photos: Path, pairs: int) -> ValidationSet:
    """What the training validates on: the validation photos, three quarters blurred, a quarter sharp."""
    from training.photos import validation_photos

    blurred = max(1, pairs * 3 // 4)
    return validation_set(validation_photos(photos), 128, blurred, pairs - blurred)


def _psnrs(images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    return np.array([psnr(to_uint8(x.permute(1, 2, 0).numpy()), to_uint8(t.permute(1, 2, 0).numpy()))
                     for x, t in zip(images, targets)])  # fmt: skip


@torch.no_grad()
def score_gains(model: torch.nn.Module, data: ValidationSet, device: torch.device, iterations: int,
          batch: int = 16) -> dict[str, float]:  # fmt: skip
    """PSNR gains over the input (dB, uint8 as evaluation): all crops, blurred, sharp, worst.

    `val_score`, the mean gain over every crop, sharp ones included, is what checkpoints are
    chosen by.
    """
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(data), batch):
        x = model.f(data.blurry[start : start + batch].to(device))
        for _ in range(iterations):
            x = model.g(x)
        outputs.append(x.float().cpu())
    model.train(was_training)
    before = _psnrs(data.blurry, data.sharp)
    gains = _psnrs(torch.cat(outputs), data.sharp) - before
    n = data.blurred_count
    return {
        "val_score": float(gains.mean()),
        "val_blurred_gain": float(gains[:n].mean()),
        "val_sharp_gain": float(gains[n:].mean()) if n < len(gains) else 0.0,
        "val_worst_gain": float(gains.min()),
        "val_blurred_input_psnr": float(before[:n].mean()),
    }
