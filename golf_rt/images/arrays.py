"""Arrays in, arrays out: what callers hand us becomes one network batch and comes back as they gave it.

`prepare(image)` checks an image (or a batch of equal-size images) once and returns a `Prepared`
holding `batch`, a read-only N x 3 x H x W float32 array in [0, 1] (runners take it with
`check_inputs=False` and do not scan it again), and `restore(output)`, which turns the network's
output back into the caller's kind:

- numpy H x W x C (or H x W) uint8 -> uint8, uint16 -> uint16, float32/float64 in [0, 1] -> float32;
- a PIL image -> a PIL image of the same mode (L, LA, RGB, RGBA, I;16);
- a path (str or Path) -> a numpy array as `golf_rt.images.files.load_image` reads it;
- N x H x W x C arrays -> the same; lists of equal-size images -> lists.

Grayscale (1 channel, or 2 with alpha) is replicated to 3 channels for the network, and the mean
of the 3 output channels comes back: the least-squares grey value of a colour result. An alpha
channel never goes through the network; it is returned untouched.

Float outputs are returned exactly as computed (they can leave [0, 1] slightly); they are clipped
to [0, 1] and rounded only when converted to an integer type (`to_integer`, the one place that
does it), since an integer cannot hold them otherwise.
Only numpy and Pillow are needed here: the Triton client uses this module without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from golf_rt.contract import CHANNELS
from golf_rt.errors import InvalidImageError
from golf_rt.images.files import load_image
from golf_rt.images.pixels import FLOATS, INTEGER_SCALE, check_size, to_integer

PIL_MODES = ("L", "LA", "RGB", "RGBA", "I;16")

ImageLike = Any  # np.ndarray | PIL.Image.Image | str | Path, or a list of them


@dataclass(frozen=True)
class _Source:
    """How one image came in, so that its result can go back the same way."""

    kind: Literal["array", "pil"]
    dtype: np.dtype
    channels: int  # 1 (H x W x 1), 2 (grey + alpha), 3, 4 (RGBA); 0 means a 2-D H x W array
    alpha: np.ndarray | None  # H x W, in the input dtype
    pil_mode: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A checked network batch and the recipe to give its result back in the caller's kind."""

    batch: np.ndarray  # N x 3 x H x W float32, C-contiguous, read-only, values in [0, 1], checked
    sources: tuple[_Source, ...]
    container: Literal["single", "stacked", "list"]

    def restore(self, output: np.ndarray) -> Any:
        """The network's N x 3 x H x W output as the caller's kind (see the module docstring)."""
        output = np.asarray(output)
        if output.shape != self.batch.shape:
            raise InvalidImageError(f"output batch has shape {output.shape}, expected {self.batch.shape}")
        images = [_restore_one(output[i], source) for i, source in enumerate(self.sources)]
        if self.container == "single":
            return images[0]
        if self.container == "stacked":
            return np.stack(images)
        return images


def is_one_image(image: ImageLike) -> bool:
    """Whether `image` is one image, not a list of them nor an N x H x W x C array."""
    return not isinstance(image, (list, tuple)) and not (isinstance(image, np.ndarray) and image.ndim == 4)


def prepare(image: ImageLike) -> Prepared:
    """Check an image, N x H x W x C array or list of equal-size images; raise InvalidImageError if bad."""
    if isinstance(image, (list, tuple)):
        if not image:
            raise InvalidImageError("empty list of images")
        container: Literal["single", "stacked", "list"] = "list"
        items = [_checked(item, f"image {i}") for i, item in enumerate(image)]
    elif isinstance(image, np.ndarray) and image.ndim == 4:
        if image.shape[0] == 0:
            raise InvalidImageError("empty batch: N x H x W x C array with N = 0")
        container = "stacked"
        items = [_checked(item, f"image {i}") for i, item in enumerate(image)]
    else:
        container = "single"
        items = [_checked(image, "image")]
    sizes = sorted({hwc.shape[:2] for hwc, _ in items})
    if len(sizes) > 1:
        listed = ", ".join(f"{width}x{height}" for height, width in sizes)
        raise InvalidImageError(f"images in one batch must have the same size, got {listed} (width x height)")
    return _prepared(items, container)


def _prepared(items: list[tuple[np.ndarray, _Source]], container: Literal["single", "stacked", "list"]) -> Prepared:
    """Checked images of one size as one read-only network batch, with how to give each back."""
    batch = np.empty((len(items), CHANNELS, *items[0][0].shape[:2]), np.float32)
    for target, (hwc, source) in zip(batch, items, strict=True):
        _to_network(hwc, source, target)
    batch.flags.writeable = False  # checked once: no one may change the values behind the check
    return Prepared(batch, tuple(source for _, source in items), container)


def _checked(image: Any, what: str) -> tuple[np.ndarray, _Source]:
    """The image as H x W x C in its own dtype, and how it came; every check on its values is here."""
    if isinstance(image, (str, Path)):
        image = load_image(image)
    if isinstance(image, Image.Image):
        if image.mode not in PIL_MODES:
            raise InvalidImageError(
                f"{what}: PIL mode {image.mode!r} is not supported; use one of {', '.join(PIL_MODES)} "
                f"(e.g. image.convert('RGB'))"
            )
        hwc, source = _checked_array(np.asarray(image), what)
        return hwc, _Source("pil", source.dtype, source.channels, source.alpha, image.mode)
    if isinstance(image, np.ndarray):
        return _checked_array(image, what)
    raise InvalidImageError(f"{what}: expected a numpy array, PIL image or path, got {type(image).__name__}")


