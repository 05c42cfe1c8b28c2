"""Latency of a trained model on the device it trained on, as a result file `golf-rt report` reads.

The full model (F + G x iterations) runs at each size and precision on one image, timed two ways:

- `time_model`, the torch module alone ("torch module ..." in the report): a tensor already on
  the device goes through the forward. On CUDA the module and input are channels_last and cuDNN's
  autotuner is on, as in `TorchRunner`; one call is captured in a CUDA graph after warm-up and
  replayed (or called eagerly), each call timed by CUDA events: the GPU's own time, without
  Python's launch overhead, host copies or synchronisation. On a CPU the calls are plain
  (contiguous, as the runner's) and timed by the wall clock.
- `time_runner`, golf-rt's `TorchRunner.deblur` end to end ("golf-rt torch ... (numpy in and
  out)"): a float32 numpy batch in and one out, so the input check, the copies through pinned
  host memory and the wait for the GPU count too; timed by the wall clock.

fp32 runs with TF32 off, so it is true fp32; fp16 and bf16 cast the model and the input. The file
follows pytest-benchmark's JSON layout with the `extra_info` of `benchmarks/conftest.py` (schema
1), so the report merges it with the benchmark suites' files.
"""

from __future__ import annotations

import copy
import datetime
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from golf_rt.backends.torch.runner import tf32_off
from golf_rt.contract import DEFAULT_ITERATIONS, F_FILTERS, G_FILTERS
from golf_rt.model.facts import gflop

logger = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
SCHEMA = 1  # the extra_info layout of benchmarks/conftest.py that golf_rt.report reads
MAX_ROUNDS = 5000
TIMED = {
    "module": "the torch module's forward on a tensor already on the device (no host copies)",
    "runner": "TorchRunner.deblur end to end: numpy in and out, input check, host-device copies, synchronisation",
}


@dataclass(frozen=True)
class Timing:
    """The per-round milliseconds of one size and precision."""

    size: tuple[int, int]
    precision: str
    ms: tuple[float, ...]
    cuda_graph: bool
    iterations: int
    on_gpu: bool | None = None  # None: as cuda_graph (graphs are only captured on a GPU)
    timed: str = "module"  # a key of TIMED: the module alone, or TorchRunner.deblur end to end
    batch: int = 1  # images per call

    def __post_init__(self) -> None:
        if self.timed not in TIMED:
            raise ValueError(f"timed must be one of {', '.join(TIMED)}, got {self.timed!r}")

    @property
    def gpu(self) -> bool:
        return self.cuda_graph if self.on_gpu is None else self.on_gpu

    @property
    def timer(self) -> str:
        """CUDA events for the module on a GPU; the wall clock otherwise (the runner's copies and wait included)."""
        return "cuda events" if self.gpu and self.timed == "module" else "perf_counter"

    @property
    def mean(self) -> float:
        return float(np.mean(self.ms))

    def gflop(self) -> float:
        """FLOPs of one call (2 per multiply-accumulate), as the report counts them."""
        h, w = self.size
        return self.batch * (gflop(F_FILTERS, h, w) + self.iterations * gflop(G_FILTERS, h, w))


@contextmanager
def cudnn_autotuner(enabled: bool) -> Iterator[None]:
    """The cuDNN autotuner (cudnn.benchmark) on inside the block, as TorchRunner has it; the old setting after."""
    saved = torch.backends.cudnn.benchmark
    if enabled:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = saved


@contextmanager
def exact_fp32(enabled: bool) -> Iterator[None]:
    """TF32 off for matrix products and convolutions inside the block (as `TorchRunner`); the old settings after."""
    with tf32_off(torch) if enabled else nullcontext():
        yield


