"""The paper's perceptual loss Lp: MSE between VGG-11-BN features after the 5th max-pool.

The VGG weights come from a file the user gives (torchvision's published `vgg11_bn` state
dict, as safetensors or a weights-only torch file); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from golf_rt.errors import CheckpointError

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
