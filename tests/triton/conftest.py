"""Real tritonserver processes for the serving tests, on free loopback ports, from the tiny checkpoint.

The checkpoint and ONNX fixtures come from tests/conftest.py. One server per layout runs for the
whole session; tests that stop or break a server start their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from golf_rt.triton.ports import free_ports
from golf_rt.triton.repository import RepositorySpec, write_repository
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_config import ServerConfig

MAX_TEST_PIXELS = 96 * 96
"""The servers' size limit in these tests: small, so an over-limit request stays cheap."""


def start_server(repository: Path, log_dir: Path | None = None, **settings: object) -> TritonServer:
    """A started server on free loopback ports; `settings`: more `ServerConfig` fields (TLS files, say)."""
    http, grpc, metrics = free_ports(3)
    log = (log_dir or repository.parent) / f"tritonserver-{http}.log"
    config = ServerConfig(
        repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics, log_file=log, exit_timeout_s=1,
        **settings,
    )  # fmt: skip
    return TritonServer(config).start(timeout_s=180)


@pytest.fixture(scope="session")
def onnx_dir(onnx_files: dict[str, Path]) -> Path:
    """The folder holding the tiny checkpoint's f, g, g_x3 and fused_x3 ONNX files."""
    return onnx_files["fused"].parent


def _repository(onnx_dir: Path, folder: Path, **spec: object) -> Path:
    return write_repository(RepositorySpec(max_pixels=MAX_TEST_PIXELS, **spec), folder, models=onnx_dir)


@pytest.fixture(scope="session")
def repository_factory(onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Make a repository for the tiny checkpoint: `repository_factory(layout="fused")`."""

    def make(**spec: object) -> Path:
        return _repository(onnx_dir, tmp_path_factory.mktemp("repository") / "models", **spec)

    return make


@pytest.fixture(scope="session")
def ensemble_server(repository_factory) -> Iterator[TritonServer]:
    """The default layout (ensemble, F then G unrolled), shared by the session."""
    server = start_server(repository_factory())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fused_server(repository_factory) -> Iterator[TritonServer]:
    """The fused layout, shared by the session."""
    server = start_server(repository_factory(layout="fused"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def in_process(onnx_files: dict[str, Path]):
    """The same backend as the servers (OpenVINO on the fused ONNX file), in this process."""
    from golf_rt.backends import create_runner

    with create_runner("openvino", precision="fp32", model_file=onnx_files["fused"]) as runner:
        yield runner


@pytest.fixture(scope="session")
def images() -> list[np.ndarray]:
    """Sixteen different small uint8 RGB images."""
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (24 + 2 * (i % 3), 32, 3), dtype=np.uint8) for i in range(16)]
