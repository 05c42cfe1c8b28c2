"""Image files as users have them: odd, hostile and ordinary ones, each written for real in tmp_path."""

import os
import shutil
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from golf_rt.contract import MAX_PIXELS
from golf_rt.errors import InvalidImageError
from golf_rt.images.files import (
    DEFAULT_JPEG_QUALITY,
    ImageFile,
    find_images,
    load_image,
    read_image,
    save_image,
    subfolders,
)

RNG = np.random.default_rng(0)
RGB8 = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)
PHOTO = np.asarray(Image.radial_gradient("L").resize((48, 40)).convert("RGB"))  # smooth, like a photo
ICC = b"\0\0\0\x10fake ICC profile"  # Pillow stores it as given


def exif(**tags: object) -> Image.Exif:
    data = Image.Exif()
    data[0x010F] = "golf camera"  # Make
    data.get_ifd(0x8769)[0x9003] = "2024:05:01 12:00:00"  # DateTimeOriginal, in the Exif sub-IFD
    for tag, value in tags.items():
        data[{"orientation": 0x0112}[tag]] = value
    return data


def png_of_zeros(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit PNG of `width` x `height` black pixels: a few KB that decode to width x height bytes."""
    row = b"\0" + bytes((width + 7) // 8)
    chunks = [
        (b"IHDR", width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])),
        (b"IDAT", zlib.compress(row * height, 9)),
        (b"IEND", b""),
    ]
    body = b"".join(
        len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big") for kind, data in chunks
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


# --- ordinary files keep their pixels -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tiff"])
def test_save_and_load_8bit_losslessly(tmp_path: Path, suffix: str):
    path = save_image(tmp_path / f"x{suffix}", RGB8)
    assert np.array_equal(load_image(path), RGB8)


def test_16bit_grey_and_colour_png_keep_16_bits(tmp_path: Path):
    colour = RNG.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    grey = RNG.integers(0, 65536, (6, 7), dtype=np.uint16)
    assert np.array_equal(load_image(save_image(tmp_path / "c.png", colour)), colour)
    assert np.array_equal(load_image(save_image(tmp_path / "g.png", grey)), grey)
    assert np.array_equal(load_image(save_image(tmp_path / "g.tif", grey)), grey)


def test_16bit_colour_tiff_is_refused_rather_than_read_as_8_bits(tmp_path: Path):
    tifffile = pytest.importorskip("tifffile", reason="writing a 16-bit colour TIFF needs tifffile")
    tifffile.imwrite(tmp_path / "deep.tif", RNG.integers(0, 65536, (6, 7, 3), dtype=np.uint16))
    with pytest.raises(InvalidImageError, match="16-bit colour TIFF .* 16-bit PNG"):
        load_image(tmp_path / "deep.tif")


def test_float_arrays_are_saved_as_8_bits(tmp_path: Path):
    path = save_image(tmp_path / "f.png", np.full((4, 4, 3), 0.5, np.float32))
    assert load_image(path).dtype == np.uint8 and (load_image(path) == 128).all()


def test_palette_images_become_rgb_or_rgba_with_the_palette_colours(tmp_path: Path):
    indices = RNG.integers(0, 4, (8, 8), dtype=np.uint8)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 128, 255], [9, 99, 199]], np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette(palette.ravel().tolist())
    image.save(tmp_path / "p.png")
    assert np.array_equal(load_image(tmp_path / "p.png"), palette[indices])
    image.save(tmp_path / "pt.png", transparency=0)
    rgba = load_image(tmp_path / "pt.png")
    assert rgba.shape == (8, 8, 4) and np.array_equal(rgba[:, :, 3] == 0, indices == 0)


# --- what the file carried is kept ----------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_the_tag_dropped_from_the_result(tmp_path: Path, orientation: int):
    Image.fromarray(PHOTO).save(tmp_path / "in.jpg", exif=exif(orientation=orientation), icc_profile=ICC)
    with Image.open(tmp_path / "in.jpg") as handle:
        upright = np.asarray(ImageOps.exif_transpose(handle))
    read = read_image(tmp_path / "in.jpg")
    assert np.array_equal(read.pixels, upright)
    save_image(tmp_path / "out.jpg", read.pixels, like=read)
    with Image.open(tmp_path / "out.jpg") as result:
        tags = result.getexif()
        assert result.size == (upright.shape[1], upright.shape[0])
        assert tags.get(0x0112, 1) == 1 and tags[0x010F] == "golf camera"  # upright, and said to be
        assert tags.get_ifd(0x8769)[0x9003] == "2024:05:01 12:00:00"
        assert result.info["icc_profile"] == ICC
    assert np.array_equal(load_image(tmp_path / "out.jpg").shape, upright.shape)  # read again: not rotated twice


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16bit_colour_png_orientation_matches_pillows(tmp_path: Path, orientation: int):
    deep = RNG.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    tagged = ImageFile(deep, metadata={"exif": exif(orientation=orientation).tobytes(), "icc_profile": ICC})
    save_image(tmp_path / "deep.png", deep, like=tagged)
    read = read_image(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as handle:  # Pillow reads the high 8 bits and turns them upright
        reference = np.asarray(ImageOps.exif_transpose(handle))
    assert np.array_equal((read.pixels >> 8).astype(np.uint8), reference)
    assert read.metadata["icc_profile"] == ICC and read.pixels.dtype == np.uint16


def test_jpeg_is_saved_at_the_quality_of_its_input_or_the_one_asked(tmp_path: Path):
    Image.fromarray(PHOTO).save(tmp_path / "q60.jpg", quality=60, subsampling=0)
    read = read_image(tmp_path / "q60.jpg")
    save_image(tmp_path / "kept.jpg", read.pixels, like=read)
    save_image(tmp_path / "asked.jpg", read.pixels, like=read, quality=90)
    save_image(tmp_path / "plain.jpg", read.pixels)
    Image.fromarray(read.pixels).save(tmp_path / "q90.jpg", quality=90)
    Image.fromarray(read.pixels).save(tmp_path / "default.jpg", quality=DEFAULT_JPEG_QUALITY)
    with (
        Image.open(tmp_path / "q60.jpg") as given, Image.open(tmp_path / "kept.jpg") as kept,
        Image.open(tmp_path / "asked.jpg") as asked, Image.open(tmp_path / "q90.jpg") as q90,
        Image.open(tmp_path / "plain.jpg") as plain, Image.open(tmp_path / "default.jpg") as default,
    ):  # fmt: skip
        assert kept.quantization == given.quantization
        assert asked.quantization == q90.quantization != given.quantization
        assert plain.quantization == default.quantization


def test_webp_keeps_exif_icc_xmp_and_whether_it_was_lossless(tmp_path: Path):
    for lossless in (True, False):
        given = tmp_path / f"in-{lossless}.webp"
        Image.fromarray(PHOTO).save(given, lossless=lossless, quality=70, exif=exif(), icc_profile=ICC, xmp=b"<x/>")
        read = read_image(given)
        assert read.format == "WEBP" and read.webp_lossless is lossless
        out = save_image(tmp_path / f"out-{lossless}.webp", read.pixels, like=read)
        again = read_image(out)
        assert again.webp_lossless is lossless and again.metadata["icc_profile"] == ICC
        assert again.metadata["xmp"] == b"<x/>"
        with Image.open(out) as result:
            assert result.getexif()[0x010F] == "golf camera"
        if lossless:
            assert np.array_equal(again.pixels, read.pixels)
    plain = read_image(save_image(tmp_path / "plain.webp", PHOTO))  # nothing to follow: lossy at quality 95
    assert not plain.webp_lossless and np.abs(plain.pixels.astype(int) - PHOTO).mean() < 3


def test_png_keeps_exif_icc_and_text(tmp_path: Path):
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Description", "a test card")
    Image.fromarray(RGB8).save(tmp_path / "in.png", exif=exif(), icc_profile=ICC, pnginfo=text)
    read = read_image(tmp_path / "in.png")
    save_image(tmp_path / "out.png", read.pixels, like=read)
    with Image.open(tmp_path / "out.png") as result:
        assert result.info["icc_profile"] == ICC and result.getexif()[0x010F] == "golf camera"
        assert result.text["Description"] == "a test card"


# --- hostile and broken files get one clear error -------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_files_are_refused(tmp_path: Path, suffix: str):
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole)
    data = whole.read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        load_image(tmp_path / f"cut{suffix}")


@pytest.mark.parametrize(
    ("side", "message"),
    [
        (20_000, "decompression bomb"),  # over our limit (300 megapixels): Pillow warns at it
        (4_000, "decompression bomb"),  # over a limit set lower, GOLF_RT_MAX_PIXELS=10,000,000
    ],
)
def test_decompression_bombs_are_an_error_not_a_warning(tmp_path: Path, side: int, message: str, monkeypatch):
    if side < 10_000:
        monkeypatch.setenv("GOLF_RT_MAX_PIXELS", "10_000_000")
    path = png_of_zeros(tmp_path / "bomb.png", side, side)
    assert path.stat().st_size < 100_000 and side * side > min(MAX_PIXELS, 10_000_000)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(InvalidImageError, match=message):
        warnings.simplefilter("always")
        load_image(path)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_cmyk_is_refused_with_what_to_do(tmp_path: Path):
    Image.new("CMYK", (8, 8), (0, 50, 100, 0)).save(tmp_path / "print.jpg")
    with pytest.raises(InvalidImageError, match="CMYK .* convert it to RGB"):
        load_image(tmp_path / "print.jpg")


@pytest.mark.parametrize("suffix", [".png", ".tiff"])
def test_animated_and_multi_page_files_are_refused(tmp_path: Path, suffix: str):
    frames = [Image.fromarray(RGB8), Image.fromarray(RGB8[::-1])]
    frames[0].save(tmp_path / f"anim{suffix}", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidImageError, match="2 frames"):
        load_image(tmp_path / f"anim{suffix}")


def test_text_renamed_png_and_empty_files_are_named(tmp_path: Path):
    (tmp_path / "notes.png").write_text("these are my notes, not a picture\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(InvalidImageError, match="notes.png: not an image file"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(InvalidImageError, match="empty file"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(InvalidImageError, match="bad.png: (not an image|truncated or corrupt)"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(InvalidImageError, match="is a folder"):
        load_image(tmp_path)
    with pytest.raises(InvalidImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_unreadable_file_is_named(tmp_path: Path):
    path = save_image(tmp_path / "secret.png", RGB8)
    path.chmod(0)
    code = (
        "import sys\nfrom golf_rt.images.files import load_image\n"
        "try:\n    load_image(sys.argv[1])\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    as_user = []
    if os.geteuid() == 0:  # root reads any file: run without the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and setpriv (util-linux) is missing to drop root's file access")
        as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    result = subprocess.run([*as_user, sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert result.stdout.startswith("InvalidImageError") and "cannot be read (Permission denied)" in result.stdout


# --- writing is whole or nothing --------------------------------------------------------------------


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    target = save_image(tmp_path / "out.png", RGB8)
    before = target.read_bytes()
    with pytest.raises(TypeError):
        save_image(target, RGB8[::-1], like=ImageFile(RGB8, metadata={"icc_profile": 12345}))
    assert target.read_bytes() == before and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    ("image", "name", "message"),
    [
        (np.zeros((4, 4, 4), np.uint8), "a.jpg", "alpha"),
        (np.zeros((4, 4, 3), np.uint16), "a.tif", "16-bit"),
        (np.zeros((4, 4, 3), np.uint8), "a.gif", "unknown image format"),
        (np.zeros((4, 4, 3), np.int32), "a.png", "cannot save"),
    ],
)
def test_unsavable_arrays_are_refused(tmp_path: Path, image, name, message):
    with pytest.raises(InvalidImageError, match=message):
        save_image(tmp_path / name, image)
    with pytest.raises(InvalidImageError, match="quality"):
        save_image(tmp_path / "q.jpg", RGB8, quality=0)


# --- finding files ----------------------------------------------------------------------------------


def test_find_images_takes_files_and_folders_and_recurses_when_asked(tmp_path: Path):
    for name in ("b.png", "a.jpg", "notes.txt", "sub/c.tif", "sub/deeper/d.PNG", "out/e.png", "._a.jpg", ".git/f.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    single = tmp_path / "b.png"
    assert find_images([tmp_path, single]) == [tmp_path / "a.jpg", single, single]
    assert subfolders([tmp_path, single]) == [tmp_path / "out", tmp_path / "sub"]
    found = find_images([tmp_path], recursive=True, exclude=tmp_path / "out")
    assert found == [tmp_path / "a.jpg", tmp_path / "b.png", tmp_path / "sub/c.tif", tmp_path / "sub/deeper/d.PNG"]
    with pytest.raises(InvalidImageError, match="no such file"):
        find_images([tmp_path / "missing"])


def test_writers_in_threads_give_every_file_the_umasks_permissions(tmp_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    umask = os.umask(0o022)
    try:
        with ThreadPoolExecutor(8) as pool:
            paths = list(pool.map(lambda i: save_image(tmp_path / f"{i}.png", RGB8), range(64)))
        assert os.umask(0o022) == 0o022  # still the process's umask, never left at 0 by a writer
        assert {path.stat().st_mode & 0o777 for path in paths} == {0o644}
    finally:
        os.umask(umask)
