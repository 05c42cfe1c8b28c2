"""Shared fixtures and the one measuring helper of every benchmark suite.

Every benchmark runs a `Case` (backend, precision, route, part, shape) through `measure`, which
warms up, lets pytest-benchmark calibrate the rounds, and writes the case, the device, the
software versions and the p95 into the result's `extra_info`: `--benchmark-json` files are what
`golf-rt report` reads.

Environment:
- GOLF_RT_BENCH_QUICK=1: every benchmark once, no warm-up, at 1x3x64x64 (CI proves the suites work);
- GOLF_RT_BENCH_SHAPES: the full-model sizes, e.g. "256x256,720x1280" (the default; quick: "64x64");
- GOLF_RT_BENCH_CHECKPOINT: the checkpoint to measure (default: shipped, else random weights);
- GOLF_RT_BENCH_ONNX_DIR: already exported f/g/g_x3/fused_x3 ONNX files of that checkpoint;
- GOLF_RT_BENCH_TRITON_URL: also measure a server that is already running (e.g. the GPU container).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from golf_rt.contract import DEFAULT_ITERATIONS

QUICK = os.environ.get("GOLF_RT_BENCH_QUICK", "") not in ("", "0")
ITERATIONS = DEFAULT_ITERATIONS
SCHEMA = 1
"""Version of the `extra_info` layout below; `golf_rt.report` reads it."""


def _sizes() -> tuple[tuple[int, int], ...]:
    text = os.environ.get("GOLF_RT_BENCH_SHAPES") or ("64x64" if QUICK else "256x256,720x1280")
    sizes = []
    for item in text.split(","):
        height, _, width = item.strip().partition("x")
        if not (height.isdigit() and width.isdigit()):
            raise pytest.UsageError(f"GOLF_RT_BENCH_SHAPES wants HxW[,HxW...], got {text!r}")
        sizes.append((int(height), int(width)))
    return tuple(sizes)


SIZES = _sizes()
"""Full-model image sizes; F alone and one G step run at the first one."""
SIZE_IDS = [f"{h}x{w}" for h, w in SIZES]


ROUTES = ("in-process", "peer", "triton-http", "triton-grpc")
"""In process through golf-rt's runner, a plain library with default options, or a Triton request."""
PARTS = ("fused", "f", "g")
"""F + G x3, F alone, one step of G."""


@dataclass(frozen=True)
class Case:
    """What one benchmark measures; written into the result's extra_info."""

    label: str
    backend: str
    precision: str
    route: str
    part: str
    shape: tuple[int, int, int, int]
    on_gpu: bool = False
    model_file: Path | None = None

    def __post_init__(self) -> None:
        if self.route not in ROUTES or self.part not in PARTS or len(self.shape) != 4:
            raise ValueError(
                f"case {self.label!r}: route must be one of {ROUTES}, part one of {PARTS}, shape N x 3 x H x W; "
                f"got {self.route!r}, {self.part!r}, {self.shape}"
            )

    @property
    def iterations(self) -> int:
        return {"fused": ITERATIONS, "f": 0, "g": 1}[self.part]


def measure(benchmark, run: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, case: Case) -> np.ndarray:
    """Warm up, time `run(batch)` with calibrated rounds (one round in quick mode), record the case."""
    if case.on_gpu:
        run = _synchronized(run)
    if QUICK:
        output = benchmark.pedantic(run, args=(batch,), rounds=1, iterations=1)
    else:
        for _ in range(1 if batch.shape[2] * batch.shape[3] > 512 * 512 else 2):  # first-call allocations, JIT
            run(batch)
        output = benchmark(run, batch)
    benchmark.extra_info.update(extra_info(benchmark, case))
    return output


