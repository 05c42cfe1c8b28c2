"""The held-out evaluation set: photos and blur the shipped model never saw in training.

256x256 crops of natural photos that are not training images (scikit-image's rocket and
motorcycle, matplotlib's grace_hopper, scikit-learn's china and flower), blurred with 9-23 px
kernels from the *spline* trajectory model (training uses the shake model), Gaussian noise
sigma 0.01, quantised to 8 bits. The straight-streak set blurs the same photos with straight
streaks of 5-21 px at any angle (`STREAK_BLUR`), the blur a short exposure of a sweep leaves.
Files are found inside the installed packages; nothing is downloaded, and no package is
imported just to find them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golf_rt.images.files import load_image
from golf_rt.images.pixels import rgb_float_from
from golf_rt.images.synthetic import BlurSpec, add_noise, degrade
from golf_rt.machine.extras import missing_package_error

HELDOUT_PHOTOS = (
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/motorcycle_left.png"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
)
HELDOUT_BLUR = BlurSpec(extent=(9, 23), model="spline", noise_sigma=(0.01, 0.01), quantize=True)
STREAK_BLUR = BlurSpec(extent=(5, 21), model="streak", noise_sigma=(0.01, 0.01), quantize=True)
HELDOUT_SETS = {"camera-shake": HELDOUT_BLUR, "streak": STREAK_BLUR}


@dataclass(frozen=True)
class Pair:
    name: str
    blurry: np.ndarray  # float32 HxWx3 in [0, 1], quantised to 8 bits
    sharp: np.ndarray


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / relative
    return path if path.is_file() else None


def available_photos() -> list[Path]:
    """The held-out photos present here (scikit-learn and matplotlib are optional)."""
    return [p for p in (_package_file(pkg, rel) for pkg, rel in HELDOUT_PHOTOS) if p is not None]


def heldout_pairs(crops_per_photo: int = 4, size: int = 256, seed: int = 2024,
                  blur: BlurSpec = HELDOUT_BLUR) -> list[Pair]:  # fmt: skip
    """Deterministic held-out pairs: `crops_per_photo` random crops of every available photo."""
    photos = available_photos()
    if not photos:
        raise missing_package_error("skimage", "the held-out photos (scikit-image's, matplotlib's, scikit-learn's)")
    rng = np.random.default_rng(seed)
    pairs = []
    for photo in photos:
        image = rgb_float_from(load_image(photo))
        h, w = image.shape[:2]
        for k in range(crops_per_photo):
            top, left = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
            sharp = np.ascontiguousarray(image[top : top + size, left : left + size])
            blurry, _ = degrade(sharp, rng, blur)
            pairs.append(Pair(f"{photo.stem}_{k}", np.clip(blurry, 0, 1), sharp))
    return pairs


def with_heldout_noise(pairs: list[Pair], seed: int = 7) -> list[Pair]:
    """The pairs' sharp images with only the held-out sensor noise: what sharp input looks like."""
    rng = np.random.default_rng(seed)
    sigma = HELDOUT_BLUR.noise_sigma[0]
    return [Pair(p.name, add_noise(p.sharp, rng, sigma, HELDOUT_BLUR.quantize), p.sharp) for p in pairs]
