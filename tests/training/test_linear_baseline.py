import numpy as np

from golf_rt.images.synthetic import blur, camera_shake_kernel
from training.linear_baseline import apply_filter, fit_filter


def test_unblurred_pairs_fit_the_identity():
    rng = np.random.default_rng(0)
    images = [rng.uniform(size=(32, 32, 3)).astype(np.float32) for _ in range(3)]
    response = fit_filter([(x, x) for x in images])
    assert np.allclose(response, 1.0, atol=1e-6)
    assert np.allclose(apply_filter(images[0], response), images[0], atol=1e-5)


def test_a_fitted_filter_undoes_part_of_a_known_blur():
    rng = np.random.default_rng(1)
    kernel = camera_shake_kernel(rng, (7, 7))
    sharp = [rng.uniform(size=(48, 48, 3)).astype(np.float32) for _ in range(4)]
    pairs = [(blur(x, kernel), x) for x in sharp]
    response = fit_filter(pairs)
    blurry, target = pairs[0]
    assert np.abs(apply_filter(blurry, response) - target).mean() < 0.8 * np.abs(blurry - target).mean()
