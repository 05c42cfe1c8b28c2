"""Peers in the same session: plain libraries with their default options, on the same photo and weights.

Plain PyTorch eager (the paper's setting), a plain `onnxruntime.InferenceSession` and OpenVINO's
default `compile_model`; `golf-rt report` divides their times by each golf-rt path's.
"""

from __future__ import annotations

import pytest

from golf_rt.contract import INPUT_NAME

from .conftest import ITERATIONS, SIZE_IDS, SIZES, Case, measure


def _group(benchmark, size: tuple[int, int]) -> None:
    benchmark.group = f"full model {size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_peer_torch_eager(benchmark, device, size, bench_checkpoint, images):
    torch = pytest.importorskip("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch here")
    import golf_rt.model.checkpoint as checkpoint

    model = checkpoint.load(bench_checkpoint, ITERATIONS).to(device).eval()

    def run(batch):
        with torch.no_grad():
            return model(torch.from_numpy(batch).to(device)).cpu().numpy()

    _group(benchmark, size)
    batch = images(*size)
    label = f"peer: torch eager{' cuda' if device == 'cuda' else ''}"
    measure(benchmark, run, batch, Case(label, "torch", "fp32", "peer", "fused", batch.shape, device == "cuda"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_peer_onnxruntime_defaults(benchmark, size, onnx_file, images):
    ort = pytest.importorskip("onnxruntime")
    path = onnx_file("fused")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    _group(benchmark, size)
    batch = images(*size)
    case = Case("peer: onnxruntime defaults", "onnxruntime", "fp32", "peer", "fused", batch.shape, False, path)
    measure(benchmark, lambda x: session.run(None, {INPUT_NAME: x})[0], batch, case)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_peer_openvino_defaults(benchmark, size, onnx_file, images):
    ov = pytest.importorskip("openvino")
    path = onnx_file("fused")
    core = ov.Core()
    request = core.compile_model(core.read_model(str(path)), "CPU").create_infer_request()
    _group(benchmark, size)
    batch = images(*size)
    case = Case("peer: openvino defaults", "openvino", "default", "peer", "fused", batch.shape, False, path)
    measure(benchmark, lambda x: request.infer({0: x})[0].copy(), batch, case)
