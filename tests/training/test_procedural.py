import numpy as np
import pytest

from golf_rt.images.synthetic import camera_shake_kernel
from training.procedural import centred, kernel_size, make_procedural


def test_kernel_size_holds_every_kernel_of_the_range():
    assert kernel_size((3, 31)) == 33 and kernel_size((3, 30)) == 33 and kernel_size((5, 8)) == 11
    rng = np.random.default_rng(0)
    for extent in (3, 8, 30, 31):
        kernel = camera_shake_kernel(rng, (extent, extent), "mixed")
        assert kernel.shape[0] <= kernel_size((3, extent)) and kernel.shape[0] % 2 == 1


def test_centred_keeps_the_kernel_and_its_centre():
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    padded = centred(kernel, 7)
    assert padded.shape == (7, 7) and padded[3, 3] == kernel[1, 1] and padded.sum() == kernel.sum()
    with pytest.raises(ValueError, match="odd"):
        centred(np.ones((4, 4), np.float32), 7)


def test_a_pool_makes_the_same_bank_as_one_process():
    one, leaves_one = make_procedural(40, 1, 32, seed=5, workers=1)
    pooled, leaves_pooled = make_procedural(40, 1, 32, seed=5, workers=2)
    assert one.shape == (40, 33, 33) and np.array_equal(one, pooled)
    assert np.allclose(one.sum(axis=(1, 2)), 1.0, atol=1e-5)
    assert len(leaves_pooled) == 1 and np.array_equal(leaves_one[0], leaves_pooled[0])


def test_a_time_limit_cuts_the_bank_to_a_prefix():
    full, _ = make_procedural(64, 0, 32, seed=1, workers=1)
    cut, _ = make_procedural(64, 0, 32, seed=1, seconds=0.0, workers=1)
    assert 1 <= len(cut) < len(full) and np.array_equal(cut, full[: len(cut)])
