import numpy as np
import pytest
import torch
from PIL import Image

from training.data import GoProPairs, SyntheticConfig, SyntheticPairs, skimage_images


def test_synthetic_pairs_are_deterministic_for_a_seed():
    images = skimage_images()[:3]
    config = SyntheticConfig(crop=32)
    a = SyntheticPairs(images, config, seed=5, length=8)
    b = SyntheticPairs(images, config, seed=5, length=8)
    c = SyntheticPairs(images, config, seed=6, length=8)
    for i in range(4):
        assert all(torch.equal(x, y) for x, y in zip(a[i], b[i]))
    assert not torch.equal(a[0][0], c[0][0])
    blurry, sharp = a[1]
    assert blurry.shape == sharp.shape == (3, 32, 32)
    assert 0.0 <= float(sharp.min()) and float(sharp.max()) <= 1.0


def test_procedural_only_data_needs_no_images():
    pairs = SyntheticPairs([], SyntheticConfig(crop=24, procedural_fraction=1.0), seed=0, length=2)
    assert pairs[0][0].shape == (3, 24, 24)
    with pytest.raises(ValueError, match="no sharp images"):
        SyntheticPairs([], SyntheticConfig(crop=24, procedural_fraction=0.5), seed=0, length=2)


def make_gopro_tree(root, sequences=2, frames=2, size=(40, 48)):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for s in range(sequences):
            for kind in ("blur", "blur_gamma", "sharp"):
                folder = root / "GOPRO_Large" / split / f"GOPR0{s}_11_00" / kind
                folder.mkdir(parents=True)
                for f in range(frames):
                    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                    Image.fromarray(pixels).save(folder / f"{f:06d}.png")
    return root / "GOPRO_Large"


def test_a_gopro_tree_loads_with_crops_and_flips(tmp_path):
    root = make_gopro_tree(tmp_path)
    train = GoProPairs(root, "train", crop=32)
    assert len(train) == 4
    blurry, sharp = train[0]
    assert blurry.shape == sharp.shape == (3, 32, 32)
    full = GoProPairs(root, "test", crop=None, blur_folder="blur_gamma")
    assert full[0][0].shape == (3, 40, 48)


def test_a_gopro_tree_missing_sharp_frames_is_refused(tmp_path):
    root = make_gopro_tree(tmp_path)
    next((root / "train").glob("*/sharp/000000.png")).unlink()
    with pytest.raises(FileNotFoundError, match="sharp images missing"):
        GoProPairs(root, "train")
    with pytest.raises(FileNotFoundError, match="split folder"):
        GoProPairs(tmp_path / "nowhere", "train")


def test_a_flat_crop_is_never_a_training_pair():
    """A flat crop's gradient overflows fp32 through G's stacked instance norms; it is drawn again."""
    flat, detailed = np.full((96, 96, 3), 0.5, np.float32), np.random.default_rng(0).random((96, 96, 3), np.float32)
    config = SyntheticConfig(crop=32, procedural_fraction=0.0, colour_jitter=False)
    only_flat = SyntheticPairs([flat], config, seed=1, length=4)
    mixed = SyntheticPairs([flat, detailed], config, seed=1, length=16)
    assert all(float(only_flat[i][1].std()) > 0.01 for i in range(4))  # dead leaves instead
    assert all(float(mixed[i][1].std()) > 0.01 for i in range(16))
