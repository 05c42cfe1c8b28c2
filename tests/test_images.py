"""`golf_rt.images`: the one name for image arrays and files that callers already use."""

import numpy as np
import pytest

from golf_rt import images
from golf_rt.images import arrays as image_arrays
from golf_rt.images import files as image_files
from golf_rt.images import pixels


def test_images_offers_the_array_and_file_functions_themselves():
    assert images.prepare is image_arrays.prepare and images.to_uint8 is pixels.to_uint8
    assert images.load_image is image_files.load_image and images.save_image is image_files.save_image
    assert images.find_images is image_files.find_images
    assert set(images.__all__) <= set(dir(images))


def test_metrics_rounds_with_the_image_conversion():
    from golf_rt.quality.metrics import to_uint8

    assert to_uint8 is pixels.to_uint8


def test_border_band_psnr_separates_a_frame_from_the_interior():
    from golf_rt.quality.metrics import border_and_interior_psnr, psnr

    target = np.full((64, 64, 3), 128, np.uint8)
    output = target.copy()
    output[:, -6] += 12  # a faint line 6 px from the right edge, as zero padding draws
    border, interior = border_and_interior_psnr(output, target, band=8)
    assert interior == float("inf") and border < psnr(output, target) - 3
    with pytest.raises(ValueError, match="interior"):
        border_and_interior_psnr(output, target, band=32)
