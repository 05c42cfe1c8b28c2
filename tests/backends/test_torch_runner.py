"""The PyTorch runner: its CPU path and scoped CUDA settings here, its CUDA path (fp32 without TF32, fp16, bf16,
CUDA graphs) on a GPU."""

import threading

import numpy as np
import pytest

from golf_rt.errors import ConfigurationError

torch = pytest.importorskip("torch", reason="the PyTorch runner needs torch")

from golf_rt.backends import create_runner  # noqa: E402
from golf_rt.backends.torch.loader import cuda_precisions, precisions_here  # noqa: E402
from golf_rt.backends.torch.runner import GraphCache, TorchOptions, TorchRunner, cuda_settings  # noqa: E402

from ..conftest import needs_cuda_torch  # noqa: E402


def flags() -> tuple:
    """TF32 of matrix products and cuDNN convolutions (torch >= 2.9's fp32_precision) and cuDNN's autotuner."""
    return (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision,
            torch.backends.cudnn.benchmark)  # fmt: skip


@pytest.fixture
def callers_flags():
    """The caller allowed TF32 through torch's new API (after which reading `allow_tf32` raises); put back after."""
    saved = flags()
    torch.backends.cuda.matmul.fp32_precision = torch.backends.cudnn.conv.fp32_precision = "tf32"
    torch.backends.cudnn.benchmark = False
    yield flags()
    torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = saved[:2]
    torch.backends.cudnn.benchmark = saved[2]


def test_cuda_settings_turn_tf32_off_for_fp32_and_restore_the_callers(callers_flags):
    """Reading the legacy `allow_tf32` raised once anything had set `fp32_precision`."""
    with cuda_settings(torch, "fp32"):
        assert flags() == ("ieee", "ieee", True)
    assert flags() == callers_flags == ("tf32", "tf32", False)
    with cuda_settings(torch, "fp16"):
        assert flags() == ("tf32", "tf32", True)  # fp16 has no TF32 to turn off
    assert flags() == callers_flags


def test_device_defaults_to_the_preferred_one_and_graphs_need_cuda(checkpoint_path):
    assert create_runner("torch", checkpoint=checkpoint_path).device == next(iter(precisions_here()))
    with pytest.raises(ConfigurationError, match="cuda_graph=True needs device='cuda'"):
        TorchRunner(None, device="cpu", options=TorchOptions(cuda_graph=True))
    with pytest.raises(ConfigurationError, match="at least 1"):
        TorchOptions(threads=0)
    if not torch.cuda.is_available():
        assert precisions_here() == {"cpu": ("fp32",)}


def test_a_runner_runs_the_module_it_is_handed(blurry_batch):
    """A torch module is callable itself: the runner tells it from a loader."""
    module = torch.nn.Conv2d(3, 3, 1)
    with TorchRunner(module) as runner:
        with torch.no_grad():
            expected = module(torch.from_numpy(blurry_batch)).numpy()
        assert np.array_equal(runner.deblur(blurry_batch), expected)


@pytest.mark.gpu
@needs_cuda_torch
@pytest.mark.parametrize("cuda_graph", [False, True], ids=["eager", "graph"])
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_runner_matches_the_reference(precision, cuda_graph, checkpoint_path, blurry_batch, reference_output):
    """fp32 within 1e-4 of the CPU reference: cuDNN's TF32 would miss it."""
    from golf_rt.backends import TOLERANCE

    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    if precision not in precisions_here()["cuda"]:
        pytest.skip(f"this GPU does not compute {precision} natively (bf16 needs Ampere or later)")
    options = TorchOptions(cuda_graph=cuda_graph)
    made = create_runner("torch", precision=precision, checkpoint=checkpoint_path, device="cuda", options=options)
    with made as runner:
        out = runner.deblur(blurry_batch)
        again = runner.deblur(blurry_batch)  # a graph replays with new input
        single = runner.deblur(np.ascontiguousarray(blurry_batch[:1]))
    assert out.dtype == np.float32 and np.array_equal(out, again)
    assert np.abs(out - reference_output).max() <= TOLERANCE[precision]
    assert np.abs(single - reference_output[:1]).max() <= TOLERANCE[precision]


def test_graph_cache_keeps_the_last_shapes_only():
    """A folder of photos in many sizes must not keep a CUDA graph, and its memory, per size."""
    cache, captured = GraphCache(size=2), []

    def capture(shape):
        captured.append(shape)
        return (shape,)

    for shape in [(1, 3, 8, 8), (1, 3, 9, 9), (1, 3, 8, 8), (1, 3, 10, 10), (1, 3, 11, 11)]:
        assert cache.get(shape, lambda s=shape: capture(s)) == (shape,)
    assert cache.shapes() == [(1, 3, 10, 10), (1, 3, 11, 11)]
    assert captured == [(1, 3, 8, 8), (1, 3, 9, 9), (1, 3, 10, 10), (1, 3, 11, 11)]  # the reuse captured nothing


def test_settings_of_two_threads_never_interleave(callers_flags):
    """The flags are process-wide: a call that starts inside another and ends after it would leave them as that
    call set them, not as the caller had them (fp32 inside: TF32 off for good)."""
    order, first_in, second_in, first_out = [], threading.Event(), threading.Event(), threading.Event()

    def first():
        with cuda_settings(torch, "fp32"):
            order.append("first in")
            first_in.set()
            second_in.wait(0.3)  # without one process-wide lock the second call comes in now
            order.append("first leaving")
        first_out.set()

    def second():
        first_in.wait(5)
        with cuda_settings(torch, "fp16"):
            order.append("second in")
            second_in.set()
            first_out.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first leaving", "second in"]
    assert flags() == callers_flags


@pytest.mark.parametrize(
    ("capability", "native"), [((6, 1), False), ((7, 0), False), ((7, 5), False), ((8, 0), True), ((9, 0), True)]
)
def test_bf16_is_offered_only_on_gpus_that_compute_it(capability, native):
    """`torch.cuda.is_bf16_supported()` counts emulation, so a Turing GPU was offered bf16."""
    expected = ("fp32", "fp16", "bf16") if native else ("fp32", "fp16")
    assert cuda_precisions(capability) == expected
