from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from golf_rt import images
from golf_rt.errors import InvalidImageError

RNG = np.random.default_rng(0)
RGB8 = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)


def roundtrip(image):
    prepared = images.prepare(image)
    return prepared, prepared.restore(prepared.batch)


def test_uint8_rgb_is_a_contiguous_float_batch_and_comes_back_exactly():
    prepared, back = roundtrip(RGB8)
    assert prepared.batch.shape == (1, 3, 9, 11)
    assert prepared.batch.dtype == np.float32 and prepared.batch.flags.c_contiguous
    assert prepared.batch.max() <= 1.0
    assert back.dtype == np.uint8 and np.array_equal(back, RGB8)


def test_uint16_keeps_16_bits():
    image = RNG.integers(0, 65536, (6, 5, 3), dtype=np.uint16)
    _, back = roundtrip(image)
    assert back.dtype == np.uint16 and np.array_equal(back, image)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_in_float32_out_without_clipping(dtype):
    image = RNG.random((5, 6, 3)).astype(dtype)
    prepared = images.prepare(image)
    out = prepared.restore(prepared.batch * 2.0 - 0.5)  # the network may leave [0, 1]
    assert out.dtype == np.float32
    assert out.min() < 0.0 and out.max() > 1.0
    np.testing.assert_allclose(out, image * 2.0 - 0.5, atol=1e-6)


def test_integer_output_is_clipped_and_rounded():
    prepared = images.prepare(RGB8)
    out = prepared.restore(np.full(prepared.batch.shape, 1.7, np.float32))
    assert (out == 255).all()


def test_grayscale_is_replicated_in_and_averaged_out():
    grey = RNG.integers(0, 256, (7, 8), dtype=np.uint8)
    prepared = images.prepare(grey)
    assert np.array_equal(prepared.batch[0, 0], prepared.batch[0, 2])
    output = prepared.batch.copy()
    output[0, 0] += 3 / 255
    back = prepared.restore(output)
    assert back.shape == (7, 8) and back.dtype == np.uint8
    np.testing.assert_array_equal(back, np.round(grey.astype(np.float32) + 1).clip(0, 255).astype(np.uint8))


def test_grey_hwc1_stays_hwc1():
    _, back = roundtrip(RGB8[:, :, :1])
    assert back.shape == (9, 11, 1)


def test_rgba_alpha_does_not_go_through_the_network_and_is_kept():
    rgba = np.concatenate([RGB8, RNG.integers(0, 256, (9, 11, 1), dtype=np.uint8)], axis=2)
    prepared = images.prepare(rgba)
    assert prepared.batch.shape == (1, 3, 9, 11)
    back = prepared.restore(np.zeros_like(prepared.batch))
    assert np.array_equal(back[:, :, 3], rgba[:, :, 3])
    assert (back[:, :, :3] == 0).all()


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_pil_image_comes_back_as_pil_of_the_same_mode(mode):
    image = Image.fromarray(np.concatenate([RGB8, RGB8[:, :, :1]], axis=2)).convert(mode)
    _, back = roundtrip(image)
    assert isinstance(back, Image.Image) and back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))


def test_pil_16bit_grey():
    image = Image.fromarray(RNG.integers(0, 65536, (6, 7), dtype=np.uint16))
    assert image.mode == "I;16"
    _, back = roundtrip(image)
    assert back.mode == "I;16" and np.array_equal(np.asarray(back), np.asarray(image))


def test_unsupported_pil_mode_is_named():
    with pytest.raises(InvalidImageError, match="CMYK"):
        images.prepare(Image.new("CMYK", (4, 4)))


def test_path_gives_array_and_16bit_png_keeps_16_bits(tmp_path: Path):
    image = RNG.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    path = images.save_image(tmp_path / "deep.png", image)
    assert np.array_equal(images.load_image(path), image)
    _, back = roundtrip(str(path))
    assert back.dtype == np.uint16 and np.array_equal(back, image)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tiff"])
def test_save_and_load_8bit(tmp_path: Path, suffix: str):
    path = images.save_image(tmp_path / f"x{suffix}", RGB8)
    assert np.array_equal(images.load_image(path), RGB8)


def test_save_float_is_8bit(tmp_path: Path):
    path = images.save_image(tmp_path / "f.png", np.full((4, 4, 3), 0.5, np.float32))
    assert images.load_image(path).dtype == np.uint8


def test_stacked_batch_and_list_batch():
    stack = np.stack([RGB8, RGB8[::-1]])
    prepared, back = roundtrip(stack)
    assert prepared.batch.shape == (2, 3, 9, 11) and np.array_equal(back, stack)
    prepared, back = roundtrip([RGB8, Image.fromarray(RGB8)])
    assert isinstance(back, list) and isinstance(back[1], Image.Image)


def test_batch_of_different_sizes_is_refused():
    with pytest.raises(InvalidImageError, match="same size"):
        images.prepare([RGB8, RGB8[:5]])


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.int32), "dtype int32"),
        (np.zeros((4, 4, 3), np.float16), "dtype float16"),
        (np.zeros((4, 4, 5), np.uint8), "5 channels"),
        (np.zeros((2, 2, 4, 4, 3), np.uint8), "dimensions"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.full((4, 4, 3), np.inf, np.float32), "NaN or Inf"),
        (np.full((4, 4, 3), 1.5, np.float32), r"\[0, 1\]"),
        (np.zeros((1, 4, 3), np.uint8), "at least 2"),
        ([], "empty list"),
        (np.zeros((0, 4, 4, 3), np.uint8), "N = 0"),
        ("no/such/file.png", "no such file"),
        (42, "got int"),
    ],
)
def test_bad_input_is_named(image, message):
    with pytest.raises(InvalidImageError, match=message):
        images.prepare(image)


def test_larger_than_maximum_is_refused():
    with pytest.raises(InvalidImageError, match="over the maximum"):
        images.prepare(np.zeros((images.MAX_SIDE + 1, images.MAX_SIDE), np.uint8))


def test_corrupt_file_is_refused(tmp_path: Path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    for name in ("bad.png", "bad.jpg"):
        with pytest.raises(InvalidImageError, match="not a readable"):
            images.load_image(tmp_path / name)


def test_output_of_the_wrong_shape_is_refused():
    prepared = images.prepare(RGB8)
    with pytest.raises(InvalidImageError, match="expected"):
        prepared.restore(np.zeros((1, 3, 2, 2), np.float32))


def test_find_images_takes_files_and_folders(tmp_path: Path):
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    single = tmp_path / "b.png"
    assert images.find_images([tmp_path, single]) == [tmp_path / "a.jpg", single, single]
    with pytest.raises(InvalidImageError, match="no such file"):
        images.find_images([tmp_path / "missing"])


def test_images_module_needs_no_torch():
    import subprocess
    import sys

    code = "import sys, golf_rt.images; assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_border_band_psnr_separates_a_frame_from_the_interior():
    from golf_rt.metrics import border_and_interior_psnr, psnr

    target = np.full((64, 64, 3), 128, np.uint8)
    output = target.copy()
    output[:, -6] += 12  # a faint line 6 px from the right edge, as zero padding draws
    border, interior = border_and_interior_psnr(output, target, band=8)
    assert interior == float("inf") and border < psnr(output, target) - 3
    with pytest.raises(ValueError, match="interior"):
        border_and_interior_psnr(output, target, band=32)
