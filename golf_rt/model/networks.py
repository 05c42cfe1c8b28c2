"""The Golf Optimizer's networks F and G (Luo, Chen, Qian, Section 5.1, Table 1).

Both are the same residual CNN with a different filter count: F (32 filters) makes one
aggressive step from the blurry image, G (16 filters) refines recurrently. Pure modules:
nothing here reads files or downloads anything.
"""

from __future__ import annotations

import torch
from torch import nn

from golf_rt.contract import DEFAULT_ITERATIONS, F_FILTERS, G_FILTERS

RESIDUAL_SCALES = ("none", "gradient")
PADDINGS = ("zeros", "reflect")
GRADIENT_FLOOR = 1e-6  # keeps the square root differentiable on flat images


def _conv(in_channels: int, out_channels: int, kernel_size: int, padding: str = "zeros") -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False,
                     padding_mode=padding)  # fmt: skip


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True)


class BasicBlock(nn.Module):
    """Conv 7x7, IN, ReLU, Conv 5x5, IN, ReLU plus a shortcut (IN + 1x1 conv when channels change)."""

    def __init__(self, in_channels: int, out_channels: int, padding: str = "zeros") -> None:
        super().__init__()
        self.residual = nn.Sequential(
            _conv(in_channels, out_channels, 7, padding),
            _norm(out_channels),
            nn.ReLU(inplace=True),
            _conv(out_channels, out_channels, 5, padding),
            _norm(out_channels),
            nn.ReLU(inplace=True),
        )
        self.shortcut: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(_norm(in_channels), _conv(in_channels, out_channels, 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class GolfNet(nn.Module):
    """One residual step x + r(x): the architecture shared by F and G.

    The last convolution starts at zero, so an untrained network is the identity and the
    residual branch learns the negative gradient of the image prior (the paper's Eq. 3, 11).

    Instance normalisation makes the branch blind to the input's contrast: r(a*x + b) = r(x),
    so it adds a correction of the same strength to a flat patch of sky and to a page of text.
    residual_scale="gradient" multiplies the branch's output by the root-mean-square of the
    input's finite differences (parameter-free, Table 1's counts unchanged), so the correction
    follows the image's detail. The default, "none", is the paper's network as printed: in
    training runs here the scaling helped early validation but not the held-out set, and it made
    sharp inputs worse (MODEL_CARD.md, "What was tried").

    padding="reflect" pads every convolution by mirroring instead of with zeros: zero padding
    shows the network a dark frame around every image, which it learns to "deblur" into a faint
    line near the border. Reflect padding has no parameters, so Table 1's counts are unchanged.
    """

    def __init__(self, filters: int, residual_scale: str = "none", padding: str = "zeros") -> None:
        super().__init__()
        if residual_scale not in RESIDUAL_SCALES:
            raise ValueError(f"residual_scale must be one of {RESIDUAL_SCALES}, got {residual_scale!r}")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        self.filters = filters
        self.residual_scale = residual_scale
        self.padding = padding
        f, p = filters, padding
        self.branch = nn.Sequential(
            _conv(3, f, 7, p),
            BasicBlock(f, f, p), BasicBlock(f, f, p),
            BasicBlock(f, f, p), BasicBlock(f, f, p),
            BasicBlock(f, f, p), BasicBlock(f, f, p),
            BasicBlock(f, 3, p), BasicBlock(3, 3, p),
            _conv(3, 3, 7, p),
        )  # fmt: skip
        nn.init.zeros_(self.branch[-1].weight)

    def set_padding(self, padding: str) -> GolfNet:
        """Switch every convolution's padding in place (to fine-tune a zero-padded network)."""
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                module.padding_mode = padding
        self.padding = padding
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.branch(x)
        if self.residual_scale == "gradient":
            residual = residual * gradient_rms(x)
        return x + residual


def gradient_rms(x: torch.Tensor) -> torch.Tensor:
    """Per image: sqrt of the mean squared horizontal and vertical pixel difference, N x 1 x 1 x 1."""
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).square().mean(dim=(1, 2, 3), keepdim=True)
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).square().mean(dim=(1, 2, 3), keepdim=True)
    return torch.sqrt(0.5 * (dx + dy) + GRADIENT_FLOOR)


def build_f(residual_scale: str = "none", padding: str = "zeros") -> GolfNet:
    """F: the aggressive first step, 466,348 parameters."""
    return GolfNet(F_FILTERS, residual_scale, padding)


def build_g(residual_scale: str = "none", padding: str = "zeros") -> GolfNet:
    """G: the recurrent refiner, 120,188 parameters."""
    return GolfNet(G_FILTERS, residual_scale, padding)


class GUnrolled(nn.Module):
    """G applied a fixed number of times: the shape TensorRT and Triton want."""

    def __init__(self, g: GolfNet, iterations: int) -> None:
        super().__init__()
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        self.g = g
        self.iterations = iterations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.iterations):
            x = self.g(x)
        return x


class GolfOptimizer(nn.Module):
    """The full model: x0 = F(y), x_i = G(x_{i-1}) for i = 1..iterations."""

    def __init__(self, f: GolfNet, g: GolfNet, iterations: int = DEFAULT_ITERATIONS) -> None:
        super().__init__()
        if iterations < 0:
            raise ValueError(f"iterations must be non-negative, got {iterations}")
        self.f = f
        self.g = g
        self.iterations = iterations

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = self.f(y)
        for _ in range(self.iterations):
            x = self.g(x)
        return x

    def trajectory(self, y: torch.Tensor, iterations: int) -> list[torch.Tensor]:
        """Every iterate x_0..x_iterations, for training (Eq. 4) and evaluation tables."""
        xs = [self.f(y)]
        for _ in range(iterations):
            xs.append(self.g(xs[-1]))
        return xs


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def seeded_random_model(seed: int = 0, iterations: int = DEFAULT_ITERATIONS) -> GolfOptimizer:
    """F and G with seeded random weights and a residual of a few percent, like a trained model.

    For tests and benchmarks that need a model which is not the identity without trained weights;
    halving the conv weights keeps exported graphs within fp32 tolerance of PyTorch.
    """
    torch.manual_seed(seed)
    f, g = build_f(), build_g()
    with torch.no_grad():
        for net in (f, g):
            for parameter in net.parameters():
                if parameter.ndim == 4:
                    parameter.mul_(0.5)
            net.branch[-1].weight.normal_(0.0, 0.003)
    return GolfOptimizer(f, g, iterations).eval()
