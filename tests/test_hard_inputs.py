"""The hard inputs of the precision acceptance, and the acceptance itself."""

import numpy as np

from golf_rt.contract import HARD_TOLERANCE, TOLERANCE
from golf_rt.quality.hard_inputs import hard_inputs
from golf_rt.quality.verify import VerifyRow


def test_hard_inputs_are_valid_images_of_the_named_kinds():
    images = hard_inputs(32)
    assert {"checkerboard", "text", "flat", "ramp", "diagonal ramp", "black", "white"} == set(images)
    for image in images.values():
        assert image.shape == (32, 32, 3) and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 1
    assert np.abs(np.diff(images["checkerboard"][:, :, 0], axis=1)).min() == 1  # every neighbour flips
    assert 0 < images["text"].mean() < 1 and images["flat"].std() == 0


def test_a_precision_over_its_hard_tolerance_is_over_budget_though_photos_are_fine():
    row = VerifyRow("onnxruntime", "fp16", 60.0, 1e-3, 28.0, 0.8, -0.001, 100.0, 0.06, "checkerboard")
    assert row.within_budget
    worse = VerifyRow("onnxruntime", "fp16", 60.0, 1e-3, 28.0, 0.8, -0.001, 100.0, 0.2, "checkerboard")
    assert not worse.within_budget
    assert all(HARD_TOLERANCE[p] >= TOLERANCE[p] for p in ("fp32", "fp16", "bf16"))
