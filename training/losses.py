"""Training losses: the pixel term Lc in three flavours, and a frequency term.

"mse" is the paper's. "psnr" weighs every image in dB as evaluation does. "charbonnier"
(a smooth L1) does not let the few most blurred images dominate the gradient, so nearly sharp
images are not sacrificed to them. The frequency term compares spectra, where blur shows as
missing high frequencies that a pixel loss under-weights. The perceptual term Lp is the paper's:
MSE between VGG-11-BN features after the 5th max-pool, with weights from a file the user gives
(torchvision's published `vgg11_bn` state dict, as safetensors or a weights-only torch file);
nothing is downloaded. `FiniteSteps` drops a step whose loss or gradients are not finite: one
NaN gradient would otherwise turn every weight into NaN, and the run would go on for hours
saving a dead checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from golf_rt.errors import CheckpointError

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
    """The training loss of a stage.

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


VGG11_LAYOUT = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg11_bn_features() -> nn.Sequential:
    """Torchvision's `vgg11_bn().features`, same module indices, so state-dict keys match."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG11_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
            channels = item
    return nn.Sequential(*layers)


def load_vgg_state(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"VGG weights not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a weights-only torch state dict: {exc}") from exc


class PerceptualLoss(nn.Module):
    """Frozen VGG-11-BN features in eval mode; inputs in [0, 1] are ImageNet-normalised."""

    def __init__(self, weights: str | Path) -> None:
        super().__init__()
        self.features = vgg11_bn_features()
        state = load_vgg_state(weights)
        features = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict(features, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{weights} does not hold torchvision's vgg11_bn weights "
                f"(expected keys features.0.weight ... features.25.running_var): {exc}"
            ) from exc
        self.features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.features.eval()  # batch-norm statistics stay frozen
        return self

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        a = self.features((output - self.mean) / self.std)
        b = self.features((target - self.mean) / self.std)
        return nn.functional.mse_loss(a, b)


PATIENCE = 25
"""Non-finite steps in a row that end the run: by then the weights or the data are broken."""


class NonFiniteTrainingError(RuntimeError):
    """The loss or the gradients stayed non-finite for PATIENCE steps in a row."""


class FiniteSteps:
    """Call `allows(loss, step)` after the backward pass: False means drop this step's gradients."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter], patience: int = PATIENCE) -> None:
        self.parameters = [p for p in parameters if p.requires_grad]
        self.patience = patience
        self.skipped = 0
        self.in_a_row = 0

    def allows(self, loss: torch.Tensor, step: int) -> bool:
        gradient_norm = torch.nn.utils.clip_grad_norm_(self.parameters, float("inf"))
        if bool(torch.isfinite(loss.detach()) & torch.isfinite(gradient_norm)):
            self.in_a_row = 0
            return True
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row >= self.patience:
            raise NonFiniteTrainingError(
                f"step {step}: loss or gradients non-finite for {self.in_a_row} steps in a row "
                f"({self.skipped} skipped in all); the last saved checkpoint is the last good one"
            )
        return False
