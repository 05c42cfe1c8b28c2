"""Training pairs made on the training device, so a GPU never waits for the CPU.

Every sharp image (photos, pre-made dead-leaves images) is uploaded once into one flat pixel
buffer; a batch of crops is a single gather whose index grid already holds each crop's random
position and dihedral transform (rot90 and flips). Blur follows `golf_rt.images.synthetic.degrade`
exactly: a kernel from the bank, itself turned by a random dihedral transform, applied with the
project's border convention (reflect-pad by half the kernel, convolve, crop back) through an
FFT, then Gaussian noise and 8-bit rounding; a share of the crops stays unblurred (noise and
rounding only), so the model learns to leave sharp input alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PairConfig:
    """What the device pairs draw from; the defaults are the GPU run's recipe."""

    crop: int = 256
    sharp_fraction: float = 0.25
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    quantize: bool = True
    procedural_fraction: float = 0.3
    colour_jitter: bool = True

    def __post_init__(self) -> None:
        if self.crop < 16:
            raise ValueError(f"crop must be at least 16 px, got {self.crop}")
        for name in ("sharp_fraction", "procedural_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.noise_sigma[0] <= self.noise_sigma[1]:
            raise ValueError(f"noise_sigma must satisfy 0 <= low <= high, got {self.noise_sigma}")


def blur(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Blur N x C x H x W images, image n by kernel n (N x K x K, K odd), as `golf_rt.images.synthetic.blur`.

    Reflect-padding by p = K // 2 gives an N' = H + 2p image whose circular convolution with the
    kernel equals the linear one on the rows and columns 2p..N'-1 that the convention keeps, so
    the FFT needs no further padding.
    """
    size = kernels.shape[-1]
    if kernels.shape[-2] != size or size % 2 == 0:
        raise ValueError(f"kernels must be square with an odd side, got {tuple(kernels.shape)}")
    p = size // 2
    h, w = images.shape[-2:]
    if p >= h or p >= w:
        raise ValueError(f"{size}x{size} kernels are too large for {h}x{w} images")
    padded = torch.nn.functional.pad(images.float(), (p, p, p, p), mode="reflect")
    shape = padded.shape[-2:]
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(kernels.float(), s=shape)[:, None]
    return torch.fft.irfft2(spectrum, s=shape)[..., 2 * p :, 2 * p :]


def dihedral(grids: tuple[torch.Tensor, torch.Tensor], flags: torch.Tensor, size: int) -> tuple[torch.Tensor, ...]:
    """Row and column grids under per-item transpose / flip-rows / flip-columns flags (N x 3 bools)."""
    rows, cols = grids
    swap, flip_rows, flip_cols = (flags[:, i].view(-1, 1, 1) for i in range(3))
    rows, cols = torch.where(swap, cols, rows), torch.where(swap, rows, cols)
    return torch.where(flip_rows, size - 1 - rows, rows), torch.where(flip_cols, size - 1 - cols, cols)


class DevicePairs:
    """Batches of (blurry, sharp) N x 3 x crop x crop float32 tensors, drawn on `device`.

    Sharp sources: `photos` (drawn uniformly) and `procedural` images (drawn with probability
    procedural_fraction); images smaller than the crop are left out. Kernels: a K x S x S bank.
    """

    def __init__(self, photos: list[np.ndarray], procedural: list[np.ndarray], kernels: np.ndarray,
                 config: PairConfig, device: torch.device | str, seed: int = 0) -> None:  # fmt: skip
        self.config, self.device = config, torch.device(device)
        photos = [p for p in photos if min(p.shape[:2]) >= config.crop]
        procedural = [p for p in procedural if min(p.shape[:2]) >= config.crop]
        if not photos and not procedural:
            raise ValueError(f"no sharp image is at least {config.crop} px on its short side")
        self.photo_count, self.procedural_count = len(photos), len(procedural)
        images = photos + procedural
        shapes = torch.tensor([im.shape[:2] for im in images], dtype=torch.int64)
        sizes = shapes[:, 0] * shapes[:, 1]
        offsets = torch.cumsum(sizes, 0) - sizes
        self.heights, self.widths, self.offsets = (t.to(self.device) for t in (shapes[:, 0], shapes[:, 1], offsets))
        pixels = np.concatenate([np.ascontiguousarray(im, dtype=np.float32).reshape(-1, 3) for im in images])
        self.pixels = torch.from_numpy(pixels).to(self.device)  # all images, H*W x 3 each, back to back
        self.kernels = torch.from_numpy(np.ascontiguousarray(kernels, dtype=np.float32)).to(self.device)
        self.generator = torch.Generator(self.device).manual_seed(seed)
        line = torch.arange(config.crop, device=self.device)
        self.grids = (line.view(1, -1, 1).expand(1, -1, config.crop), line.view(1, 1, -1).expand(1, config.crop, -1))

    @property
    def pixel_bytes(self) -> int:
        return self.pixels.numel() * self.pixels.element_size() + self.kernels.numel() * 4

    def _uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, device=self.device, generator=self.generator)

    def _sources(self, n: int) -> torch.Tensor:
        """Image index per crop: a photo, or with probability procedural_fraction a dead-leaves image."""
        photo = (self._uniform(n) * self.photo_count).long().clamp_max(max(self.photo_count - 1, 0))
        leaves = self.photo_count + (self._uniform(n) * self.procedural_count).long().clamp_max(
            max(self.procedural_count - 1, 0)
        )
        if not self.procedural_count:
            return photo
        if not self.photo_count:
            return leaves
        return torch.where(self._uniform(n) < self.config.procedural_fraction, leaves, photo)

    def sharp(self, n: int) -> torch.Tensor:
        """Random crops, each turned by one of the 8 dihedral transforms, colour-jittered."""
        crop = self.config.crop
        source = self._sources(n)
        top = (self._uniform(n) * (self.heights[source] - crop + 1)).long()
        left = (self._uniform(n) * (self.widths[source] - crop + 1)).long()
        rows, cols = dihedral(self.grids, self._uniform(n, 3) < 0.5, crop)
        index = (self.offsets[source].view(-1, 1, 1) + (top.view(-1, 1, 1) + rows) * self.widths[source].view(-1, 1, 1)
                 + left.view(-1, 1, 1) + cols)  # fmt: skip
        patches = self.pixels[index]  # n x crop x crop x 3
        if self.config.colour_jitter:  # as training.data's augmentation: channel order, gamma, brightness
            order = torch.argsort(self._uniform(n, 3), dim=1)
            patches = torch.gather(patches, 3, order.view(n, 1, 1, 3).expand_as(patches))
            gamma = 0.7 + 0.7 * self._uniform(n).view(n, 1, 1, 1)
            brightness = 0.75 + 0.25 * self._uniform(n).view(n, 1, 1, 1)
            patches = patches.clamp_min(0) ** gamma * brightness
        return patches.permute(0, 3, 1, 2).contiguous()

    def degrade(self, sharp: torch.Tensor) -> torch.Tensor:
        """Blur with a bank kernel in one of 8 orientations (or not at all), add noise, round to 8 bits."""
        n = sharp.shape[0]
        picks = (self._uniform(n) * len(self.kernels)).long().clamp_max(len(self.kernels) - 1)
        size = self.kernels.shape[-1]
        grid = torch.arange(size, device=self.device)
        rows, cols = dihedral((grid.view(1, -1, 1).expand(1, -1, size), grid.view(1, 1, -1).expand(1, size, -1)),
                              self._uniform(n, 3) < 0.5, size)  # fmt: skip
        kernels = self.kernels[picks.view(-1, 1, 1), rows, cols]
        blurry = blur(sharp, kernels)
        unblurred = self._uniform(n) < self.config.sharp_fraction
        blurry = torch.where(unblurred.view(n, 1, 1, 1), sharp, blurry)
        low, high = self.config.noise_sigma
        sigma = low + (high - low) * self._uniform(n).view(n, 1, 1, 1)
        blurry = blurry + sigma * torch.randn(blurry.shape, device=self.device, generator=self.generator)
        if self.config.quantize:
            blurry = torch.round(blurry.clamp(0, 1) * 255) / 255
        return blurry

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(blurry, sharp), both n x 3 x crop x crop on the device."""
        sharp = self.sharp(n)
        return self.degrade(sharp), sharp
