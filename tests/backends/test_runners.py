"""The property every backend shares: it matches the fp32 PyTorch reference within its precision's tolerance."""

import numpy as np
import pytest

from golf_rt.backends import TOLERANCE, available_backends, create_runner, precisions_here
from golf_rt.catalog import backend_record
from golf_rt.errors import BackendUnavailableError, ConfigurationError

from ..conftest import needs_torch

pytestmark = needs_torch

BACKENDS = [b for b in available_backends() if not backend_record(b).gpu_only]
"""The backends available here whose results are not GPU results (those have tests of their own)."""
CASES = [(b, p) for b in BACKENDS for p in available_backends()[b]]


@pytest.mark.parametrize(("backend", "precision"), CASES, ids=[f"{b}-{p}" for b, p in CASES])
def test_runner_matches_pytorch_reference(
    backend, precision, checkpoint_path, cached_onnx, blurry_batch, reference_output
):
    with create_runner(backend, precision=precision, iterations=3, checkpoint=checkpoint_path) as runner:
        assert runner.name == backend and runner.precision == precision
        out = runner.deblur(blurry_batch)
        single = runner.deblur(blurry_batch[1:, :, :17, :23])  # another batch size and an odd size
    assert out.shape == blurry_batch.shape and out.dtype == np.float32
    assert np.abs(out - reference_output).max() <= TOLERANCE[precision]
    assert single.shape == (1, 3, 17, 23)


def test_unknown_or_unavailable_choices_are_named(checkpoint_path):
    with pytest.raises(ConfigurationError, match="choose one of"):
        create_runner("tflite")
    with pytest.raises(ConfigurationError, match="choose one of"):
        create_runner("torch", precision="int4")


@pytest.mark.skipif("cuda" in precisions_here("torch"), reason="PyTorch runs fp16 on this machine's CUDA GPU")
def test_a_precision_the_machine_does_not_run_is_refused_with_what_it_offers(checkpoint_path):
    with pytest.raises(BackendUnavailableError, match="this machine offers cpu: fp32"):
        create_runner("torch", precision="fp16", checkpoint=checkpoint_path)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("part", ["f", "g", "g_unrolled"])
def test_every_runner_runs_every_part(backend, part, tiny_model, checkpoint_path, cached_onnx, blurry_batch):
    """The torch runner too: benchmarks and verification make every part through `create_runner`.

    The expected output comes from the networks in memory (F; one step of G; three steps of G),
    not from the checkpoint file or the modules the torch runner itself builds.
    """
    torch = pytest.importorskip("torch")
    steps = {"f": [tiny_model.f], "g": [tiny_model.g], "g_unrolled": [tiny_model.g] * 3}[part]
    with torch.no_grad():
        x = torch.from_numpy(blurry_batch)
        for network in steps:
            x = network(x)
    with create_runner(backend, precision="fp32", iterations=3, checkpoint=checkpoint_path, part=part) as runner:
        assert np.abs(runner.deblur(blurry_batch) - x.numpy()).max() <= TOLERANCE["fp32"]


def test_auto_precision_without_a_measured_table_is_fp32(checkpoint_path, cached_onnx):
    with create_runner("onnxruntime", precision="auto", iterations=3, checkpoint=checkpoint_path) as runner:
        assert runner.precision == "fp32"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_smallest_image_runs_and_a_smaller_one_is_refused_clearly(backend, checkpoint_path, cached_onnx):
    from golf_rt.contract import MIN_SIDE
    from golf_rt.errors import InvalidImageError

    rng = np.random.default_rng(5)
    with create_runner(backend, precision="fp32", iterations=3, checkpoint=checkpoint_path) as runner:
        assert runner.deblur(rng.random((1, 3, MIN_SIDE, MIN_SIDE), dtype=np.float32)).shape == (1, 3, 4, 4)
        with pytest.raises(InvalidImageError, match=f"sides must be at least {MIN_SIDE}"):
            runner.deblur(rng.random((1, 3, MIN_SIDE - 1, 16), dtype=np.float32))