def _synchronized(run: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """`run`, then wait for the GPU: the clock is read only after every queued kernel has finished."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return run  # TensorRT runners synchronise their stream before returning

    def synchronized(batch: np.ndarray) -> np.ndarray:
        output = run(batch)
        torch.cuda.synchronize()
        return output

    return synchronized


def extra_info(benchmark, case: Case) -> dict:
    """The case, the device it ran on, software versions and the statistics in ms, p95 included."""
    from golf_rt.machine.environment import cpu_identity, device_name, gpus, software_versions

    info = {key: value for key, value in asdict(case).items() if key not in ("model_file", "on_gpu")}
    info.update(
        golf_rt_schema=SCHEMA,
        shape=list(case.shape),
        iterations=case.iterations,
        device=device_name(case.on_gpu),
        device_kind="gpu" if case.on_gpu else "cpu",
        cpu=cpu_identity(),
        gpus=list(gpus()),
        versions=software_versions(),
        quick=QUICK,
    )
    if case.model_file is not None and case.model_file.is_file():
        info["model_file"] = case.model_file.name
        info["model_bytes"] = case.model_file.stat().st_size
    stats = benchmark.stats.stats if benchmark.stats else None
    if stats is not None and stats.data:
        from golf_rt.report.results import latency_summary

        info["rounds"] = len(stats.data)
        info["ms"] = latency_summary(np.asarray(stats.data) * 1000.0)
    return info


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """Add golf-rt's own view of the machine (CPU model and cores, GPUs via NVML) and the checkpoint."""
    from golf_rt.machine.environment import cpu_identity, gpus, software_versions

    machine_info["golf_rt"] = {"cpu": cpu_identity(), "gpus": list(gpus()), "versions": software_versions()}
    if _CHECKPOINT:
        from golf_rt.report.sizes import checkpoint_sizes

        machine_info["golf_rt"]["checkpoint"] = checkpoint_sizes(_CHECKPOINT[0])


_CHECKPOINT: list[Path] = []


def real_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A held-out photo scaled to cover height x width, centre-cropped, blurred like the held-out set.

    Returns a 1 x 3 x H x W float32 batch in [0, 1]. Without scikit-image's photos, a dead-leaves
    image (natural-image statistics) stands in.
    """
    from PIL import Image

    from golf_rt.images.files import load_image
    from golf_rt.images.pixels import rgb_float_from, to_uint8
    from golf_rt.images.synthetic import dead_leaves, degrade
    from golf_rt.quality.heldout import HELDOUT_BLUR, available_photos

    rng = np.random.default_rng(seed)
    photos = available_photos()
    if photos:
        photo = Image.fromarray(to_uint8(rgb_float_from(load_image(photos[seed % len(photos)]))))
        scale = max(height / photo.height, width / photo.width, 1.0)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.BICUBIC)
        top, left = (photo.height - height) // 2, (photo.width - width) // 2
        sharp = np.asarray(photo.crop((left, top, left + width, top + height)), dtype=np.float32) / 255.0
    else:
        sharp = dead_leaves(rng, max(height, width))[:height, :width]
    blurry, _ = degrade(sharp, rng, HELDOUT_BLUR)
    return np.ascontiguousarray(np.clip(blurry, 0, 1).transpose(2, 0, 1)[None], dtype=np.float32)


@pytest.fixture(scope="session")
def images() -> Callable[[int, int], np.ndarray]:
    """`images(height, width)`: the blurred real photo of that size, made once per size."""
    made: dict[tuple[int, int], np.ndarray] = {}

    def image(height: int, width: int) -> np.ndarray:
        if (height, width) not in made:
            made[(height, width)] = real_image(height, width)
        return made[(height, width)]

    return image


@pytest.fixture(scope="session")
def bench_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """GOLF_RT_BENCH_CHECKPOINT, None for the shipped checkpoint, or random weights (speed does not depend on them).

    Random weights are seeded, so the file and its cached ONNX exports are the same from run to run.
    """
    import golf_rt.model.checkpoint as checkpoint

    if os.environ.get("GOLF_RT_BENCH_CHECKPOINT"):
        _CHECKPOINT.append(Path(os.environ["GOLF_RT_BENCH_CHECKPOINT"]))
        return _CHECKPOINT[0]
    if checkpoint.default_checkpoint_path().is_file():
        _CHECKPOINT.append(checkpoint.default_checkpoint_path())
        return None
    pytest.importorskip("torch")
    from golf_rt.model.networks import seeded_random_model

    folder = tmp_path_factory.mktemp("bench")
    path = checkpoint.save(seeded_random_model(0, ITERATIONS), folder / "bench.safetensors", {})
    _CHECKPOINT.append(path)
    return path


@pytest.fixture(scope="session")
def onnx_file(bench_checkpoint: Path | None) -> Callable[..., Path]:
    """`onnx_file(part, fp16=False)`: the checkpoint's ONNX file, exported once into the cache.

    Files in GOLF_RT_BENCH_ONNX_DIR are copied to where `ensure_onnx` looks first, so that every
    runner made with `create_runner(..., checkpoint=bench_checkpoint)` uses them.
    """
    from golf_rt.artifacts.names import cached_models_dir
    from golf_rt.artifacts.supply import ensure_onnx
    from golf_rt.model.checkpoint import file_sha256, resolve

    given = os.environ.get("GOLF_RT_BENCH_ONNX_DIR")
    if given:
        folder = cached_models_dir(file_sha256(resolve(bench_checkpoint)))
        folder.mkdir(parents=True, exist_ok=True)
        for path in Path(given).glob("*.onnx"):
            if not (folder / path.name).is_file():
                shutil.copy(path, folder / path.name)

    def find(part: str, fp16: bool = False) -> Path:
        return ensure_onnx(part, ITERATIONS, bench_checkpoint, fp16=fp16)

    return find


@pytest.fixture(scope="session")
def onnx_dir(onnx_file: Callable[..., Path]) -> Path:
    """The folder holding f, g, g_x3 and fused_x3 ONNX files (what a Triton repository is written from)."""
    for part in ("f", "g", "g_unrolled"):
        onnx_file(part)
    return onnx_file("fused").parent
