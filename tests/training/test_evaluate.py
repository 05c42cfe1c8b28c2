import numpy as np
import pytest

from golf_rt.model.networks import seeded_random_model
from golf_rt.quality.metrics import psnr, to_uint8
from training.evaluate import evaluate, load_pairs


def test_sharp_noisy_pairs_carry_only_the_heldout_noise():
    pairs = load_pairs("sharp-noisy", limit=2)
    for pair in pairs:
        assert 39.0 < psnr(to_uint8(pair.blurry), to_uint8(pair.sharp)) < 41.0
        assert np.array_equal(np.round(pair.blurry * 255), pair.blurry * 255)  # 8-bit levels


def test_report_has_input_and_every_iteration():
    pairs = load_pairs("heldout", limit=1)
    report = evaluate(seeded_random_model(0), pairs, max_iterations=2)
    assert list(report.mean()) == ["input", "0", "1", "2"]
    assert report.psnr["input"][0] == pytest.approx(psnr(to_uint8(pairs[0].blurry), to_uint8(pairs[0].sharp)))


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="sharp-noisy"):
        load_pairs("gopro", limit=None)
