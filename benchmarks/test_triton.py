"""Serving speed: Triton end to end vs the same backend in process, throughput, layouts, shared memory.

Run `pytest benchmarks/test_triton.py` for numbers (compare groups in the table), or add
`--benchmark-disable` to run each benchmark once (the quick mode CI uses). Servers are started
with golf-rt's own `TritonServer` on free loopback ports; weights do not change speed, so the
shipped ONNX files are used when present and a random checkpoint's otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from golf_rt.client import GolfClient
from golf_rt.triton.repository import RepositorySpec, write_repository
from golf_rt.triton.server import ServerConfig, TritonServer, free_ports

pytestmark = pytest.mark.triton
SIDE = 256
LARGE = (720, 1280)
TIMEOUT_S = 600.0
ROUNDS = 5


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from golf_rt.paths import shipped_models_dir

    shipped = shipped_models_dir()
    if (shipped / "fused_x3.onnx").is_file() and (shipped / "g.onnx").is_file():
        return shipped
    torch = pytest.importorskip("torch")
    from golf_rt import checkpoint
    from golf_rt.export import export_onnx
    from golf_rt.networks import GolfOptimizer, build_f, build_g

    torch.manual_seed(0)
    model = GolfOptimizer(build_f(), build_g(), 3)
    with torch.no_grad():  # smaller weights keep the export's check against PyTorch within tolerance
        for parameter in model.parameters():
            if parameter.ndim == 4:
                parameter.mul_(0.5)
    path = checkpoint.save(model, tmp_path_factory.mktemp("ckpt") / "bench.safetensors", {})
    folder = tmp_path_factory.mktemp("onnx")
    export_onnx(path, 3, folder)
    return folder


def _server(onnx_dir: Path, folder: Path, **spec: object) -> TritonServer:
    repository = write_repository(RepositorySpec(**spec), folder, models=onnx_dir)
    http, grpc, metrics = free_ports(3)
    config = ServerConfig(repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics, exit_timeout_s=1)
    return TritonServer(config).start(timeout_s=180)


@pytest.fixture(scope="module")
def servers(onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TritonServer]]:
    layouts = {
        "fused": {"layout": "fused"},
        "unrolled": {"layout": "ensemble", "ensemble_style": "unrolled"},
        "steps": {"layout": "ensemble", "ensemble_style": "steps"},
    }
    started: dict[str, TritonServer] = {}
    try:
        for name, spec in layouts.items():
            started[name] = _server(onnx_dir, tmp_path_factory.mktemp(name) / "models", **spec)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.random.default_rng(0).random((1, 3, SIDE, SIDE), dtype=np.float32)


@pytest.fixture(scope="module")
def large_batch() -> np.ndarray:
    return np.random.default_rng(1).random((1, 3, *LARGE), dtype=np.float32)


def _warm(function, *args, times: int = 3) -> None:
    for _ in range(times):
        function(*args)


@pytest.mark.benchmark(group="latency-256: triton vs in-process")
def test_in_process_openvino(benchmark, onnx_dir: Path, batch: np.ndarray) -> None:
    from golf_rt.backends.openvino_runner import OpenVinoRunner

    with OpenVinoRunner(onnx_dir / "fused_x3.onnx") as runner:
        _warm(runner.deblur, batch, times=1)
        benchmark.pedantic(runner.deblur, args=(batch,), rounds=ROUNDS)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("layout", ["fused", "unrolled", "steps"])
@pytest.mark.benchmark(group="latency-256: triton vs in-process")
def test_triton_latency(benchmark, servers, batch: np.ndarray, layout: str, protocol: str) -> None:
    config = servers[layout].config
    url = config.http_url if protocol == "http" else config.grpc_url
    with GolfClient(url, shared_memory=False, timeout=TIMEOUT_S) as client:
        _warm(client.deblur_batch, batch, times=1)
        benchmark.pedantic(client.deblur_batch, args=(batch,), rounds=ROUNDS)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.benchmark(group="throughput-256: 4 images, fused, grpc")
def test_throughput(benchmark, servers, concurrency: int) -> None:
    images = [np.random.default_rng(i).random((SIDE, SIDE, 3), dtype=np.float32) for i in range(4)]
    with GolfClient(servers["fused"].config.grpc_url, shared_memory=False, timeout=TIMEOUT_S) as client:
        client.deblur_many(images[:concurrency], concurrency=concurrency)
        benchmark.pedantic(client.deblur_many, args=(images,), kwargs={"concurrency": concurrency}, rounds=2)
    benchmark.extra_info["images_per_round"] = len(images)


@pytest.mark.parametrize("shared_memory", [False, True], ids=["plain", "shm"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.benchmark(group="latency-720x1280: shared memory vs plain, fused")
def test_shared_memory(benchmark, servers, large_batch: np.ndarray, protocol: str, shared_memory: bool) -> None:
    config = servers["fused"].config
    url = config.http_url if protocol == "http" else config.grpc_url
    with GolfClient(url, shared_memory=shared_memory, timeout=TIMEOUT_S) as client:
        _warm(client.deblur_batch, large_batch, times=1)
        benchmark.pedantic(client.deblur_batch, args=(large_batch,), rounds=2)
