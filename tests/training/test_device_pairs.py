import numpy as np
import pytest
import torch

from golf_rt.images.synthetic import blur as reference_blur
from golf_rt.images.synthetic import camera_shake_kernel, dead_leaves
from training.device_pairs import DevicePairs, PairConfig, blur, dihedral
from training.procedural import centred


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def identity_bank(size: int = 5) -> np.ndarray:
    kernel = np.zeros((1, size, size), np.float32)
    kernel[0, size // 2, size // 2] = 1.0
    return kernel


@pytest.mark.parametrize("model", ["shake", "random-walk", "mixed"])
def test_device_blur_matches_the_project_convention(model):
    rng = np.random.default_rng(3)
    image = dead_leaves(rng, 64, shapes=150)[:40, :56]  # not square: rows and columns are not mixed up
    kernels = [camera_shake_kernel(rng, (3, 31), model) for _ in range(3)]
    expected = np.stack([reference_blur(image, k).transpose(2, 0, 1) for k in kernels])
    padded = torch.from_numpy(np.stack([centred(k, 33) for k in kernels]))  # the bank's common size
    got = blur(to_tensor(image)[None].expand(3, -1, -1, -1), padded).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_blur_refuses_even_or_oversized_kernels():
    with pytest.raises(ValueError, match="odd"):
        blur(torch.zeros(1, 3, 32, 32), torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="too large"):
        blur(torch.zeros(1, 3, 16, 16), torch.zeros(1, 33, 33))


def test_dihedral_grids_give_all_eight_orientations():
    patch = torch.arange(16.0).view(4, 4)
    line = torch.arange(4)
    grids = (line.view(1, -1, 1).expand(1, -1, 4), line.view(1, 1, -1).expand(1, 4, -1))
    flags = torch.tensor([[s, r, c] for s in (0, 1) for r in (0, 1) for c in (0, 1)], dtype=torch.bool)
    rows, cols = dihedral(grids, flags, 4)
    turned = {tuple(patch[r, c].flatten().tolist()) for r, c in zip(rows, cols)}
    expected = {tuple(torch.rot90(t, k).flatten().tolist()) for t in (patch, patch.T) for k in range(4)}
    assert turned == expected


def test_crops_come_from_the_photos_at_native_scale():
    photo = np.random.default_rng(0).uniform(0, 1, (40, 50, 3)).astype(np.float32)
    config = PairConfig(crop=16, procedural_fraction=0.0, colour_jitter=False)
    pairs = DevicePairs([photo], [], identity_bank(), config, "cpu", seed=1)
    crops = pairs.sharp(6)
    assert crops.shape == (6, 3, 16, 16) and crops.is_contiguous()
    windows = {tuple(photo[t : t + 16, l : l + 16].round(6).flatten()) for t in range(25) for l in range(35)}
    for crop in crops:
        image = crop.numpy().transpose(1, 2, 0)
        orientations = [np.rot90(im, k) for im in (image, image.transpose(1, 0, 2)) for k in range(4)]
        assert any(tuple(o.round(6).flatten()) in windows for o in orientations)


def test_small_images_are_left_out_and_none_left_is_an_error():
    small = np.zeros((10, 10, 3), np.float32)
    with pytest.raises(ValueError, match="16 px"):
        DevicePairs([small], [], identity_bank(), PairConfig(crop=16), "cpu")
    pairs = DevicePairs([small, np.zeros((20, 20, 3), np.float32)], [], identity_bank(), PairConfig(crop=16), "cpu")
    assert pairs.photo_count == 1


def test_sharp_share_is_only_noise_and_rounding():
    rng = np.random.default_rng(1)
    photo = rng.uniform(0, 1, (48, 48, 3)).astype(np.float32)  # detail everywhere: every blur shows
    kernel = camera_shake_kernel(rng, (15, 15), "shake")
    config = PairConfig(crop=32, sharp_fraction=0.5, noise_sigma=(0.0, 0.0), procedural_fraction=0.0)
    pairs = DevicePairs([photo], [], centred(kernel, 17)[None], config, "cpu", seed=2)
    sharp = pairs.sharp(200)
    blurry = pairs.degrade(sharp)
    levels = blurry * 255
    assert torch.equal(levels, torch.round(levels)) and blurry.min() >= 0 and blurry.max() <= 1  # 8-bit levels
    unblurred = (blurry - sharp).abs().amax(dim=(1, 2, 3)) <= 0.5 / 255 + 1e-6  # rounding only
    assert 0.35 < unblurred.float().mean() < 0.65


def test_noise_follows_its_sigma_range_and_leaves_no_rounding_when_asked():
    photo = np.full((40, 40, 3), 0.5, np.float32)
    config = PairConfig(crop=32, sharp_fraction=1.0, noise_sigma=(0.02, 0.02), quantize=False, colour_jitter=False)
    pairs = DevicePairs([photo], [], identity_bank(), config, "cpu", seed=3)
    blurry, sharp = pairs.batch(8)
    assert torch.equal(sharp, torch.full_like(sharp, 0.5))
    assert (blurry - sharp).std().item() == pytest.approx(0.02, rel=0.05)


def test_the_same_seed_gives_the_same_batches():
    photo = dead_leaves(np.random.default_rng(4), 48, shapes=50)
    make = lambda: DevicePairs([photo], [photo[::-1]], identity_bank(), PairConfig(crop=24), "cpu", seed=9)  # noqa: E731
    first, second = make().batch(4), make().batch(4)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
