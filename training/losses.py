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


def stage_loss(f: nn.Module, trained: nn.Module, blurry: torch.Tensor, sharp: torch.Tensor, stage: str,
               iterations: int, kind: str, fft_weight: float = 0.0, perceptual=None) -> torch.Tensor:  # fmt: skip
    """The training loss of a stage, shared by the CPU and the GPU training loops.

    Stage "F": Eq. 6 (pixel + optional frequency and perceptual terms) on F's output. Stage "G":
    its mean over the iterates G^i(F(y)), i = 1..iterations, with F frozen (Eq. 4).
    """
    if stage == "F":
        outputs = [trained(blurry)]
    else:
        with torch.no_grad():
            x = f(blurry)
        outputs = []
        for _ in range(iterations):
            x = trained(x)
            outputs.append(x)
    terms = []
    for x in outputs:
        term = pixel_loss(x.float(), sharp, kind)
        if fft_weight:
            term = term + fft_weight * frequency_loss(x, sharp)
        if perceptual is not None:
            term = term + perceptual(x, sharp)
        terms.append(term)
    return torch.stack(terms).mean()
