"""Serving speed: the full model through Triton, per CPU runtime, protocol and repository layout.

Servers are started by golf-rt's own `TritonServer` on free loopback ports, one per repository, on
first use, and stopped at the end. GOLF_RT_BENCH_TRITON_URL measures a server that is already
running instead (e.g. NVIDIA's tritonserver container with the GPU repository, see
docs/benchmarks.md); GOLF_RT_BENCH_TRITON_BACKEND / _PRECISION say what it serves
(default tensorrt / fp16). Compare with `test_latency.py`'s in-process rows of the same runtime.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from golf_rt.catalog import TRITON_RUNTIMES

from .conftest import QUICK, SIZE_IDS, SIZES, Case, measure

pytestmark = pytest.mark.triton
TIMEOUT_S = 600.0
LAYOUTS = {
    "fused": {"layout": "fused"},
    "unrolled": {"layout": "ensemble", "ensemble_style": "unrolled"},
    "steps": {"layout": "ensemble", "ensemble_style": "steps"},
}
LAYOUT_NAMES = {"fused": "fused", "unrolled": "ensemble F, G unrolled", "steps": "ensemble F, G, G, G"}


@pytest.fixture(scope="session")
def triton_url(onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """`triton_url(layout, runtime, protocol)`: the URL of a server holding that repository, started once."""
    pytest.importorskip("tritonclient")
    from golf_rt.triton.ports import free_ports
    from golf_rt.triton.repository import RepositorySpec, write_repository
    from golf_rt.triton.server import TritonServer
    from golf_rt.triton.server_config import ServerConfig

    started: dict[tuple[str, str], TritonServer] = {}

    def url(layout: str, runtime: str, protocol: str) -> str:
        if (layout, runtime) not in started:
            folder = tmp_path_factory.mktemp(f"triton-{layout}-{runtime}") / "models"
            repository = write_repository(RepositorySpec(runtime=runtime, **LAYOUTS[layout]), folder, models=onnx_dir)
            http, grpc, metrics = free_ports(3)
            config = ServerConfig(repository, http_port=http, grpc_port=grpc, metrics_port=metrics, exit_timeout_s=1)
            started[(layout, runtime)] = TritonServer(config).start(timeout_s=300)
        config = started[(layout, runtime)].config
        return config.http_url if protocol == "http" else config.grpc_url

    try:
        yield url
    finally:
        for server in started.values():
            server.stop()


def _measure_client(benchmark, url: str, batch: np.ndarray, case: Case, shared_memory: bool = False) -> None:
    from golf_rt.client import GolfClient

    with GolfClient(url, shared_memory=shared_memory, timeout=TIMEOUT_S) as client:
        output = measure(benchmark, client.deblur_batch, batch, case)
    if output.shape != batch.shape:
        raise AssertionError(f"{case.label} returned {output.shape} for {batch.shape}")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("runtime", TRITON_RUNTIMES)
def test_triton_full_model(benchmark, triton_url, images, runtime: str, protocol: str, size: tuple[int, int]) -> None:
    pytest.importorskip(runtime)
    benchmark.group = f"full model {size[0]}x{size[1]}"
    batch = images(*size)
    case = Case(
        f"triton {protocol}: {runtime} fp32 (fused)", runtime, "fp32", f"triton-{protocol}", "fused", batch.shape
    )
    _measure_client(benchmark, triton_url("fused", runtime, protocol), batch, case)


@pytest.mark.parametrize("layout", ["unrolled", "steps"])
def test_ensemble_layouts(benchmark, triton_url, images, layout: str) -> None:
    """The same model as an ensemble: one hop per model, so the hops' cost shows next to the fused row."""
    benchmark.group = f"full model {SIZES[0][0]}x{SIZES[0][1]}"
    batch = images(*SIZES[0])
    label = f"triton grpc: openvino fp32 ({LAYOUT_NAMES[layout]})"
    case = Case(label, "openvino", "fp32", "triton-grpc", "fused", batch.shape)
    _measure_client(benchmark, triton_url(layout, "openvino", "grpc"), batch, case)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_shared_memory(benchmark, triton_url, images, protocol: str) -> None:
    """The largest size with system shared memory instead of tensors in the request."""
    size = SIZES[-1]
    benchmark.group = f"full model {size[0]}x{size[1]}"
    batch = images(*size)
    label = f"triton {protocol} + shared memory: openvino fp32 (fused)"
    case = Case(label, "openvino", "fp32", f"triton-{protocol}", "fused", batch.shape)
    _measure_client(benchmark, triton_url("fused", "openvino", protocol), batch, case, shared_memory=True)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_throughput(benchmark, triton_url, images, concurrency: int) -> None:
    """Four photos per round to the default ensemble over gRPC, `concurrency` requests in flight."""
    from golf_rt.client import GolfClient

    size = SIZES[0]
    benchmark.group = f"throughput {size[0]}x{size[1]}: 4 images, default ensemble, grpc"
    photos = [np.ascontiguousarray(images(*size)[0].transpose(1, 2, 0))] * 2
    photos += [np.ascontiguousarray(np.flip(photo, axis=1)) for photo in photos]
    with GolfClient(triton_url("unrolled", "openvino", "grpc"), shared_memory=False, timeout=TIMEOUT_S) as client:
        if not QUICK:
            client.deblur_many(photos[:concurrency], concurrency=concurrency)
        benchmark.pedantic(
            client.deblur_many, args=(photos,), kwargs={"concurrency": concurrency}, rounds=1 if QUICK else 3
        )
    benchmark.extra_info.update(images_per_round=len(photos), concurrency=concurrency)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_running_server(benchmark, images, size: tuple[int, int]) -> None:
    """A server started outside the suite, e.g. the GPU repository in NVIDIA's tritonserver container."""
    url = os.environ.get("GOLF_RT_BENCH_TRITON_URL")
    if not url:
        pytest.skip("set GOLF_RT_BENCH_TRITON_URL to measure a running server")
    backend = os.environ.get("GOLF_RT_BENCH_TRITON_BACKEND", "tensorrt")
    precision = os.environ.get("GOLF_RT_BENCH_TRITON_PRECISION", "fp16")
    protocol = "grpc" if url.startswith("grpc") else "http"
    benchmark.group = f"full model {size[0]}x{size[1]}"
    batch = images(*size)
    label = f"triton {protocol}: {backend} {precision} (running server)"
    case = Case(label, backend, precision, f"triton-{protocol}", "fused", batch.shape, on_gpu=backend == "tensorrt")
    _measure_client(benchmark, url, batch, case)
