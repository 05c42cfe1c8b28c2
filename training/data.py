"""Training pairs: GoPro as distributed, or synthetic camera shake generated on the fly.

Every synthetic pair is a pure function of (seed, index), so runs are reproducible and the
validation split is fixed; `batch_loader` serves them in a fixed, resumable order, built in
spawned workers while the model trains. `image_sources` says which photos a run trains and
validates on. Images are float32 HxWx3 in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from golf_rt.images.files import IMAGE_SUFFIXES, load_image
from golf_rt.images.pixels import rgb_float_from
from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade
from golf_rt.quality.heldout import HELDOUT_BLUR
from training import photos as photo_sets
from training.validation import ValidationSet

# scikit-image's bundled images used for training. Held out for evaluation (never trained on):
# rocket, motorcycle_left/right, plus matplotlib's grace_hopper and scikit-learn's china/flower.
SKIMAGE_TRAINING = (
    "astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
    "retina.jpg", "color.png", "camera.png", "brick.png", "grass.png", "gravel.png",
    "moon.png", "text.png", "page.png", "coins.png", "cell.png", "chessboard_RGB.png",
)  # fmt: skip


def read_image(path: str | Path) -> np.ndarray:
    """An image file as float32 RGB in [0, 1]: grey replicated, alpha dropped, 16 bits kept, upright."""
    return rgb_float_from(load_image(path))


def skimage_images() -> list[np.ndarray]:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    return [read_image(folder / name) for name in SKIMAGE_TRAINING]


def folder_images(folder: str | Path) -> list[np.ndarray]:
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    return [read_image(p) for p in paths]


@dataclass(frozen=True)
class SyntheticConfig:
    """What the on-the-fly generator draws from."""

    crop: int = 96
    procedural_fraction: float = 0.3
    blur: BlurSpec = field(default_factory=BlurSpec)
    scale_range: tuple[float, float] = (0.35, 1.0)
    colour_jitter: bool = True

    def __post_init__(self) -> None:
        if self.crop < 16:
            raise ValueError(f"crop must be at least 16 px, got {self.crop}")
        if not 0.0 <= self.procedural_fraction <= 1.0:
            raise ValueError(f"procedural_fraction must be in [0, 1], got {self.procedural_fraction}")


def native_config(crop: int, trajectory: str = "shake") -> SyntheticConfig:
    """Native-scale training photos, the held-out blur strength, the training trajectories.

    9-23 px, sigma 0.01, 8 bits, like the held-out set; validation and baselines use it.
    """
    return SyntheticConfig(
        crop=crop, procedural_fraction=0.0, scale_range=(1.0, 1.0), colour_jitter=False,
        blur=replace(HELDOUT_BLUR, model=trajectory),
    )  # fmt: skip


def _random_crop(image: np.ndarray, rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    size = config.crop
    h, w = image.shape[:2]
    low = max(config.scale_range[0], size / min(h, w))
    scale = rng.uniform(low, max(low, config.scale_range[1]))
    ch, cw = int(round(size / scale)), int(round(size / scale))
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    patch = image[top : top + ch, left : left + cw]
    if (ch, cw) != (size, size):
        channels = [Image.fromarray(patch[..., c]).resize((size, size), Image.BICUBIC) for c in range(3)]
        patch = np.clip(np.stack([np.asarray(c) for c in channels], axis=2), 0, 1)
    return patch


def _augment(patch: np.ndarray, rng: np.random.Generator, jitter: bool) -> np.ndarray:
    patch = np.rot90(patch, rng.integers(0, 4))
    if rng.uniform() < 0.5:
        patch = patch[:, ::-1]
    if jitter:
        patch = patch[..., rng.permutation(3)]
        patch = patch ** rng.uniform(0.7, 1.4) * rng.uniform(0.75, 1.0)
    return np.ascontiguousarray(patch, dtype=np.float32)


FLAT_STD = 1e-3
"""A training crop whose pixel standard deviation is below this is drawn again."""
FLAT_RETRIES = 8


class SyntheticPairs(Dataset):
    """(blurry, sharp) CHW tensors; item i is determined by (seed, i) alone."""

    def __init__(self, images: list[np.ndarray], config: SyntheticConfig, seed: int, length: int) -> None:
        if not images and config.procedural_fraction < 1.0:
            raise ValueError("no sharp images given and procedural_fraction < 1")
        self.images = [im for im in images if min(im.shape[:2]) >= config.crop]
        self.config = config
        self.seed = seed
        self.length = length

    def __len__(self) -> int:
        return self.length

    def sharp(self, rng: np.random.Generator) -> np.ndarray:
        """A photo crop, or a dead-leaves image; never a flat crop.

        A flat crop teaches nothing, and on it every instance norm multiplies the gradient by up to
        1/sqrt(eps): G's stacked norms overflowed fp32 on one and turned every weight into NaN.
        """
        if not self.images or rng.uniform() < self.config.procedural_fraction:
            return dead_leaves(rng, self.config.crop)
        for _ in range(FLAT_RETRIES):
            image = self.images[rng.integers(len(self.images))]
            crop = _augment(_random_crop(image, rng, self.config), rng, self.config.colour_jitter)
            if crop.std() >= FLAT_STD:
                return crop
        return dead_leaves(rng, self.config.crop)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        sharp = self.sharp(rng)
        blurry, _ = degrade(sharp, rng, self.config.blur)
        return torch.from_numpy(blurry.transpose(2, 0, 1).copy()), torch.from_numpy(sharp.transpose(2, 0, 1).copy())


class GoProPairs(Dataset):
    """GOPRO_Large/{train,test}/<sequence>/{blur,blur_gamma,sharp}/*.png, random crops and flips."""

    def __init__(self, root: str | Path, split: str = "train", crop: int | None = 256,
                 blur_folder: str = "blur", seed: int = 0) -> None:  # fmt: skip
        self.root = Path(root) / split
        if not self.root.is_dir():
            raise FileNotFoundError(f"GoPro split folder not found: {self.root}")
        self.pairs = [
            (blurry, blurry.parent.parent / "sharp" / blurry.name)
            for blurry in sorted(self.root.glob(f"*/{blur_folder}/*.png"))
        ]
        missing = [str(s) for _, s in self.pairs if not s.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} sharp images missing, e.g. {missing[0]}")
        if not self.pairs:
            raise FileNotFoundError(f"no {blur_folder}/*.png pairs under {self.root}")
        self.crop = crop
        self.seed = seed

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        blurry, sharp = (read_image(p) for p in self.pairs[index])
        if self.crop is not None:
            rng = np.random.default_rng([self.seed, index, int(torch.randint(1 << 30, (1,)))])
            h, w = sharp.shape[:2]
            top, left = rng.integers(0, h - self.crop + 1), rng.integers(0, w - self.crop + 1)
            window = (slice(top, top + self.crop), slice(left, left + self.crop))
            blurry, sharp = blurry[window], sharp[window]
            if rng.uniform() < 0.5:
                blurry, sharp = blurry[:, ::-1], sharp[:, ::-1]
            if rng.uniform() < 0.5:
                blurry, sharp = blurry[::-1], sharp[::-1]
        return (torch.from_numpy(np.ascontiguousarray(blurry.transpose(2, 0, 1))),
                torch.from_numpy(np.ascontiguousarray(sharp.transpose(2, 0, 1))))  # fmt: skip


def gopro_validation(root: str | Path, crop: int, count: int) -> ValidationSet:
    """The first `count` crops of GoPro's test split (all blurred), fixed by a seed."""
    test = GoProPairs(root, "test", crop=crop, seed=12345)
    pairs = [test[i] for i in range(min(count, len(test)))]
    blurry, sharp = (torch.stack(t) for t in zip(*pairs))
    return ValidationSet(blurry, sharp, len(pairs))


@dataclass(frozen=True)
class ImageSources:
    """The sharp photos a run trains on and the ones it validates on, with where they came from, in words."""

    training: list[np.ndarray]
    validation: list[np.ndarray]
    validation_source: str
    notes: tuple[str, ...] = ()


def image_sources(data: str, folder: str | Path, validation: str) -> ImageSources:
    """data: synthetic (scikit-image's photos), photos (plus the wallpaper photos in `folder`) or folder:PATH.

    validation: "unseen", the validation photos of `folder`; "native", the training photos. A
    missing photo folder is not fatal: the run trains on scikit-image's photos and validates on
    them, and says so in `notes` (the log and the checkpoint's data description carry it).
    """
    folder, notes = Path(folder), []
    if data.startswith("folder:"):
        training = folder_images(data.split(":", 1)[1])
    else:
        training = skimage_images()
        if data == "photos":
            try:
                training = training + photo_sets.training_photos(folder)
            except FileNotFoundError as exc:
                notes.append(f"{exc}; training on scikit-image's photos alone")
    if validation == "unseen":
        try:
            return ImageSources(training, photo_sets.validation_photos(folder), f"validation photos in {folder}",
                                tuple(notes))  # fmt: skip
        except FileNotFoundError as exc:
            notes.append(f"{exc}; validating on crops of the training photos (kept apart neither in photos nor in "
                         "kernel model)")  # fmt: skip
            return ImageSources(training, training, "the training photos (no photo folder)", tuple(notes))
    return ImageSources(training, training, "crops of the training photos", tuple(notes))


class StepIndices(torch.utils.data.Sampler):
    """Item indices in training order from step `start` on; each rank takes its own share."""

    def __init__(self, steps: int, batch: int, start: int, world: int, rank: int, length: int) -> None:
        self.steps, self.batch = steps, batch
        self.start, self.world, self.rank, self.length = start, world, rank, length

    def __len__(self) -> int:
        return (self.steps - self.start) * self.batch

    def __iter__(self):
        batch = self.batch
        for step in range(self.start, self.steps):
            for j in range(batch):
                yield ((step * self.world + self.rank) * batch + j) % self.length


def batch_loader(train_set: Dataset, batch: int, steps: int, start: int = 0, workers: int = 0, world: int = 1,
                 rank: int = 0) -> torch.utils.data.DataLoader:  # fmt: skip
    """Batches for steps `start`..`steps` in a fixed order; with workers > 0 built while the model trains."""
    sampler = StepIndices(steps, batch, start, world, rank, len(train_set))
    # spawn, not fork: a forked worker inherits the threads of runtimes already loaded and can crash
    extra = {"prefetch_factor": 4, "multiprocessing_context": "spawn"} if workers else {}
    return torch.utils.data.DataLoader(train_set, batch_size=batch, sampler=sampler, num_workers=workers, **extra)
