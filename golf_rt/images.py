"""Images in, images out: what callers hand us becomes one network batch and comes back as they gave it.

`prepare(image)` validates an image (or a batch of equal-size images) and returns a `Prepared`
holding `batch`, an N x 3 x H x W float32 array in [0, 1] for any runner, and `restore(output)`,
which turns the network's output back into the caller's kind:

- numpy H x W x C (or H x W) uint8 -> uint8, uint16 -> uint16, float32/float64 in [0, 1] -> float32;
- a PIL image -> a PIL image of the same mode (L, LA, RGB, RGBA, I;16);
- a path (str or Path) -> a numpy array as `load_image` reads it (16-bit PNG keeps 16 bits);
- N x H x W x C arrays -> the same; lists of equal-size images -> lists.

Grayscale (1 channel, or 2 with alpha) is replicated to 3 channels for the network, and the mean
of the 3 output channels comes back: the least-squares grey value of a colour result. An alpha
channel never goes through the network; it is returned untouched.

Float outputs are returned exactly as computed (they can leave [0, 1] slightly); they are clipped
to [0, 1] only when converted to an integer type, since an integer cannot hold them otherwise.
Only numpy and Pillow are needed here: the Triton client uses this module without torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from golf_rt.contract import CHANNELS, MAX_PIXELS, MAX_SIDE, MIN_SIDE
from golf_rt.errors import InvalidImageError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
PIL_MODES = ("L", "LA", "RGB", "RGBA", "I;16")
_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

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
    """A validated network batch and the recipe to give its result back in the caller's kind."""

    batch: np.ndarray  # N x 3 x H x W float32, C-contiguous, values in [0, 1]
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


def prepare(image: ImageLike) -> Prepared:
    """Validate an image, N x H x W x C array or list of equal-size images; raise InvalidImageError if bad."""
    if isinstance(image, (list, tuple)):
        if not image:
            raise InvalidImageError("empty list of images")
        items = [_prepare_one(item, f"image {i}") for i, item in enumerate(image)]
        return Prepared(_stack([b for b, _ in items]), tuple(s for _, s in items), "list")
    if isinstance(image, np.ndarray) and image.ndim == 4:
        if image.shape[0] == 0:
            raise InvalidImageError("empty batch: N x H x W x C array with N = 0")
        items = [_prepare_one(item, f"image {i}") for i, item in enumerate(image)]
        return Prepared(_stack([b for b, _ in items]), tuple(s for _, s in items), "stacked")
    batch, source = _prepare_one(image, "image")
    return Prepared(batch[None], (source,), "single")


def _stack(batches: list[np.ndarray]) -> np.ndarray:
    shapes = {b.shape for b in batches}
    if len(shapes) > 1:
        sizes = sorted({f"{s[1]}x{s[2]}" for s in shapes})
        raise InvalidImageError(f"images in one batch must have the same size, got {', '.join(sizes)}")
    return np.ascontiguousarray(np.stack(batches))


def _prepare_one(image: Any, what: str) -> tuple[np.ndarray, _Source]:
    if isinstance(image, (str, Path)):
        image = load_image(image)
    if isinstance(image, Image.Image):
        if image.mode not in PIL_MODES:
            raise InvalidImageError(
                f"{what}: PIL mode {image.mode!r} is not supported; use one of {', '.join(PIL_MODES)} "
                f"(e.g. image.convert('RGB'))"
            )
        array = np.asarray(image)
        chw, source = _array_to_chw(array, what)
        return chw, _Source("pil", source.dtype, source.channels, source.alpha, image.mode)
    if isinstance(image, np.ndarray):
        return _array_to_chw(image, what)
    raise InvalidImageError(f"{what}: expected a numpy array, PIL image or path, got {type(image).__name__}")


def _array_to_chw(array: np.ndarray, what: str) -> tuple[np.ndarray, _Source]:
    if array.size == 0:
        raise InvalidImageError(f"{what} is empty (shape {array.shape})")
    if array.ndim == 2:
        channels, hwc = 0, array[:, :, None]
    elif array.ndim == 3:
        channels, hwc = array.shape[2], array
    else:
        raise InvalidImageError(f"{what}: expected H x W or H x W x C, got {array.ndim} dimensions {array.shape}")
    if hwc.shape[2] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"{what}: {hwc.shape[2]} channels; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) "
            f"in the last axis of H x W x C"
        )
    height, width = hwc.shape[:2]
    _check_size(height, width, what)
    dtype = array.dtype
    if dtype in _SCALE:
        scaled = hwc.astype(np.float32) / np.float32(_SCALE[dtype])
    elif dtype in _FLOATS:
        if not np.isfinite(hwc).all():
            raise InvalidImageError(f"{what} contains NaN or Inf")
        low, high = float(hwc.min()), float(hwc.max())
        if low < 0.0 or high > 1.0:
            raise InvalidImageError(f"{what}: float values must lie in [0, 1], got [{low:.4g}, {high:.4g}]")
        scaled = hwc.astype(np.float32)
    else:
        raise InvalidImageError(f"{what}: dtype {dtype} is not supported; use uint8, uint16, float32 or float64")
    colour_channels = 3 if hwc.shape[2] >= 3 else 1
    colour = scaled[:, :, :colour_channels]
    alpha = hwc[:, :, colour_channels].copy() if hwc.shape[2] in (2, 4) else None
    chw = np.transpose(colour, (2, 0, 1))
    if colour_channels == 1:
        chw = np.repeat(chw, CHANNELS, axis=0)
    return np.ascontiguousarray(chw), _Source("array", dtype, channels, alpha)


