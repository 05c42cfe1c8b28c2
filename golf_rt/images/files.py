"""Image files: find them, read them with what they carry, and write results the way they came.

`read_image(path)` returns an `ImageFile`: the pixels as uint8 or uint16 H x W (x C) and what the
file carried besides (EXIF, ICC profile, XMP, resolution, JPEG quantisation tables, TIFF
compression). `save_image(path, pixels, like=that)` writes a result with the same metadata, via a
temporary file renamed into place, so an interrupted run never leaves a half-written image.

What is kept, and how:

- Orientation: pixels come back upright (EXIF orientation applied, as viewers show them) and the
  saved file carries the EXIF and XMP without the orientation tag, so nothing is rotated twice.
- EXIF, ICC profile, XMP and resolution go into the result (PNG keeps EXIF, ICC and resolution).
- JPEG: the result is encoded with the input's quantisation tables and chroma subsampling (what
  Pillow's `quality="keep"` does), so it has the input's quality, unless `quality` is given.
  A JPEG written without a JPEG to follow gets quality 95 (Pillow's default, 75, is visibly lossy).
- WebP: EXIF, ICC profile and XMP are kept; a lossless input gives a lossless result, a lossy one
  (or none to follow) quality 95 unless `quality` is given. Animated WebP is refused, as below.
- 16 bits: 16-bit grey PNG/TIFF and 16-bit colour PNG (read and written with pypng, since Pillow
  has no 16-bit colour mode) keep all 16 bits. A 16-bit colour TIFF is refused: Pillow would
  read it as 8 bits; save it as a 16-bit PNG.
- Palette and bilevel images become RGB(A) or grey: deblurred pixels are not in any palette.
- Refused with `InvalidImageError`: empty, truncated or corrupt files, files that are not images,
  unreadable files, CMYK and other colour spaces (convert to RGB with colour management first),
  animated or multi-frame files, and images over `golf_rt.images.pixels.max_pixels()`, checked on the
  header before any pixel is decoded (Pillow's decompression-bomb warning becomes this error).
"""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from golf_rt.errors import InvalidImageError
from golf_rt.images.pixels import FLOATS, INTEGER_SCALE, check_size, max_pixels, to_uint8
from golf_rt.machine.atomic_files import atomic_path

FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
}  # fmt: skip
"""Suffix -> the format a result with that suffix is written in: the types golf-rt reads and writes."""
IMAGE_SUFFIXES = tuple(FORMATS)
DEFAULT_JPEG_QUALITY = 95
_COLOUR_SPACES = ("CMYK", "YCbCr", "LAB", "HSV")
_TIFF_COMPRESSIONS = ("raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits")
_ORIENTATION = 0x0112
_UPRIGHT = {  # EXIF orientation -> the numpy view that shows the image upright (Pillow's exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageFile:
    """The upright pixels of an image file and the metadata a result saved `like` it carries over."""

    pixels: np.ndarray  # uint8 or uint16, H x W or H x W x C (C = 2, 3, 4)
    format: str | None = None  # Pillow's name: PNG, JPEG, BMP, TIFF, ...
    metadata: dict[str, Any] = field(default_factory=dict)  # exif, icc_profile, xmp, dpi, png_text
    jpeg_tables: dict[str, Any] = field(default_factory=dict)  # qtables and subsampling of a JPEG input
    tiff_compression: str | None = None
    webp_lossless: bool = False  # a WebP input stored without loss (its image chunk is VP8L)


def read_image(path: str | Path) -> ImageFile:
    """Read an image file (see the module docstring); InvalidImageError says why one cannot be read."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InvalidImageError(f"{path}: is a folder, not an image file")
        with open(path, "rb") as stream:
            if os.fstat(stream.fileno()).st_size == 0:
                raise InvalidImageError(f"{path}: empty file (0 bytes)")
            with _open(stream) as handle:
                return _decode(handle, stream, str(path))
    except InvalidImageError:
        raise
    except FileNotFoundError as exc:
        raise InvalidImageError(f"{path}: no such file") from exc
    except PermissionError as exc:
        raise InvalidImageError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InvalidImageError(
            f"{path}: refused as a possible decompression bomb ({exc}); golf-rt takes at most {max_pixels():,} pixels "
            f"(GOLF_RT_MAX_PIXELS sets the limit)"
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError(f"{path}: not an image file (no image format recognises its content)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise InvalidImageError(f"{path}: truncated or corrupt image file ({exc})") from exc


def load_image(path: str | Path) -> np.ndarray:
    """The upright pixels of an image file, uint8 or uint16 H x W or H x W x C (see `read_image`)."""
    return read_image(path).pixels


def _open(stream: io.BufferedReader) -> Image.Image:
    """Pillow's open with its decompression-bomb warning at our limit, raised as an error (the lock keeps it local)."""
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels()
        try:
            return Image.open(stream)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _decode(handle: Image.Image, stream: io.BufferedReader, what: str) -> ImageFile:
    check_size(handle.height, handle.width, what)
    frames = getattr(handle, "n_frames", 1)
    if frames > 1:
        raise InvalidImageError(f"{what}: has {frames} frames (animated or multi-page); save the one to deblur alone")
    if handle.mode in _COLOUR_SPACES:
        raise InvalidImageError(
            f"{what}: {handle.mode} images are not supported; convert it to RGB with colour management first"
        )
    deep_colour = _deep_colour(handle)
    if deep_colour and handle.format != "PNG":
        raise InvalidImageError(f"{what}: 16-bit colour {handle.format} is not supported; save it as a 16-bit PNG")
    if deep_colour:
        stream.seek(0)
        pixels = _png16_pixels(stream)
        orientation = handle.getexif().get(_ORIENTATION, 1) if "exif" in handle.info else 1
        if orientation in _UPRIGHT:
            pixels = _UPRIGHT[orientation](pixels)
            handle.load()  # in 8 bits, only so that Pillow updates the metadata below
    else:
        handle.load()
    ImageOps.exif_transpose(handle, in_place=True)  # also drops the tag from the EXIF and XMP it keeps
    if not deep_colour:
        pixels = np.asarray(_supported_mode(handle, what))
    info = handle.info
    metadata = {key: info[key] for key in ("exif", "icc_profile", "xmp", "dpi") if info.get(key)}
    if handle.format == "PNG" and getattr(handle, "text", None):
        metadata["png_text"] = {key: info.get(key, value) for key, value in handle.text.items()}
    jpeg_tables = {}
    if handle.format == "JPEG":
        from PIL.JpegImagePlugin import get_sampling

        jpeg_tables = {"qtables": handle.quantization, "subsampling": get_sampling(handle)}
    compression = info.get("compression") if info.get("compression") in _TIFF_COMPRESSIONS else None
    lossless = handle.format == "WEBP" and _webp_lossless(stream)
    return ImageFile(np.ascontiguousarray(pixels), handle.format, metadata, jpeg_tables, compression, lossless)


def _webp_lossless(stream: io.BufferedReader) -> bool:
    """Whether a WebP file's image chunk is lossless (VP8L) rather than lossy (VP8), read from its RIFF chunks."""
    stream.seek(12)  # past "RIFF", the size and "WEBP"
    while len(header := stream.read(8)) == 8:
        fourcc, size = header[:4], struct.unpack("<I", header[4:])[0]
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        stream.seek(size + (size & 1), os.SEEK_CUR)
    return False


def _deep_colour(handle: Image.Image) -> bool:
    """Whether a colour image stores more than 8 bits per sample, which Pillow would read as 8."""
    if handle.mode not in ("RGB", "RGBA", "LA"):
        return False
    if handle.format == "TIFF":
        return max(handle.tag_v2.get(258, (8,))) > 8  # BitsPerSample
    rawmode = handle.tile[0].args if handle.tile else None
    rawmode = rawmode[0] if isinstance(rawmode, tuple) else rawmode
    return isinstance(rawmode, str) and ";16" in rawmode


def _png16_pixels(stream: io.BufferedReader) -> np.ndarray:
    import png

    try:
        width, height, rows, info = png.Reader(file=stream).asDirect()
        pixels = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    except png.Error as exc:
        raise InvalidImageError(f"truncated or corrupt 16-bit PNG ({exc})") from exc
    return pixels.reshape(height, width, info["planes"])


def _supported_mode(image: Image.Image, what: str) -> Image.Image:
    if image.mode in ("L", "LA", "RGB", "RGBA", "I;16"):
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
    raise InvalidImageError(f"{what}: image mode {image.mode!r} is not supported; save it as 8/16-bit grey or RGB(A)")


def save_image(path: str | Path, image: np.ndarray, like: ImageFile | None = None, quality: int | None = None) -> Path:
    """Write an H x W (x C) array, whole or not at all, with the metadata of `like` (see the module docstring).

    uint16 goes to PNG (or grey TIFF) with 16 bits; float in [0, 1] is clipped and rounded to 8 bits.
    `quality` (1-100) sets the JPEG or WebP quality instead of matching `like`. The format follows the suffix.
    """
    path = Path(path)
    array = np.asarray(image)
    if array.dtype in FLOATS:
        array = to_uint8(array)
    channels = array.shape[2] if array.ndim == 3 else 1
    if array.dtype not in INTEGER_SCALE or array.ndim not in (2, 3) or channels not in (1, 2, 3, 4):
        raise InvalidImageError(f"cannot save an array of shape {array.shape} and dtype {array.dtype} as an image")
    if quality is not None and not 1 <= quality <= 100:
        raise InvalidImageError(f"JPEG quality must be between 1 and 100, got {quality}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidImageError(f"{path}: unknown image format; use one of {', '.join(IMAGE_SUFFIXES)}")
    if array.dtype == np.uint16 and (fmt not in ("PNG", "TIFF") or (fmt == "TIFF" and array.ndim == 3)):
        raise InvalidImageError(f"{path}: 16-bit images can only be saved as PNG (grey also as TIFF)")
    if fmt in ("JPEG", "BMP") and array.ndim == 3 and array.shape[2] in (2, 4):
        raise InvalidImageError(f"{path}: {fmt} cannot store an alpha channel; save as PNG")
    like = like or ImageFile(array)
    with atomic_path(path) as temporary:
        if array.dtype == np.uint16 and array.ndim == 3:
            with open(temporary, "wb") as stream:
                _write_png16(stream, array, like.metadata)
        else:
            Image.fromarray(np.ascontiguousarray(array)).save(temporary, fmt, **_save_options(fmt, like, quality))
    return path


def _save_options(fmt: str, like: ImageFile, quality: int | None) -> dict[str, Any]:
    if fmt == "BMP":
        return {}
    options = dict(like.metadata)
    text = options.pop("png_text", None)
    if fmt == "PNG":
        options.pop("xmp", None)  # in a PNG, XMP is one of the text chunks
        if text:
            from PIL.PngImagePlugin import PngInfo

            options["pnginfo"] = PngInfo()
            for key, value in text.items():
                options["pnginfo"].add_itxt(key, value)
    if fmt == "TIFF" and like.tiff_compression:
        options["compression"] = like.tiff_compression
    if fmt == "JPEG":
        if quality is not None:
            options["quality"] = quality
        elif like.jpeg_tables:
            options.update(like.jpeg_tables)
        else:
            options["quality"] = DEFAULT_JPEG_QUALITY
    if fmt == "WEBP":
        options.pop("dpi", None)
        if quality is None and like.webp_lossless:
            options["lossless"] = True
        else:
            options["quality"] = quality or DEFAULT_JPEG_QUALITY
    return options


def _write_png16(stream: io.BufferedWriter, array: np.ndarray, metadata: dict[str, Any]) -> None:
    """16-bit colour PNG with pypng, and the ICC profile, EXIF and resolution chunks Pillow would write."""
    import png

    height, width, planes = array.shape
    encoded = io.BytesIO()
    png.from_array(array.reshape(height, width * planes), f"{('', '', 'LA', 'RGB', 'RGBA')[planes]};16").write(encoded)
    chunks = list(png.Reader(bytes=encoded.getvalue()).chunks())
    extra = []
    if metadata.get("icc_profile"):
        extra.append((b"iCCP", b"ICC Profile\0\0" + zlib.compress(metadata["icc_profile"])))
    if metadata.get("dpi"):
        extra.append((b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in metadata["dpi"]), 1)))
    if metadata.get("exif"):
        exif = metadata["exif"]
        extra.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    png.write_chunks(stream, [chunks[0], *extra, *chunks[1:]])


