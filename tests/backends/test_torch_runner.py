"""The PyTorch runner: its CPU path and scoped CUDA settings here, its CUDA path (fp32 without TF32, fp16, bf16,
CUDA graphs) on a GPU."""

import numpy as np
import pytest

from golf_rt.errors import ConfigurationError

torch = pytest.importorskip("torch", reason="the PyTorch runner needs torch")

from golf_rt.backends.torch_runner import TorchRunner, cuda_settings, precisions_here  # noqa: E402


def test_cuda_settings_turn_tf32_off_for_fp32_and_restore_the_callers():
    flags = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = flags[0].allow_tf32, flags[1].allow_tf32, flags[1].benchmark
    try:
        flags[0].allow_tf32 = flags[1].allow_tf32 = True
        flags[1].benchmark = False
        with cuda_settings(torch, "fp32"):
            assert (flags[0].allow_tf32, flags[1].allow_tf32, flags[1].benchmark) == (False, False, True)
        assert (flags[0].allow_tf32, flags[1].allow_tf32, flags[1].benchmark) == (True, True, False)
        with cuda_settings(torch, "fp16"):
            assert flags[1].allow_tf32 and flags[1].benchmark  # fp16 has no TF32 to turn off
    finally:
        flags[0].allow_tf32, flags[1].allow_tf32, flags[1].benchmark = saved


def test_device_defaults_to_the_preferred_one_and_graphs_need_cuda(checkpoint_path):
    assert TorchRunner(checkpoint_path).device == next(iter(precisions_here()))
    if not torch.cuda.is_available():
        assert precisions_here() == {"cpu": ("fp32",)}
        with pytest.raises(ConfigurationError, match="cuda_graph=True needs device='cuda'"):
            TorchRunner(checkpoint_path, cuda_graph=True)


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True], ids=["eager", "graph"])
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_runner_matches_the_reference(precision, cuda_graph, checkpoint_path, blurry_batch, reference_output):
    """fp32 within 1e-4 of the CPU reference: cuDNN's TF32 would miss it."""
    from golf_rt.backends import TOLERANCE

    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    assert precisions_here()["cuda"] == ("fp32", "fp16", "bf16")
    with TorchRunner(checkpoint_path, device="cuda", precision=precision, cuda_graph=cuda_graph) as runner:
        out = runner.deblur(blurry_batch)
        again = runner.deblur(blurry_batch)  # a graph replays with new input
        single = runner.deblur(np.ascontiguousarray(blurry_batch[:1]))
    assert out.dtype == np.float32 and np.array_equal(out, again)
    assert np.abs(out - reference_output).max() <= TOLERANCE[precision]
    assert np.abs(single - reference_output[:1]).max() <= TOLERANCE[precision]
