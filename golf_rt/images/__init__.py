"""Images in, images out, under the one name callers know.

`golf_rt.images.arrays` turns arrays into network batches and back; `golf_rt.images.files` finds,
reads and writes files with the metadata they carry.
"""

from __future__ import annotations

from golf_rt.contract import MAX_PIXELS, MAX_SIDE, MIN_SIDE
from golf_rt.images.arrays import PIL_MODES, ImageLike, Prepared, prepare
from golf_rt.images.files import IMAGE_SUFFIXES, ImageFile, find_images, load_image, read_image, save_image, subfolders
from golf_rt.images.pixels import rgb_float_from, rgb_from, to_integer, to_uint8

__all__ = [
    "IMAGE_SUFFIXES", "MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "PIL_MODES", "ImageFile", "ImageLike", "Prepared",
    "find_images", "load_image", "prepare", "read_image", "rgb_float_from", "rgb_from", "save_image", "subfolders",
    "to_integer", "to_uint8",
]  # fmt: skip
