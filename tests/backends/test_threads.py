"""A runner shared by threads gives, to each caller, what it gives one caller at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from golf_rt.backends import available_backends, create_runner
from golf_rt.catalog import backend_record

from ..conftest import needs_torch

pytestmark = needs_torch

BACKENDS = [b for b in available_backends() if not backend_record(b).gpu_only]


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_threads_sharing_one_runner_get_the_sequential_results(backend, checkpoint_path, cached_onnx):
    rng = np.random.default_rng(11)
    batches = [rng.random((1, 3, 20 + 2 * (i % 3), 24), dtype=np.float32) for i in range(12)]
    with create_runner(backend, precision="fp32", iterations=3, checkpoint=checkpoint_path) as runner:
        sequential = [runner.deblur(b) for b in batches]
        with ThreadPoolExecutor(4) as pool:
            concurrent = list(pool.map(runner.deblur, batches))
    for one, many in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(one, many)


def test_threads_racing_to_the_first_call_activate_once(checkpoint_path, cached_onnx):
    runner = create_runner("onnxruntime", precision="fp32", iterations=3, checkpoint=checkpoint_path)
    activations = []
    original = runner._activate

    def counted() -> None:
        activations.append(1)
        original()

    runner._activate = counted
    batch = np.random.default_rng(1).random((1, 3, 16, 16), dtype=np.float32)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: runner.deblur(batch), range(8)))
    runner.deactivate()
    assert activations == [1]
