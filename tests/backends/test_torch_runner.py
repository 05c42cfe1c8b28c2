"""The PyTorch runner: its CPU path and scoped CUDA settings here, its CUDA path (fp32 without TF32, fp16, bf16,
CUDA graphs) on a GPU."""

import numpy as np
import pytest

from golf_rt.errors import ConfigurationError

torch = pytest.importorskip("torch", reason="the PyTorch runner needs torch")

from golf_rt.backends import create_runner  # noqa: E402
from golf_rt.backends.torch.loader import precisions_here  # noqa: E402
from golf_rt.backends.torch.runner import GraphCache, TorchOptions, TorchRunner, cuda_settings  # noqa: E402

from ..conftest import needs_cuda_torch  # noqa: E402


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


def test_settings_of_two_threads_never_interleave():
    """The flags are process-wide: an fp16 call must not restore TF32 under a running fp32 call."""
    import threading
    from types import SimpleNamespace

    fake = SimpleNamespace(backends=SimpleNamespace(
        cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=True)),
        cudnn=SimpleNamespace(allow_tf32=True, benchmark=False),
    ))  # fmt: skip
    seen, inside = [], threading.Barrier(2, timeout=1)

    def call(precision):
        with cuda_settings(fake, precision):
            try:
                inside.wait()  # both threads inside at once: possible only without one process-wide lock
            except threading.BrokenBarrierError:
                pass
            seen.append((precision, fake.backends.cudnn.allow_tf32))

    threads = [threading.Thread(target=call, args=(p,)) for p in ("fp32", "fp16")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ("fp32", False) in seen and fake.backends.cudnn.allow_tf32 is True


def test_bf16_is_offered_only_on_gpus_that_compute_it(monkeypatch):
    monkeypatch.setattr("golf_rt.backends.torch.loader.cuda_device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert precisions_here()["cuda"] == ("fp32", "fp16")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert precisions_here()["cuda"] == ("fp32", "fp16", "bf16")
