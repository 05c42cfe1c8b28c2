"""CPU paths side by side at 1x3x256x256, F + G x 3 (108.1 GFLOP), on a real blurred photo.

Run: `python -m pytest benchmarks -s` (or GOLF_RT_BENCH_QUICK=1 for one round each). The last
test prints the speed-ups over a plain `onnxruntime.InferenceSession` with default options on
the same fused ONNX (the peer), GFLOP/s, and each path's deblurring PSNR change from fp32 PyTorch.
Nothing here asserts a speed: speed is reported, accuracy is checked.
"""

from __future__ import annotations

import numpy as np
import pytest

from golf_rt.model_facts import gflop

from .conftest import ROUNDS

GFLOP = gflop(32, 256, 256) + 3 * gflop(16, 256, 256)
RESULTS: dict[str, dict[str, float]] = {}


def _measure(benchmark, name: str, run, photo) -> None:
    batch, sharp = photo
    output = benchmark.pedantic(run, args=(batch,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    from golf_rt.metrics import psnr, to_uint8

    seconds = benchmark.stats.stats.min if benchmark.stats else float("nan")
    RESULTS[name] = {"seconds": seconds, "psnr": psnr(to_uint8(output[0].transpose(1, 2, 0)), to_uint8(sharp))}


@pytest.mark.benchmark(group="cpu-256")
def test_peer_plain_onnxruntime(benchmark, fused_onnx, photo):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(fused_onnx))
    _measure(benchmark, "peer: onnxruntime defaults", lambda x: session.run(None, {"BLURRY": x})[0], photo)


@pytest.mark.benchmark(group="cpu-256")
def test_plain_openvino_default_compile(benchmark, fused_onnx, photo):
    ov = pytest.importorskip("openvino")
    core = ov.Core()
    request = core.compile_model(core.read_model(str(fused_onnx)), "CPU").create_infer_request()
    _measure(benchmark, "openvino defaults", lambda x: request.infer({0: x})[0].copy(), photo)


@pytest.mark.benchmark(group="cpu-256")
def test_our_default_cpu_path(benchmark, fused_onnx, photo):
    from golf_rt.deblurrer import auto_backend

    backend = auto_backend("fp32")
    runner = _runner(backend, "fp32", fused_onnx)
    _measure(benchmark, f"golf-rt default ({backend} fp32)", runner.deblur, photo)


@pytest.mark.benchmark(group="cpu-256")
def test_our_onnxruntime_fp32(benchmark, fused_onnx, photo):
    pytest.importorskip("onnxruntime")
    _measure(benchmark, "golf-rt onnxruntime fp32", _runner("onnxruntime", "fp32", fused_onnx).deblur, photo)


@pytest.mark.benchmark(group="cpu-256")
def test_our_reduced_precision_path(benchmark, fused_onnx, photo):
    from golf_rt.backends import available_backends

    if "bf16" not in available_backends().get("openvino", ()):
        pytest.skip("no native bf16 on this CPU (AVX512-BF16 or AMX)")
    _measure(benchmark, "golf-rt openvino bf16", _runner("openvino", "bf16", fused_onnx).deblur, photo)


@pytest.mark.benchmark(group="cpu-256")
def test_torch_eager(benchmark, bench_checkpoint, photo):
    pytest.importorskip("torch")
    from golf_rt.backends.torch_runner import TorchRunner

    runner = TorchRunner(bench_checkpoint).activate()
    _measure(benchmark, "torch eager fp32 (reference)", runner.deblur, photo)


def _runner(backend: str, precision: str, onnx_path):
    from golf_rt.backends import create_runner

    return create_runner(backend, precision, onnx_path=onnx_path).activate()


def test_summary():
    """Speed-ups over the peer, GFLOP/s, and PSNR change from the fp32 PyTorch reference."""
    peer = RESULTS.get("peer: onnxruntime defaults")
    reference = RESULTS.get("torch eager fp32 (reference)")
    if not peer or not reference or np.isnan(peer["seconds"]):
        pytest.skip("run the whole module with timing enabled for a summary")
    print(f"\n{'path':34s} {'ms':>8s} {'x peer':>7s} {'GFLOP/s':>8s} {'dPSNR dB':>9s}")
    for name, result in RESULTS.items():
        delta = result["psnr"] - reference["psnr"]
        speedup = peer["seconds"] / result["seconds"]
        print(
            f"{name:34s} {result['seconds'] * 1000:8.1f} {speedup:7.2f} {GFLOP / result['seconds']:8.1f} {delta:+9.4f}"
        )
        if "bf16" in name or "fp16" in name:
            assert delta >= -0.05, f"{name} costs {-delta:.3f} dB of deblurring PSNR, over the 0.05 dB budget"
