"""golf-rt's runners in process: the full model (F + G x3) on every backend and precision, F alone, one G step.

A path this machine cannot run skips with the reason (no NVIDIA GPU, no TensorRT, no native bf16).
Groups put each path next to the peers of `test_peers.py` measured in the same session.
"""

from __future__ import annotations

import numpy as np
import pytest

from golf_rt.catalog import backend_record, paths

from .conftest import ITERATIONS, SIZE_IDS, SIZES, Case, measure

PATHS = paths()
"""(backend, device, precision): every path golf-rt can run anywhere, from the backend record."""
PATH_IDS = [
    "-".join((backend, *([device] if device != "cpu" and len(backend_record(backend).precisions) > 1 else []), p))
    for backend, device, p in PATHS
]  # the device is named where the backend has more than one: torch-cuda-fp16, onnxruntime-fp32


def _skip_unless_available(backend: str, device: str, precision: str) -> None:
    from golf_rt.backends import precisions_here
    from golf_rt.machine.environment import cuda_device_count

    if device != "cpu" and not cuda_device_count():
        pytest.skip("no NVIDIA GPU here")
    here = precisions_here(backend)
    if not here:
        pytest.skip(f"{backend} is not installed here")
    if device not in here:
        pytest.skip(f"{backend} runs on {', '.join(here)} here, not {device}")
    if precision not in here[device]:
        native = {"bf16": "no native bf16 on this CPU (AVX512-BF16 or AMX)", "int8": "no native int8 (VNNI) here"}
        reason = native.get(precision, "") if device == "cpu" else ""
        pytest.skip(reason or f"{backend} runs {', '.join(here[device])} on {device} here, not {precision}")


def _runner(backend: str, device: str, precision: str, part: str, checkpoint, onnx_file):
    """(runner, the model file it runs) for one path; the runner is active. Every backend runs every part."""
    from golf_rt.artifacts.supply import model_file
    from golf_rt.backends import create_runner

    runs = backend_record(backend).runs
    if runs == "onnx" and precision != "int8":
        path = onnx_file(part, fp16=precision == "fp16")
    else:  # the checkpoint, a TensorRT plan, or the quantised file: shipped, cached, or made now
        path = model_file(runs, part=part, iterations=ITERATIONS, checkpoint=checkpoint, precision=precision)
    runner = create_runner(backend, precision=precision, iterations=ITERATIONS, checkpoint=checkpoint, part=part,
                           model_file=path, device=device)  # fmt: skip
    return runner.activate(), None if runs == "checkpoint" else path


def _measure_path(benchmark, path: tuple, part: str, size: tuple[int, int], checkpoint, onnx_file, images) -> None:
    backend, device, precision = path
    _skip_unless_available(backend, device, precision)
    runner, model_file = _runner(backend, device, precision, part, checkpoint, onnx_file)
    batch = images(*size)
    label = f"golf-rt {backend}{'' if device == 'cpu' or backend == 'tensorrt' else ' ' + device} {precision}"
    case = Case(label, backend, precision, "in-process", part, batch.shape, device != "cpu", model_file)
    output = measure(benchmark, runner.deblur, batch, case)
    if output.shape != batch.shape or not np.isfinite(output).all():
        raise AssertionError(f"{label} returned {output.shape} with non-finite values")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_full_model(benchmark, path, size, bench_checkpoint, onnx_file, images):
    benchmark.group = f"full model {size[0]}x{size[1]}"
    _measure_path(benchmark, path, "fused", size, bench_checkpoint, onnx_file, images)


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_f_alone(benchmark, path, bench_checkpoint, onnx_file, images):
    benchmark.group = f"F alone {SIZES[0][0]}x{SIZES[0][1]}"
    _measure_path(benchmark, path, "f", SIZES[0], bench_checkpoint, onnx_file, images)


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_one_g_step(benchmark, path, bench_checkpoint, onnx_file, images):
    benchmark.group = f"one G step {SIZES[0][0]}x{SIZES[0][1]}"
    _measure_path(benchmark, path, "g", SIZES[0], bench_checkpoint, onnx_file, images)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_golf_rt_default(benchmark, size, bench_checkpoint, onnx_file, images):
    """`Deblurrer()` with every default: the backend and precision "auto" picks here."""
    from golf_rt.deblur.deblurrer import Deblurrer

    onnx_file("fused")  # exported into the cache where the Deblurrer looks, for a checkpoint that ships none
    benchmark.group = f"full model {size[0]}x{size[1]}"
    deblurrer = Deblurrer(checkpoint=bench_checkpoint)
    batch = images(*size)
    label = f"golf-rt default ({deblurrer.backend} {deblurrer.precision})"
    case = Case(label, deblurrer.backend, deblurrer.precision, "in-process", "fused", batch.shape)
    measure(benchmark, deblurrer.runner.deblur, batch, case)


def test_f_then_g_unrolled(benchmark, onnx_file, images):
    """What Triton's default ensemble runs, without Triton: F, then G x3 in one graph, both on OpenVINO."""
    pytest.importorskip("openvino")
    from golf_rt.backends import create_runner

    benchmark.group = f"full model {SIZES[0][0]}x{SIZES[0][1]}"
    f, g = (
        create_runner("openvino", precision="fp32", model_file=onnx_file(part)).activate()
        for part in ("f", "g_unrolled")
    )
    batch = images(*SIZES[0])
    case = Case(
        "golf-rt openvino fp32 (F, then G x3: two models)", "openvino", "fp32", "in-process", "fused", batch.shape
    )
    measure(benchmark, lambda x: g.deblur(f.deblur(x)), batch, case)
