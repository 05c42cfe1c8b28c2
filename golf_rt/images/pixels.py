"""Pixel values and image sizes: what 1.0 is in each integer type, conversions, and the size guard.

Float images hold values in [0, 1]; `to_integer` is the one place that clips and rounds them into
uint8 or uint16. `check_size` refuses images too small for the network and, through `max_pixels`,
larger than the decompression-bomb guard. numpy only: readers, writers and the client use it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from golf_rt.contract import MAX_PIXELS, MIN_SIDE
from golf_rt.errors import InvalidImageError

INTEGER_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
"""The value that stands for 1.0 in each integer type an image may have."""
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def max_pixels() -> int:
    """The largest image golf-rt takes: $GOLF_RT_MAX_PIXELS, else `golf_rt.contract.MAX_PIXELS`.

    A guard against decompression bombs (a small file that decodes to gigabytes), not a memory
    bound: large images are deblurred in tiles.
    """
    text = os.environ.get("GOLF_RT_MAX_PIXELS", "").replace("_", "").replace(",", "")
    if not text:
        return MAX_PIXELS
    if not text.isdigit() or int(text) < MIN_SIDE * MIN_SIDE:
        raise InvalidImageError(f"GOLF_RT_MAX_PIXELS must be a whole number of pixels, got {text!r}")
    return int(text)


def check_size(height: int, width: int, what: str) -> None:
    """InvalidImageError unless height x width is within the model's limits (`golf_rt.contract`)."""
    if height < MIN_SIDE or width < MIN_SIDE:
        raise InvalidImageError(f"{what} is {width}x{height} (width x height); both must be at least {MIN_SIDE}")
    limit = max_pixels()
    if height * width > limit:
        raise InvalidImageError(
            f"{what} is {width}x{height} (width x height) = {height * width:,} pixels, over the limit of "
            f"{limit:,} that guards against decompression bombs; set GOLF_RT_MAX_PIXELS to allow more"
        )


def to_integer(image: np.ndarray, dtype: Any) -> np.ndarray:
    """Float values in [0, 1] as uint8 or uint16: clipped to [0, 1], scaled and rounded to the nearest."""
    dtype = np.dtype(dtype)
    if dtype not in INTEGER_SCALE:
        raise InvalidImageError(f"cannot convert to {dtype}; choose one of {', '.join(map(str, INTEGER_SCALE))}")
    scaled = np.array(image, dtype=np.result_type(image, np.float32))  # a copy, in the input's float type
    np.clip(scaled, 0.0, 1.0, out=scaled)
    scaled *= INTEGER_SCALE[dtype]
    return np.rint(scaled, out=scaled).astype(dtype)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float values in [0, 1] as uint8 (see `to_integer`): values outside [0, 1] saturate."""
    return to_integer(image, np.uint8)


def rgb_from(image: np.ndarray) -> np.ndarray:
    """An H x W, H x W x 1, grey + alpha, RGB or RGBA array as H x W x 3 in its own dtype (alpha dropped)."""
    hwc = image[:, :, None] if image.ndim == 2 else image
    if hwc.shape[2] in (1, 2):
        return np.repeat(hwc[:, :, :1], 3, axis=2)
    return hwc[:, :, :3]


def rgb_float_from(image: np.ndarray) -> np.ndarray:
    """An 8- or 16-bit (or float) grey, RGB or RGBA array as C-contiguous float32 RGB in [0, 1]."""
    rgb = rgb_from(image)
    if rgb.dtype in FLOATS:
        return np.ascontiguousarray(rgb, dtype=np.float32)
    if rgb.dtype not in INTEGER_SCALE:
        raise InvalidImageError(f"dtype {rgb.dtype} is not an image type; use uint8, uint16, float32 or float64")
    return np.ascontiguousarray(rgb, dtype=np.float32) / np.float32(INTEGER_SCALE[rgb.dtype])
