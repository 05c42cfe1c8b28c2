"""`golf_rt.images`: the one name for image arrays and files that callers already use."""

import numpy as np
import pytest

from golf_rt import images
from golf_rt.images import pixels


def test_the_images_face_prepares_saves_finds_and_loads(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    prepared = images.prepare(rgb)
    assert prepared.batch.shape == (1, 3, 6, 7) and prepared.batch.dtype == np.float32
    path = images.save_image(tmp_path / "a.png", images.to_uint8(prepared.batch[0].transpose(1, 2, 0)))
    assert images.find_images([tmp_path]) == [path]
    np.testing.assert_array_equal(images.load_image(path), rgb)
    assert set(images.__all__) <= set(dir(images))


def test_metrics_round_floats_to_8_bits_as_the_image_conversion_does():
    from golf_rt.quality.metrics import to_uint8

    values = np.array([[[-0.2, 0.5 / 255, 1.5 / 255], [0.499, 254.5 / 255, 1.3]]], np.float32)
    np.testing.assert_array_equal(to_uint8(values), pixels.to_uint8(values))
    assert to_uint8(values).dtype == np.uint8 and to_uint8(values)[0, 1, 2] == 255


def test_border_band_psnr_separates_a_frame_from_the_interior():
    from golf_rt.quality.metrics import border_and_interior_psnr, psnr

    target = np.full((64, 64, 3), 128, np.uint8)
    output = target.copy()
    output[:, -6] += 12  # a faint line 6 px from the right edge, as zero padding draws
    border, interior = border_and_interior_psnr(output, target, band=8)
    assert interior == float("inf") and border < psnr(output, target) - 3
    with pytest.raises(ValueError, match="interior"):
        border_and_interior_psnr(output, target, band=32)
