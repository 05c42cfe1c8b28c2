"""Training losses: the pixel term Lc in three flavours, and a frequency term.

"mse" is the paper's. "psnr" weighs every image in dB as evaluation does. "charbonnier"
(a smooth L1) does not let the few most blurred images dominate the gradient, so nearly sharp
images are not sacrificed to them. The frequency term compares spectra, where blur shows as
missing high frequencies that a pixel loss under-weights.
"""

from __future__ import annotations

import torch
from torch import nn

LOSSES = ("mse", "psnr", "charbonnier")
PSNR_LOSS_FLOOR = 1e-5  # per-image MSE floor: 50 dB, so exact reconstructions do not dominate
CHARBONNIER_EPSILON = 1e-3


def pixel_loss(output: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Lc, the pixel term, for a batch of N x C x H x W images."""
    if kind == "mse":
        return nn.functional.mse_loss(output, target)
    if kind == "charbonnier":
        return torch.sqrt((output - target).square() + CHARBONNIER_EPSILON**2).mean()
    if kind == "psnr":
        per_image = (output - target).square().mean(dim=(1, 2, 3))
        return 10.0 * torch.log10(per_image + PSNR_LOSS_FLOOR).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def frequency_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the two images' 2-D spectra (orthonormal FFT, fp32)."""
    difference = torch.fft.rfft2(output.float() - target.float(), norm="ortho")
    return difference.abs().mean()
