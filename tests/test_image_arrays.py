"""Arrays to network batches and back: every kind a caller may hand over comes back as given."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from golf_rt.backends.base import validate_batch
from golf_rt.contract import MAX_SIDE
from golf_rt.errors import InvalidImageError
from golf_rt.images.arrays import prepare
from golf_rt.images.files import save_image
from golf_rt.images.pixels import rgb_float_from, rgb_from, to_integer, to_uint8

RNG = np.random.default_rng(0)
RGB8 = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)


def roundtrip(image):
    prepared = prepare(image)
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
    prepared = prepare(image)
    out = prepared.restore(prepared.batch * 2.0 - 0.5)  # the network may leave [0, 1]
    assert out.dtype == np.float32
    assert out.min() < 0.0 and out.max() > 1.0
    np.testing.assert_allclose(out, image * 2.0 - 0.5, atol=1e-6)


def test_integer_output_is_clipped_and_rounded():
    prepared = prepare(RGB8)
    out = prepared.restore(np.full(prepared.batch.shape, 1.7, np.float32))
    assert (out == 255).all()


def test_grayscale_is_replicated_in_and_averaged_out():
    grey = RNG.integers(0, 256, (7, 8), dtype=np.uint8)
    prepared = prepare(grey)
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
    prepared = prepare(rgba)
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
        prepare(Image.new("CMYK", (4, 4)))


def test_stacked_batch_and_list_batch():
    stack = np.stack([RGB8, RGB8[::-1]])
    prepared, back = roundtrip(stack)
    assert prepared.batch.shape == (2, 3, 9, 11) and np.array_equal(back, stack)
    prepared, back = roundtrip([RGB8, Image.fromarray(RGB8)])
    assert isinstance(back, list) and isinstance(back[1], Image.Image)


def test_batch_of_different_sizes_is_refused_with_the_sizes_as_width_x_height():
    with pytest.raises(InvalidImageError, match=r"same size, got 11x5, 11x9 \(width x height\)"):
        prepare([RGB8, RGB8[:5]])


def test_a_photo_too_small_is_named_width_x_height(tmp_path: Path):
    from golf_rt.images.files import load_image

    wide = save_image(tmp_path / "strip.png", np.zeros((2, 6, 3), np.uint8))  # 6 wide, 2 high
    with pytest.raises(InvalidImageError, match=r"strip.png is 6x2 \(width x height\)"):
        load_image(wide)


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
        (np.zeros((1, 4, 3), np.uint8), "at least 4"),
        ([], "empty list"),
        (np.zeros((0, 4, 4, 3), np.uint8), "N = 0"),
        ("no/such/file.png", "no such file"),
        (42, "got int"),
    ],
)
def test_bad_input_is_named(image, message):
    with pytest.raises(InvalidImageError, match=message):
        prepare(image)


def test_larger_than_maximum_is_refused(monkeypatch):
    with pytest.raises(InvalidImageError, match="over the limit of 300,000,000 that guards against decompression"):
        prepare(np.zeros((MAX_SIDE + 2, MAX_SIDE + 1), np.uint8))
    monkeypatch.setenv("GOLF_RT_MAX_PIXELS", "1000")
    with pytest.raises(InvalidImageError, match=r"image is 50x40 \(width x height\) = 2,000 pixels, over the limit"):
        prepare(np.zeros((40, 50, 3), np.uint8))
    monkeypatch.setenv("GOLF_RT_MAX_PIXELS", "lots")
    with pytest.raises(InvalidImageError, match="GOLF_RT_MAX_PIXELS must be a whole number"):
        prepare(np.zeros((40, 50, 3), np.uint8))


def test_output_of_the_wrong_shape_is_refused():
    prepared = prepare(RGB8)
    with pytest.raises(InvalidImageError, match="expected"):
        prepared.restore(np.zeros((1, 3, 2, 2), np.float32))


def test_path_gives_the_files_pixels_back_in_its_dtype(tmp_path: Path):
    image = RNG.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    _, back = roundtrip(str(save_image(tmp_path / "deep.png", image)))
    assert back.dtype == np.uint16 and np.array_equal(back, image)


def test_list_of_grey_and_colour_fills_one_batch():
    grey = RNG.integers(0, 256, (9, 11), dtype=np.uint8)
    prepared = prepare([grey, RGB8.astype(np.float64) / 255])
    np.testing.assert_array_equal(prepared.batch[0], np.repeat(grey[None] / np.float32(255), 3, axis=0))
    np.testing.assert_allclose(prepared.batch[1], RGB8.transpose(2, 0, 1) / 255, atol=1e-7)


def test_a_prepared_batch_is_read_only_and_a_value_scan_is_skipped_only_when_asked():
    batch = prepare(RGB8).batch
    assert type(batch) is np.ndarray and not batch.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        batch[0, 0, 0, 0] = np.nan
    poisoned = np.full((1, 3, 4, 4), np.nan, np.float32)
    assert validate_batch(poisoned, check_values=False) is not None  # the caller checked: not scanned again
    for bad in (poisoned, batch * np.float32(np.nan)):
        with pytest.raises(InvalidImageError, match="NaN"):
            validate_batch(bad)
    with pytest.raises(InvalidImageError, match="N x 3 x H x W"):
        validate_batch(batch[:, :1], check_values=False)  # the shape is always checked


def test_to_integer_clips_scales_and_rounds_to_the_nearest():
    values = np.array([-0.5, 0.0, 0.5 / 255, 0.49 / 255, 1.0, 1.5])
    assert to_uint8(values).tolist() == [0, 0, 0, 0, 255, 255]  # NumPy rounds half to even
    assert to_integer(np.array([0.5, 1.0], np.float32), np.uint16).tolist() == [32768, 65535]
    assert to_uint8(np.float32(0.2)) == 51
    with pytest.raises(InvalidImageError, match="int8"):
        to_integer(values, np.int8)


def test_rgb_helpers_replicate_grey_and_drop_alpha():
    grey = RNG.integers(0, 65536, (3, 4), dtype=np.uint16)
    assert np.array_equal(rgb_from(grey), np.dstack([grey] * 3))
    assert rgb_from(np.dstack([RGB8, RGB8[:, :, :1]])).shape == (9, 11, 3)
    np.testing.assert_array_equal(rgb_float_from(grey)[:, :, 2], grey / np.float32(65535))
    assert rgb_float_from(RGB8).dtype == np.float32 and rgb_float_from(RGB8).flags.c_contiguous
    with pytest.raises(InvalidImageError, match="int32"):
        rgb_float_from(RGB8.astype(np.int32))


def test_image_arrays_needs_no_torch_or_runtime():
    import subprocess
    import sys

    code = (
        "import sys, golf_rt.images.arrays, golf_rt.images.files\n"
        "assert not {'torch', 'onnxruntime', 'openvino'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
