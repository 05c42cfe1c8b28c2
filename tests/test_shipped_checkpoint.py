import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from golf_rt.model import checkpoint  # noqa: E402
from golf_rt.model.networks import GolfOptimizer, build_f, build_g, count_parameters  # noqa: E402
from golf_rt.quality.heldout import heldout_pairs  # noqa: E402
from golf_rt.quality.metrics import psnr, to_uint8  # noqa: E402

pytestmark = pytest.mark.skipif(
    not checkpoint.default_checkpoint_path().is_file(), reason="no shipped checkpoint in golf_rt/weights"
)


def mean_gain(model: torch.nn.Module) -> float:
    """Mean PSNR gain over the blurry input on the first held-out crop of each photo."""
    gains = []
    for pair in heldout_pairs(crops_per_photo=1):
        blurry = torch.from_numpy(pair.blurry.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            out = model(blurry)[0].permute(1, 2, 0).numpy()
        target = to_uint8(pair.sharp)
        gains.append(psnr(to_uint8(out), target) - psnr(to_uint8(pair.blurry), target))
    return float(np.mean(gains))


def test_shipped_checkpoint_loads_with_the_papers_parameter_counts():
    model = checkpoint.load()
    assert count_parameters(model.f) == 466_348
    assert count_parameters(model.g) == 120_188
    assert model.iterations == 3
    meta = checkpoint.read_metadata()
    assert meta["stage"] == "G" and "command" in meta["training"] and "command" in meta["init"]["training"]


@pytest.mark.slow
def test_shipped_checkpoint_improves_psnr_where_random_weights_do_not():
    assert mean_gain(checkpoint.load()) > 0.05
    torch.manual_seed(0)
    random = GolfOptimizer(build_f(), build_g()).eval()
    for net in (random.f, random.g):
        torch.nn.init.normal_(net.branch[-1].weight, std=0.05)
    assert mean_gain(random) < 0.0