def _checked_array(array: np.ndarray, what: str) -> tuple[np.ndarray, _Source]:
    if array.size == 0:
        raise InvalidImageError(f"{what} is empty (shape {array.shape})")
    if array.ndim not in (2, 3):
        raise InvalidImageError(f"{what}: expected H x W or H x W x C, got {array.ndim} dimensions {array.shape}")
    hwc = array[:, :, None] if array.ndim == 2 else array
    if hwc.shape[2] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"{what}: {hwc.shape[2]} channels; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) "
            f"in the last axis of H x W x C"
        )
    check_size(hwc.shape[0], hwc.shape[1], what)
    if array.dtype in FLOATS:
        if not np.isfinite(hwc).all():
            raise InvalidImageError(f"{what} contains NaN or Inf")
        low, high = float(hwc.min()), float(hwc.max())
        if low < 0.0 or high > 1.0:
            raise InvalidImageError(f"{what}: float values must lie in [0, 1], got [{low:.4g}, {high:.4g}]")
    elif array.dtype not in INTEGER_SCALE:
        raise InvalidImageError(
            f"{what}: dtype {array.dtype} is not supported; use uint8, uint16, float32 or float64"
        )  # fmt: skip
    colour_channels = 3 if hwc.shape[2] >= 3 else 1
    alpha = hwc[:, :, colour_channels].copy() if hwc.shape[2] in (2, 4) else None
    channels = 0 if array.ndim == 2 else hwc.shape[2]
    return hwc, _Source("array", array.dtype, channels, alpha)


def _to_network(hwc: np.ndarray, source: _Source, target: np.ndarray) -> None:
    """Pixels (H x W x C, the input's dtype) into `target`, 3 x H x W float32 in [0, 1]; alpha is left out."""
    colour = hwc[:, :, : 3 if hwc.shape[2] >= 3 else 1]
    target[...] = np.moveaxis(colour, 2, 0)  # grey broadcasts to the three channels
    if source.dtype in INTEGER_SCALE:
        np.divide(target, np.float32(INTEGER_SCALE[source.dtype]), out=target)


def _from_network(chw: np.ndarray, source: _Source, alpha: np.ndarray | None) -> np.ndarray:
    """The network's 3 x H x W output as H x W x C in the input's dtype, with its alpha rows put back."""
    hwc = np.moveaxis(chw, 0, 2)
    if source.channels in (0, 1, 2):
        hwc = hwc.mean(axis=2, keepdims=True, dtype=np.float32)
    hwc = to_integer(hwc, source.dtype) if source.dtype in INTEGER_SCALE else hwc.astype(np.float32, copy=False)
    if alpha is not None:
        hwc = np.concatenate([hwc, alpha.astype(hwc.dtype, copy=False)[:, :, None]], axis=2)
    return hwc


def _as_given(hwc: np.ndarray, source: _Source) -> Any:
    """A result's H x W x C pixels as the caller gave the image: a 2-D array, or a PIL image of its mode."""
    hwc = np.ascontiguousarray(hwc[:, :, 0] if source.channels == 0 else hwc)
    return Image.fromarray(hwc) if source.kind == "pil" else hwc


def _restore_one(chw: np.ndarray, source: _Source) -> Any:
    return _as_given(_from_network(chw, source, source.alpha), source)


@dataclass(frozen=True)
class Photo:
    """One checked image converted a region at a time, its result written a band of rows at a time.

    What `prepare` and `restore` do for a whole batch, for a photo too large to hold as float32
    twice: only the input, the result in the input's own type and the tiles in flight are held.
    """

    pixels: np.ndarray  # H x W x C, the input's dtype
    source: _Source

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    def region(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        """That part of the photo as 3 x height x width float32 network values in [0, 1]."""
        out = np.empty((CHANNELS, height, width), np.float32)
        _to_network(self.pixels[top : top + height, left : left + width], self.source, out)
        return out

    def new_result(self) -> np.ndarray:
        """An empty H x W x C result of the channels and dtype `write_rows` gives (as `restore` would)."""
        alpha = None if self.source.alpha is None else self.source.alpha[:1, :1]
        pixel = _from_network(np.zeros((CHANNELS, 1, 1), np.float32), self.source, alpha)
        return np.empty((self.height, self.width, pixel.shape[2]), pixel.dtype)

    def write_rows(self, result: np.ndarray, top: int, rows: np.ndarray) -> None:
        """The network's output for rows `top`.. (3 x n x W) into `result`, converted as `restore` does."""
        end = top + rows.shape[1]
        alpha = None if self.source.alpha is None else self.source.alpha[top:end]
        result[top:end] = _from_network(rows, self.source, alpha)

    def prepared(self) -> Prepared:
        """The whole photo as a one-image `Prepared` batch, as `prepare` makes it."""
        return _prepared([(self.pixels, self.source)], "single")

    def finish(self, result: np.ndarray) -> Any:
        """The filled result as the caller gave the photo (numpy array or PIL image)."""
        return _as_given(result, self.source)


def checked_photo(image: Any) -> Photo:
    """One image (array, PIL image or path), checked as `prepare` checks it; InvalidImageError if bad."""
    if not is_one_image(image):
        raise InvalidImageError("checked_photo takes one image; use prepare for a batch")
    return Photo(*_checked(image, "image"))
