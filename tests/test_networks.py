import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from golf_rt.model import facts as model_facts  # noqa: E402
from golf_rt.model.networks import GolfOptimizer, GUnrolled, build_f, build_g, count_parameters, gradient_rms  # noqa: E402


def test_parameter_counts_match_the_paper():
    assert count_parameters(build_f()) == 466_348
    assert count_parameters(build_g()) == 120_188


def test_block_parameter_counts_match_table_1():
    g, f = build_g(), build_f()
    blocks = lambda net, a, b: sum(count_parameters(m) for m in net.branch[a:b])  # noqa: E731
    assert blocks(g, 1, 3) == 38_016
    assert blocks(g, 7, 9) == 3_347
    assert blocks(f, 1, 3) == 151_808
    assert blocks(f, 7, 9) == 5_779
    assert f.branch[-1].weight.numel() == 441


def test_torch_free_facts_agree_with_the_modules():
    facts = model_facts.summary()
    assert facts["params"] == {"F": 466_348, "G": 120_188, "total": 586_536}
    assert facts["size_mib_fp32"] == {"F": 1.78, "G": 0.46, "total": 2.24}
    assert facts["gflop_256"] == pytest.approx(108.1, abs=0.1)


@pytest.mark.parametrize("shape", [(1, 3, 37, 53), (2, 3, 16, 9), (1, 3, 64, 64)])
def test_any_size_keeps_its_shape(shape):
    model = GolfOptimizer(build_f(), build_g(), iterations=2).eval()
    with torch.no_grad():
        assert model(torch.rand(shape)).shape == shape


def test_untrained_networks_are_the_identity():
    x = torch.rand(1, 3, 37, 53)
    model = GolfOptimizer(build_f(), build_g(), iterations=3).eval()
    with torch.no_grad():
        assert torch.equal(model(x), x)


def test_residual_structure_adds_the_branch():
    f = build_f(residual_scale="none").eval()
    torch.nn.init.normal_(f.branch[-1].weight, std=0.01)
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        assert torch.allclose(f(x), x + f.branch(x))
        assert not torch.allclose(f(x), x)


def test_gradient_scaling_makes_the_correction_follow_the_images_detail():
    """The paper's branch is blind to contrast; the gradient-scaled one follows it."""
    x = torch.rand(1, 3, 32, 32)
    for scale, ratio in (("none", 1.0), ("gradient", 0.5)):
        f = build_f(residual_scale=scale).eval()
        torch.nn.init.normal_(f.branch[-1].weight, std=0.01)
        with torch.no_grad():
            full, half = f(x) - x, f(0.5 * x) - 0.5 * x
        assert (half.norm() / full.norm()).item() == pytest.approx(ratio, rel=0.05)
    assert torch.allclose(gradient_rms(torch.full((2, 3, 8, 8), 0.7)), torch.tensor(1e-3))


def test_unknown_residual_scale_is_refused():
    with pytest.raises(ValueError, match="residual_scale"):
        build_g(residual_scale="std")


def test_trajectory_and_unrolled_agree_with_the_full_model():
    f, g = build_f().eval(), build_g().eval()
    for net in (f, g):
        torch.nn.init.normal_(net.branch[-1].weight, std=0.01)
    model = GolfOptimizer(f, g, iterations=3)
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        xs = model.trajectory(x, 3)
        assert len(xs) == 4
        assert torch.allclose(xs[-1], model(x))
        assert torch.allclose(GUnrolled(g, 3)(xs[0]), xs[-1])


def test_invalid_iteration_counts_are_refused():
    with pytest.raises(ValueError, match="iterations"):
        GolfOptimizer(build_f(), build_g(), iterations=-1)
    with pytest.raises(ValueError, match="iterations"):
        GUnrolled(build_g(), 0)


def test_seeded_random_model_is_reproducible_and_not_the_identity():
    from golf_rt.model.networks import seeded_random_model

    a, b = seeded_random_model(1), seeded_random_model(1)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        assert not torch.allclose(a(x), x, atol=1e-4)


def _constant_image_output(padding: str) -> torch.Tensor:
    torch.manual_seed(0)
    f = build_f(padding=padding).eval()
    with torch.no_grad():
        f.branch[-1].weight.normal_(0.0, 0.05)
        return f(torch.full((1, 3, 24, 32), 0.5))


def test_reflect_padding_keeps_counts_and_draws_no_frame():
    assert count_parameters(build_f(padding="reflect")) == 466_348
    assert count_parameters(build_g(padding="reflect")) == 120_188
    # A flat image has nothing to deblur: with reflect padding every pixel is treated alike,
    # with zero padding the network sees a dark frame and changes the border.
    assert _constant_image_output("reflect").std() < 1e-5
    assert _constant_image_output("zeros").std() > 1e-3


def test_padding_can_be_switched_in_place_and_is_validated():
    f = build_f()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        f.branch[-1].weight.normal_(0.0, 0.05)
        zero_padded = f(x)
        f.set_padding("reflect")
        assert f.padding == "reflect"
        assert not torch.allclose(f(x), zero_padded)
    with pytest.raises(ValueError, match="padding"):
        f.set_padding("circular-ish")
    with pytest.raises(ValueError, match="padding"):
        build_g(padding="same")