def _graphed(net: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """Warm up on a side stream (cudnn picks its algorithms), capture one call, return its replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            net(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        output = net(x)

    def replay() -> torch.Tensor:
        graph.replay()
        return output  # the captured output lives as long as the replay

    return replay


def _rounds(run: Callable[[], object], on_gpu: bool, seconds: float, min_rounds: int) -> list[float]:
    """Milliseconds of each call of `run`, until `seconds` have passed (at least min_rounds)."""
    times: list[float] = []
    deadline = time.monotonic() + seconds
    if on_gpu:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    while len(times) < min_rounds or (time.monotonic() < deadline and len(times) < MAX_ROUNDS):
        if on_gpu:
            start.record()
            run()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000.0)
    return times


def _cases(sizes: Sequence[tuple[int, int]], precisions: Sequence[str],
           seconds: float) -> Iterator[tuple[tuple[int, int], str, float]]:  # fmt: skip
    """Each (size, precision) with the time.monotonic() by which to measure it: a fair share of what is left.

    A case's set-up (the copy, warm-up calls, cuDNN's autotuning, graph capture) counts in its
    share. No case starts once the seconds are spent: the ones left are named in a warning.
    """
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown:
        raise ValueError(f"unknown precision {unknown[0]!r}; choose from {', '.join(PRECISIONS)}")
    cases = [(size, precision) for size in sizes for precision in precisions]
    deadline = time.monotonic() + seconds
    for index, (size, precision) in enumerate(cases):
        now = time.monotonic()
        if now >= deadline:
            logger.warning("timing: no time left for %s", ", ".join(f"{h}x{w} {p}" for (h, w), p in cases[index:]))
            return
        yield size, precision, now + (deadline - now) / (len(cases) - index)


def time_model(model: torch.nn.Module, device: torch.device, sizes: Sequence[tuple[int, int]],
               precisions: Sequence[str], seconds: float, min_rounds: int = 3, cuda_graph: bool = True,
               batch: int = 1, on_timing: Callable[[Timing], None] | None = None) -> list[Timing]:  # fmt: skip
    """Time the forward of `model` (left untouched) at every size and precision, sharing `seconds` between them.

    On CUDA (channels_last, cuDNN's autotuner on) each call is a CUDA-graph replay, or with
    `cuda_graph=False` a plain eager call, timed by CUDA events. `batch` images per call;
    `on_timing` gets each timing as soon as it is measured.
    """
    on_gpu = device.type == "cuda"
    layout = torch.channels_last if on_gpu else torch.contiguous_format  # TorchRunner's on each device
    timings = []
    for (h, w), precision, end in _cases(sizes, precisions, seconds):
        dtype = PRECISIONS[precision]
        net = copy.deepcopy(model).eval().to(device=device, dtype=dtype, memory_format=layout)
        x = torch.rand((batch, 3, h, w), generator=torch.Generator().manual_seed(0)).to(device=device, dtype=dtype)
        x = x.contiguous(memory_format=layout)
        with torch.no_grad(), exact_fp32(precision == "fp32"), cudnn_autotuner(on_gpu):
            graphed = on_gpu and cuda_graph
            run = _graphed(net, x) if graphed else partial(net, x)
            if not graphed:
                for _ in range(3 if on_gpu else 1):  # first-call allocations, cuDNN's choices
                    run()
            ms = _rounds(run, on_gpu, end - time.monotonic(), min_rounds)
        iterations = int(getattr(model, "iterations", DEFAULT_ITERATIONS))
        timings.append(Timing((h, w), precision, tuple(ms), on_gpu and cuda_graph, iterations, on_gpu, batch=batch))
        if on_timing:
            on_timing(timings[-1])
        del net, x, run
        if on_gpu:
            torch.cuda.empty_cache()
    return timings


def time_runner(checkpoint: str | Path | None, device: torch.device, sizes: Sequence[tuple[int, int]],
                precisions: Sequence[str], seconds: float, min_rounds: int = 3, cuda_graph: bool = False,
                iterations: int = DEFAULT_ITERATIONS, batch: int = 1,
                on_timing: Callable[[Timing], None] | None = None) -> list[Timing]:  # fmt: skip
    """Time the torch runner's `deblur` (`create_runner("torch")`) end to end, numpy in and out, per size and precision.

    What the SDK's user waits for: the input check, the copies through pinned host memory, the
    forward (channels_last, cuDNN's autotuner on, TF32 off for fp32; a CUDA-graph replay with
    `cuda_graph=True`) and the wait for the GPU, by the wall clock. `checkpoint` None: the shipped one.
    `batch` and `on_timing` as in `time_model`.
    """
    from golf_rt.backends import create_runner
    from golf_rt.backends.torch.runner import TorchOptions

    on_gpu = device.type == "cuda"
    graphed = cuda_graph and on_gpu
    timings = []
    for (h, w), precision, end in _cases(sizes, precisions, seconds):
        images = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
        runner = create_runner("torch", precision=precision, iterations=iterations, checkpoint=checkpoint,
                               device=device.type, options=TorchOptions(cuda_graph=graphed))  # fmt: skip
        with runner:
            run = partial(runner.deblur, images)
            for _ in range(3 if on_gpu else 1):  # loading, first-call allocations, cuDNN's choices, the graph
                run()
            ms = _rounds(run, False, end - time.monotonic(), min_rounds)
        timings.append(Timing((h, w), precision, tuple(ms), graphed, iterations, on_gpu, timed="runner", batch=batch))
        if on_timing:
            on_timing(timings[-1])
        del runner, run
        if on_gpu:
            torch.cuda.empty_cache()
    return timings


def _stats(ms: Sequence[float]) -> dict[str, float]:
    from golf_rt.report.results import latency_summary

    return latency_summary(ms)


def _pytest_stats(ms: Sequence[float]) -> dict:
    """pytest-benchmark's `stats` block, in seconds."""
    data = np.asarray(ms, dtype=np.float64) / 1000.0
    q1, q3 = (float(v) for v in np.percentile(data, [25, 75]))
    iqr = q3 - q1
    mean, stddev = float(data.mean()), float(data.std(ddof=1)) if len(data) > 1 else 0.0
    inside = data[(data >= q1 - 1.5 * iqr) & (data <= q3 + 1.5 * iqr)]
    iqr_outliers = int(len(data) - len(inside))
    stddev_outliers = int(np.sum(np.abs(data - mean) > stddev)) if stddev else 0
    return {
        "min": float(data.min()), "max": float(data.max()), "mean": mean, "stddev": stddev, "rounds": len(data),
        "median": float(np.median(data)), "iqr": iqr, "q1": q1, "q3": q3, "iqr_outliers": iqr_outliers,
        "stddev_outliers": stddev_outliers, "outliers": f"{stddev_outliers};{iqr_outliers}",
        "ld15iqr": float(inside.min()), "hd15iqr": float(inside.max()), "ops": 1.0 / mean if mean else 0.0,
        "total": float(data.sum()), "iterations": 1,
    }  # fmt: skip


def label(timing: Timing) -> str:
    """The path's name in the report, saying what was timed.

    "torch module cuda fp32 (GPU time of the forward; TF32 off, CUDA graph)" for `time_model`,
    "golf-rt torch cuda fp32 (numpy in and out; TF32 off)" for `time_runner`.
    """
    notes = (["TF32 off"] if timing.gpu and timing.precision == "fp32" else []) + (
        ["CUDA graph"] if timing.cuda_graph else []
    ) + ([f"batch {timing.batch}"] if timing.batch > 1 else [])
    kind = "cuda" if timing.gpu else "cpu"
    if timing.timed == "runner":
        what, name = "numpy in and out", "golf-rt torch"
    else:
        what, name = "GPU time of the forward" if timing.gpu else "the forward alone", "torch module"
    return f"{name} {kind} {timing.precision} ({'; '.join([what, ', '.join(notes)] if notes else [what])})"


def result_document(timings: Sequence[Timing], checkpoint: Path, note: str) -> dict:
    """A pytest-benchmark JSON document holding one golf-rt result per timing."""
    from golf_rt.machine.environment import cpu_identity, cpu_name, device_name, gpus, software_versions
    from golf_rt.report.sizes import checkpoint_sizes

    identity = {"cpu": cpu_identity(), "gpus": list(gpus()), "versions": software_versions()}
    benchmarks = []
    for timing in timings:
        h, w = timing.size
        kind = "cuda" if timing.gpu else "cpu"
        path = "torchrunner" if timing.timed == "runner" else "torch"
        shape = f"{timing.batch}x{h}x{w}" if timing.batch > 1 else f"{h}x{w}"
        name = f"gpu_run[{path}-{kind}-{timing.precision}-{shape}{'-graph' if timing.cuda_graph else ''}]"
        extra = {
            "label": label(timing), "backend": "torch", "precision": timing.precision, "route": "in-process",
            "part": "fused", "shape": [timing.batch, 3, h, w], "golf_rt_schema": SCHEMA,
            "iterations": timing.iterations,
            "device": device_name(timing.gpu), "device_kind": "gpu" if timing.gpu else "cpu",
            **identity, "quick": False, "rounds": len(timing.ms), "ms": _stats(timing.ms),
            "cuda_graph": timing.cuda_graph, "timer": timing.timer, "timed": TIMED[timing.timed],
        }  # fmt: skip
        options = {"timer": extra["timer"], "warmup": True, "min_rounds": 1, "disable_gc": False}
        benchmarks.append({"group": f"full model {shape}", "name": name, "fullname": f"training/gpu_timing.py::{name}",
                           "params": None, "param": None, "extra_info": extra, "options": options,
                           "stats": _pytest_stats(timing.ms)})  # fmt: skip
    machine = {
        "node": platform.node(), "processor": platform.processor(), "machine": platform.machine(),
        "python_implementation": platform.python_implementation(), "python_version": platform.python_version(),
        "system": platform.system(), "release": platform.release(),
        "cpu": {"brand_raw": cpu_name(), "count": os.cpu_count()},
        "golf_rt": {**identity, "checkpoint": checkpoint_sizes(checkpoint)}, "note": note,
    }  # fmt: skip
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return {"machine_info": machine, "commit_info": {}, "benchmarks": benchmarks, "datetime": now,
            "version": "training.gpu_timing"}  # fmt: skip


def markdown(timings: Sequence[Timing]) -> str:
    """One row per size and precision: ms statistics and achieved TFLOP/s."""
    rows = ["| size | path | mean (ms) | median | min | p95 | rounds | TFLOP/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for t in timings:
        s = _stats(t.ms)
        rows.append(f"| {t.size[0]}x{t.size[1]} | {label(t)} | {s['mean']:.2f} | {s['median']:.2f} | {s['min']:.2f} "
                    f"| {s['p95']:.2f} | {len(t.ms)} | {t.gflop() / s['mean']:.1f} |")  # fmt: skip
    return "\n".join(rows)
