import numpy as np
import pytest
import torch

from golf_rt.model.networks import GolfOptimizer, build_f, build_g
from training import photos
from training.losses import frequency_loss, pixel_loss
from training.validation import score_gains, validation_set


def test_charbonnier_is_a_smooth_l1():
    target = torch.zeros(1, 3, 8, 8)
    assert pixel_loss(target + 0.2, target, "charbonnier").item() == pytest.approx(0.2, rel=1e-3)
    assert pixel_loss(target, target, "charbonnier").item() == pytest.approx(1e-3, rel=1e-3)
    with pytest.raises(ValueError, match="loss"):
        pixel_loss(target, target, "l3")


def test_frequency_loss_sees_missing_detail():
    sharp = torch.rand(2, 3, 32, 32)
    smooth = torch.nn.functional.avg_pool2d(sharp, 3, stride=1, padding=1)
    assert frequency_loss(sharp, sharp).item() == 0.0
    assert frequency_loss(smooth, sharp).item() > 0.01


@pytest.fixture(scope="module")
def two_photos():
    import skimage.data

    image = skimage.data.astronaut().astype(np.float32) / 255
    return [image[:200, :260], image[200:, 100:]]


def test_validation_set_is_fixed_blurred_then_sharp(two_photos):
    first = validation_set(two_photos, crop=32, blurred=3, sharp=2)
    again = validation_set(two_photos, crop=32, blurred=3, sharp=2)
    assert torch.equal(first.blurry, again.blurry) and first.blurred_count == 3 and len(first) == 5
    noise = (first.blurry - first.sharp).std(dim=(1, 2, 3))
    assert (noise[3:] < 0.015).all(), "sharp crops carry only the held-out noise"
    assert (noise[:3] > noise[3:].max()).all(), "blurred crops differ from their targets by more than noise"


def test_the_identity_model_scores_zero_and_damage_scores_below_it(two_photos):
    data = validation_set(two_photos, crop=32, blurred=3, sharp=2)
    identity = GolfOptimizer(build_f(), build_g())
    scores = score_gains(identity, data, torch.device("cpu"), iterations=3)
    assert scores["val_score"] == pytest.approx(0.0, abs=1e-6)
    assert scores["val_blurred_input_psnr"] > 15
    with torch.no_grad():
        identity.f.branch[-1].weight.normal_(0.0, 0.2)
    damaged = score_gains(identity, data, torch.device("cpu"), iterations=0)
    assert damaged["val_score"] < -1 and damaged["val_sharp_gain"] < -1 and damaged["val_worst_gain"] < -1


def test_photo_lists_are_disjoint_and_missing_photos_say_how_to_fetch(tmp_path):
    names = [photos.file_name(p) for p in photos.TRAINING_PHOTOS + photos.VALIDATION_PHOTOS]
    assert len(set(names)) == len(names) == 26
    with pytest.raises(FileNotFoundError, match="python -m training.photos"):
        photos.validation_photos(tmp_path)


def test_learning_curve_draws_a_png_from_logs(tmp_path):
    import json

    from PIL import Image

    from training.learning_curve import main

    log = tmp_path / "F" / "log.jsonl"
    log.parent.mkdir()
    records = [{"step": s, "seconds": 60.0 * s, "val_score": 0.01 * s, "val_blurred_gain": 0.02 * s,
                "val_sharp_gain": -0.01 * s} for s in (1, 2, 3)]  # fmt: skip
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert main([str(log), "--output", str(tmp_path / "curve.png")]) == 0
    from training.learning_curve import read_log

    log.write_text(log.read_text() + json.dumps({**records[0], "seconds": 30.0}) + "\n")  # a resumed run
    assert read_log(log)[-1]["hours"] == pytest.approx((180.0 + 30.0) / 3600)
    with Image.open(tmp_path / "curve.png") as image:
        assert image.size[0] > 800
