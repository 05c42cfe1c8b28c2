import numpy as np
import pytest

from golf_rt.images import synthetic
from golf_rt.quality.heldout import HELDOUT_BLUR, heldout_pairs


@pytest.mark.parametrize("model", synthetic.TRAJECTORY_MODELS)
def test_kernels_are_normalised_and_span_the_requested_extent(model):
    rng = np.random.default_rng(0)
    for _ in range(20):
        kernel = synthetic.camera_shake_kernel(rng, (9, 23), model)
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        assert (kernel >= 0).all()
        rows, cols = np.nonzero(kernel > 0)
        extent = max(np.ptp(rows), np.ptp(cols))
        assert 8 <= extent <= 24
        assert kernel.shape[0] % 2 == 1


def test_blur_keeps_size_and_alignment():
    image = np.zeros((31, 40, 3), np.float32)
    image[15, 20] = 1.0
    kernel = np.zeros((5, 5), np.float32)
    kernel[2, 2] = 1.0
    assert np.allclose(synthetic.blur(image, kernel), image, atol=1e-6)
    shifted = np.zeros((5, 5), np.float32)
    shifted[2, 3] = 1.0  # a kernel's mass to the right moves the image to the right
    out = synthetic.blur(image, shifted)
    assert out.shape == image.shape
    assert np.unravel_index(out[..., 0].argmax(), out.shape[:2]) == (15, 21)


def test_blur_conserves_brightness_with_reflected_borders():
    rng = np.random.default_rng(1)
    image = np.full((48, 48, 3), 0.6, np.float32)
    out = synthetic.blur(image, synthetic.camera_shake_kernel(rng, (15, 15)))
    assert np.allclose(out, 0.6, atol=1e-5)


def test_degradation_is_deterministic_for_a_seed():
    sharp = synthetic.dead_leaves(np.random.default_rng(3), 64)
    a, ka = synthetic.degrade(sharp, np.random.default_rng(9), synthetic.BlurSpec())
    b, kb = synthetic.degrade(sharp, np.random.default_rng(9), synthetic.BlurSpec())
    c, _ = synthetic.degrade(sharp, np.random.default_rng(10), synthetic.BlurSpec())
    assert np.array_equal(a, b) and np.array_equal(ka, kb)
    assert not np.array_equal(a, c)


def test_blur_spec_validates():
    with pytest.raises(ValueError, match="trajectory model"):
        synthetic.BlurSpec(model="linear")
    with pytest.raises(ValueError, match="extent"):
        synthetic.BlurSpec(extent=(9, 3))
    with pytest.raises(ValueError, match="sharp_fraction"):
        synthetic.BlurSpec(sharp_fraction=1.5)
    with pytest.raises(ValueError, match="kernel_bank"):
        synthetic.BlurSpec(kernel_bank=-1)


def test_kernel_banks_are_fixed_nested_and_the_only_kernels_drawn():
    small, large = synthetic.BlurSpec(kernel_bank=3), synthetic.BlurSpec(kernel_bank=8)
    assert all(np.array_equal(a, b) for a, b in zip(synthetic.kernel_bank(small), synthetic.kernel_bank(large)))
    rng = np.random.default_rng(0)
    sharp = synthetic.dead_leaves(rng, 48)
    drawn = [synthetic.degrade(sharp, rng, small)[1] for _ in range(12)]
    assert all(any(np.array_equal(k, b) for b in synthetic.kernel_bank(small)) for k in drawn)
    assert len({k.tobytes() for k in drawn}) > 1


def _minor_to_major_spread(kernel: np.ndarray) -> float:
    """0 for a straight-line kernel, up to 1 for one that spreads equally in every direction."""
    ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    cy, cx = (kernel * ys).sum(), (kernel * xs).sum()
    cov = np.cov(np.stack([xs.ravel() - cx, ys.ravel() - cy]), aweights=kernel.ravel() + 1e-12, bias=True)
    low, high = np.linalg.eigvalsh(cov)
    return low / high


def test_wide_shake_covers_more_tangled_paths_than_shake():
    rng = np.random.default_rng(5)
    kernels = {model: [synthetic.camera_shake_kernel(rng, (15, 15), model) for _ in range(60)]
               for model in ("shake", "wide-shake")}  # fmt: skip
    spread = {model: np.median([_minor_to_major_spread(k) for k in ks]) for model, ks in kernels.items()}
    assert spread["wide-shake"] > 1.5 * spread["shake"]


def test_sharp_fraction_leaves_images_unblurred():
    sharp = synthetic.dead_leaves(np.random.default_rng(3), 48)
    spec = synthetic.BlurSpec(noise_sigma=(0.0, 0.0), sharp_fraction=1.0)
    blurry, kernel = synthetic.degrade(sharp, np.random.default_rng(0), spec)
    assert kernel.shape == (1, 1) and np.allclose(blurry, sharp, atol=1e-6)
    blurred, _ = synthetic.degrade(sharp, np.random.default_rng(0), synthetic.BlurSpec(noise_sigma=(0.0, 0.0)))
    assert not np.allclose(blurred, sharp, atol=1e-3)