def _check_size(height: int, width: int, what: str) -> None:
    if height < MIN_SIDE or width < MIN_SIDE:
        raise InvalidImageError(f"{what} is {height}x{width}; height and width must be at least {MIN_SIDE}")
    if height * width > MAX_PIXELS:
        raise InvalidImageError(
            f"{what} is {height}x{width} = {height * width:,} pixels, over the maximum of {MAX_PIXELS:,} "
            f"({MAX_SIDE}x{MAX_SIDE}); downscale or crop it first"
        )


def _restore_one(chw: np.ndarray, source: _Source) -> Any:
    hwc = np.transpose(chw, (1, 2, 0))
    if source.channels in (0, 1, 2):
        hwc = hwc.mean(axis=2, keepdims=True, dtype=np.float32)
    hwc = _from_float(hwc, source.dtype)
    if source.alpha is not None:
        alpha = source.alpha if source.dtype not in _FLOATS else source.alpha.astype(np.float32)
        hwc = np.concatenate([hwc, alpha[:, :, None]], axis=2)
    if source.channels == 0:
        hwc = hwc[:, :, 0]
    hwc = np.ascontiguousarray(hwc)
    if source.kind == "pil":
        return Image.fromarray(hwc)
    return hwc


def _from_float(hwc: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float network output to the caller's dtype: integers are clipped to [0, 1] and rounded."""
    if dtype in _FLOATS:
        return hwc.astype(np.float32, copy=False)
    scale = _SCALE[dtype]
    return np.round(np.clip(hwc, 0.0, 1.0) * scale).astype(dtype)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 or uint16 H x W or H x W x C (C = 2, 3, 4); 16-bit PNG keeps 16 bits.

    Palette and bilevel images become RGB(A) or grey, since they hold no other values.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidImageError(f"{path}: no such file")
    try:
        if _is_16bit_colour_png(path):
            return _read_png16(path)
        with Image.open(path) as handle:
            _check_size(handle.height, handle.width, str(path))
            handle.load()
            image = _supported_mode(handle)
            array = np.asarray(image)
    except InvalidImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"{path}: not a readable image file ({exc})") from exc
    if array.dtype == np.int32:  # 16-bit grey read as 32-bit integers by some Pillow versions
        array = array.astype(np.uint16)
    return array


def _supported_mode(image: Image.Image) -> Image.Image:
    if image.mode in PIL_MODES:
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "PA":
        return image.convert("RGBA")
    if image.mode in ("I;16B", "I;16L", "I;16N"):
        return Image.fromarray(np.asarray(image).astype(np.uint16))
    if image.mode == "I":
        array = np.asarray(image)
        if array.min() >= 0 and array.max() <= 65535:
            return Image.fromarray(array.astype(np.uint16))
    raise InvalidImageError(f"image mode {image.mode!r} is not supported; save it as 8- or 16-bit grey, RGB or RGBA")


def _png_header(path: Path) -> tuple[int, int] | None:
    """(bit depth, colour type) of a PNG file, None for any other format."""
    with open(path, "rb") as handle:
        head = handle.read(33)
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _is_16bit_colour_png(path: Path) -> bool:
    header = _png_header(path)
    return header is not None and header[0] == 16 and header[1] in (2, 4, 6)  # RGB, grey + alpha, RGBA


def _read_png16(path: Path) -> np.ndarray:
    """Pillow reads 16-bit colour PNGs as 8 bits; pypng keeps all 16."""
    import png

    try:
        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        _check_size(height, width, str(path))
        array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    except png.Error as exc:
        raise InvalidImageError(f"{path}: not a readable PNG file ({exc})") from exc
    return array.reshape(height, width, info["planes"])


def save_image(path: str | Path, image: np.ndarray) -> Path:
    """Write an H x W (x C) array; uint16 goes to PNG or TIFF with 16 bits, float in [0, 1] to 8 bits.

    Float arrays are clipped to [0, 1] and rounded to uint8, like any conversion to an integer type.
    """
    path = Path(path)
    array = np.asarray(image)
    if array.dtype in _FLOATS:
        array = _from_float(array, np.dtype(np.uint8))
    channels = array.shape[2] if array.ndim == 3 else 1
    if array.dtype not in _SCALE or array.ndim not in (2, 3) or channels not in (1, 2, 3, 4):
        raise InvalidImageError(f"cannot save an array of shape {array.shape} and dtype {array.dtype} as an image")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InvalidImageError(f"{path}: unknown image format; use one of {', '.join(IMAGE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.dtype == np.uint16 and array.ndim == 3:
        if suffix != ".png":
            raise InvalidImageError(f"{path}: 16-bit colour images can only be saved as PNG")
        import png

        height, width, planes = array.shape
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}[planes]
        png.from_array(array.reshape(height, width * planes), f"{mode};16").save(str(path))
        return path
    if array.dtype == np.uint16 and suffix not in (".png", ".tif", ".tiff"):
        raise InvalidImageError(f"{path}: 16-bit images can only be saved as PNG or TIFF")
    pil = Image.fromarray(np.ascontiguousarray(array))
    if suffix in (".jpg", ".jpeg") and pil.mode in ("LA", "RGBA"):
        raise InvalidImageError(f"{path}: JPEG cannot store an alpha channel; save as PNG")
    pil.save(path)
    return path


def find_images(inputs: list[str | Path]) -> list[Path]:
    """Files named directly, plus the image files directly inside folders, in sorted order."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidImageError(f"{path}: no such file or folder")
    return found