def find_images(inputs: list[str | Path], recursive: bool = False, exclude: Path | None = None) -> list[Path]:
    """Files named directly, plus the image files inside folders (and their subfolders if `recursive`), sorted.

    Inside folders, names that start with a dot are left out (side files, unfinished writes).

    `exclude` is a folder left out of the search (the output folder, when it lies inside an input).
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(folder_files(path, recursive, exclude).images)
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidImageError(f"{path}: no such file or folder")
    return found


def unsupported_files(inputs: list[str | Path], recursive: bool = False, exclude: Path | None = None) -> list[Path]:
    """The files inside the input folders that `find_images` leaves out for their type (GIF, text...), sorted.

    Dot-files and the `exclude` folder are left out of this list too.
    """
    folders = [Path(item) for item in inputs if Path(item).is_dir()]
    return [p for folder in folders for p in folder_files(folder, recursive, exclude).others]


@dataclass(frozen=True)
class FolderFiles:
    """What one walk of a folder found: image files, other files (both sorted) and the folders directly in it."""

    images: list[Path]
    others: list[Path]
    subfolders: list[Path]


def folder_files(folder: Path, recursive: bool = False, exclude: Path | None = None) -> FolderFiles:
    """Walk `folder` once (and its subfolders if `recursive`); dot-files, dot-folders and `exclude` are left out."""
    excluded = exclude.resolve() if exclude else None
    images: list[Path] = []
    others: list[Path] = []
    subfolders: list[Path] = []
    for path in folder.rglob("*") if recursive else folder.iterdir():
        relative = path.relative_to(folder)
        if path.is_dir():
            if len(relative.parts) == 1 and not path.name.startswith("."):
                subfolders.append(path)
        elif path.is_file() and not _hidden(relative) and not (excluded and path.resolve().is_relative_to(excluded)):
            (images if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    return FolderFiles(sorted(images), sorted(others), sorted(subfolders))


def _hidden(relative: Path) -> bool:
    """Dot-files and dot-folders: editors' and systems' side files (`._photo.jpg`), unfinished writes."""
    return any(part.startswith(".") for part in relative.parts)


def subfolders(inputs: list[str | Path]) -> list[Path]:
    """The folders directly inside the input folders: what a search without `recursive` leaves out."""
    folders = [Path(item) for item in inputs if Path(item).is_dir()]
    return sorted(p for folder in folders for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