def test_heldout_set_is_fixed_and_uses_the_other_trajectory_model():
    assert HELDOUT_BLUR.model == "spline" and HELDOUT_BLUR.extent == (9, 23)
    first, second = heldout_pairs(crops_per_photo=1), heldout_pairs(crops_per_photo=1)
    assert [p.name for p in first] == [p.name for p in second]
    assert all(np.array_equal(a.blurry, b.blurry) for a, b in zip(first, second))
    assert all(p.blurry.shape == (256, 256, 3) for p in first)
    quantised = first[0].blurry * 255
    assert np.allclose(quantised, np.round(quantised), atol=1e-3)


def _relative_spread(kernel: np.ndarray) -> float:
    """RMS distance of the kernel's mass from its centre, over its extent: low = mild blur."""
    ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    cy, cx = (kernel * ys).sum(), (kernel * xs).sum()
    rows, cols = np.nonzero(kernel > 0)
    return float(np.sqrt((kernel * ((ys - cy) ** 2 + (xs - cx) ** 2)).sum()) / max(np.ptp(rows), np.ptp(cols)))


def test_random_walk_kernels_include_compact_mild_blur_the_shake_model_rarely_draws():
    rng = np.random.default_rng(3)
    spread = {m: [_relative_spread(synthetic.camera_shake_kernel(rng, (15, 15), m)) for _ in range(150)]
              for m in ("shake", "random-walk")}  # fmt: skip
    assert np.percentile(spread["random-walk"], 10) < 0.8 * np.percentile(spread["shake"], 10)


def test_mixed_draws_from_every_training_model_and_never_the_held_out_one(monkeypatch):
    drawn = []
    for name in ("shake_trajectory", "random_walk_trajectory", "spline_trajectory"):
        original = getattr(synthetic, name)
        monkeypatch.setattr(synthetic, name, lambda *a, _o=original, _n=name, **k: drawn.append(_n) or _o(*a, **k))
    rng = np.random.default_rng(0)
    for _ in range(60):
        synthetic.camera_shake_kernel(rng, (5, 9), "mixed")
    assert set(drawn) == {"shake_trajectory", "random_walk_trajectory"}
    assert "spline" not in synthetic.TRAINING_MODELS and "mixed" in synthetic.TRAINING_MODELS


@pytest.mark.parametrize("angle", [0.0, np.pi / 2, np.pi / 4, 1.1])
def test_a_straight_streak_is_a_line_of_its_length_at_its_angle(angle):
    kernel = synthetic.streak_kernel(15, angle)
    assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
    ys, xs = np.nonzero(kernel > 1e-4)
    centre = kernel.shape[0] // 2
    # the mass is centred (the blur does not shift the image) and spread along the direction
    weights = kernel[ys, xs]
    assert np.average(xs, weights=weights) == pytest.approx(centre, abs=0.05)
    assert np.average(ys, weights=weights) == pytest.approx(centre, abs=0.05)
    along = (xs - centre) * np.cos(angle) + (ys - centre) * np.sin(angle)
    across = -(xs - centre) * np.sin(angle) + (ys - centre) * np.cos(angle)
    assert np.abs(across).max() < 1.5  # a line, anti-aliased over neighbouring pixels
    spread = np.sqrt(np.average(along**2, weights=weights))
    assert spread == pytest.approx(14 / np.sqrt(12), rel=0.06)  # an even box 15 px long, end to end


def test_a_horizontal_streak_is_a_box_with_anti_aliased_ends():
    row = synthetic.streak_kernel(9, 0.0)[5]
    assert np.count_nonzero(row > 0.1) == 7 and np.ptp(row[2:9]) < 1e-3
    assert 0 < row[1] < row[2] and 0 < row[9] < row[8]


def test_uneven_speed_makes_one_end_denser_and_a_bend_leaves_the_line():
    even, uneven = synthetic.streak_kernel(15, 0.0), synthetic.streak_kernel(15, 0.0, uneven=0.8)
    middle = uneven.shape[0] // 2
    assert uneven[middle, 2] > 1.5 * uneven[middle, -3]
    assert np.allclose(even[middle, 2], even[middle, -3])
    bent = synthetic.streak_kernel(21, 0.0, bend=0.08)
    assert np.count_nonzero(bent.sum(axis=1) > 1e-3) >= 3


def test_streak_lengths_fill_the_extent_and_the_model_is_a_training_one():
    rng = np.random.default_rng(3)
    sizes = [synthetic.camera_shake_kernel(rng, (5, 21), "streak").shape[0] for _ in range(200)]
    assert min(sizes) <= 7 and max(sizes) >= 21
    assert "streak" in synthetic.TRAINING_MODELS
    with pytest.raises(ValueError, match="streaks are kernels"):
        synthetic.trajectory(rng, "streak")
    with pytest.raises(ValueError, match="at least 1 px"):
        synthetic.streak_kernel(0.5, 0.0)


def test_the_streak_heldout_set_blurs_the_same_photos_with_straight_streaks():
    from golf_rt.quality.heldout import STREAK_BLUR

    streaks, shakes = heldout_pairs(crops_per_photo=1, blur=STREAK_BLUR), heldout_pairs(crops_per_photo=1)
    assert [p.name for p in streaks] == [p.name for p in shakes]
    assert all(np.array_equal(a.blurry, b.blurry) for a, b in zip(streaks, heldout_pairs(1, blur=STREAK_BLUR)))
    assert not np.array_equal(streaks[0].blurry, shakes[0].blurry)
    assert STREAK_BLUR.extent == (5, 21) and STREAK_BLUR.noise_sigma == (0.01, 0.01) and STREAK_BLUR.quantize
