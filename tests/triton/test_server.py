"""The server process: start, readiness, causes of failure in one sentence, stop without orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from golf_rt.client import GolfClient, ServerUnreachableError
from golf_rt.errors import ConfigurationError, ServerError
from golf_rt.triton.ports import free_ports
from golf_rt.triton.pytriton_wheel import backend_dir_from_pytriton
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_config import ServerConfig
from golf_rt.triton.server_log import cause_from_log
from golf_rt.triton.workdirs import process_group_running

from .conftest import start_server

ROOT = Path(__file__).resolve().parents[2]


def _config(repository: Path, **kwargs) -> ServerConfig:
    http, grpc, metrics = free_ports(3)
    return ServerConfig(repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics, **kwargs)


def _group_alive(pgid: int) -> bool:
    return process_group_running(pgid)


def test_config_rejects_bad_ports_and_modes(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must differ"):
        ServerConfig(repository=tmp_path, http_port=9000, grpc_port=9000, metrics_port=9002)
    with pytest.raises(ConfigurationError, match="1..65535"):
        ServerConfig(repository=tmp_path, http_port=0)
    with pytest.raises(ConfigurationError, match="model control mode"):
        ServerConfig(repository=tmp_path, model_control_mode="sometimes")


def test_config_binds_loopback_by_default_and_builds_urls(tmp_path: Path) -> None:
    config = ServerConfig(repository=tmp_path)
    assert config.host == "127.0.0.1"
    assert (config.http_url, config.grpc_url) == ("http://127.0.0.1:8000", "grpc://127.0.0.1:8001")
    assert (
        ServerConfig(repository=tmp_path, host="0.0.0.0", api_key="k", allow_plaintext=True).http_url
        == "http://127.0.0.1:8000"
    )


def test_default_log_lives_in_the_cache_folder_that_golf_rt_cache_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path / "cache"))
    server = TritonServer(ServerConfig(repository=tmp_path, http_port=8123))
    assert server.log_path == tmp_path / "cache" / "logs" / "tritonserver-8123.log"
    assert (
        TritonServer(ServerConfig(repository=tmp_path, log_file=tmp_path / "mine.log")).log_path
        == tmp_path / "mine.log"
    )


def test_backend_dir_holds_the_python_backend_and_the_stub_for_this_python(tmp_path: Path) -> None:
    python_dir = backend_dir_from_pytriton(tmp_path) / "python"
    assert (python_dir / "libtriton_python.so").is_file()
    assert (python_dir / "triton_python_backend_utils.py").is_file()
    assert os.access(python_dir / "triton_python_backend_stub", os.X_OK)


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ('E1125 http_server.cc] "failed to start HTTP service: Address already in use"', "already in use"),
        ("unable to find backend library for backend 'onnxruntime', try specifying runtime\"", "missing a backend"),
        (
            "Error parsing text-format inference.ModelConfig: 4:67: Expected identifier, got: ]\n"
            "E model_repository_manager.cc] \"Poll failed for model directory 'golf': failed to read\"",
            "model 'golf': config.pbtxt does not parse (4:67: Expected identifier, got: ])",
        ),
        (
            "E model_lifecycle.cc] \"failed to load 'golf_f' version 1: Internal: ValueError: bad\\n\\nAt:\\n  x\"",
            "model 'golf_f' in /r failed to load: Internal: ValueError: bad",
        ),
        ("error: creating server: Internal - failed to load all models", "failed to load all models"),
        ("", "no output"),
    ],
)
def test_cause_from_log_is_one_sentence(log: str, expected: str) -> None:
    cause = cause_from_log(log, ServerConfig(repository=Path("/r")))
    assert expected in cause and "\n" not in cause


def test_missing_repository_is_reported_before_starting(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="is not a directory"):
        TritonServer(_config(tmp_path / "nowhere")).start()


def test_port_in_use_is_one_sentence(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config.grpc_port))
        taken.listen()
        with pytest.raises(ServerError, match=f"grpc port {config.grpc_port} on 127.0.0.1 is already in use"):
            TritonServer(config).start()


def _broken(repository_factory, edit) -> Path:
    repository = repository_factory(layout="fused")
    edit(repository / "golf")
    return repository


@pytest.mark.triton
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: (d / "config.pbtxt").write_text('name: "golf"\ninput [ { dims: [3, ] } ]\n'), "does not parse"),
        (lambda d: (d / "1" / "fused_x3.onnx").unlink(), "model 'golf' in .* failed to load: .*ONNX file not found"),
        (
            lambda d: (d / "config.pbtxt").write_text(
                (d / "config.pbtxt").read_text().replace('backend: "python"', 'backend: "onnxruntime"')
            ),
            "missing a backend",
        ),
    ],
    ids=["unparsable-config", "missing-model-file", "missing-backend"],
)
def test_broken_repository_is_one_sentence_not_a_hang(repository_factory, edit, message: str) -> None:
    server = TritonServer(_config(_broken(repository_factory, edit)))
    with pytest.raises(ServerError, match=message):
        server.start(timeout_s=120)
    assert not server.is_alive()


@pytest.mark.slow
@pytest.mark.triton
def test_stop_leaves_no_process_and_client_reports_it_then_recovers(repository_factory, blurry_batch) -> None:
    server = start_server(repository_factory(layout="fused"))
    pgid = server.pid
    stubs = subprocess.run(["pgrep", "-g", str(pgid), "-f", "triton_python_backend_stub"], capture_output=True)
    assert stubs.stdout.split(), "the Python backend stub runs in the server's process group"
    with GolfClient(server.config.http_url, timeout=10) as client:
        expected = client.deblur_batch(blurry_batch)
        server.stop()
        assert not server.is_alive() and not _group_alive(pgid)
        with pytest.raises(ServerUnreachableError, match="cannot reach the Triton server"):
            client.deblur_batch(blurry_batch)
        assert not client.ready()
        server.start(timeout_s=180)
        try:
            np.testing.assert_array_equal(client.deblur_batch(blurry_batch), expected)
        finally:
            server.stop()
    with GolfClient(server.config.grpc_url) as client, pytest.raises(ServerUnreachableError):
        client.deblur_batch(blurry_batch)


_ORPHAN_SCRIPT = """
import sys, time
from pathlib import Path
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_config import ServerConfig
http, grpc, metrics = (int(p) for p in sys.argv[2:5])
server = TritonServer(ServerConfig(repository=Path(sys.argv[1]), http_port=http, grpc_port=grpc, metrics_port=metrics))
server.start(timeout_s=180)
print(server.pid, server.workdir, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.triton
def test_server_dies_with_its_parent_and_the_next_start_removes_what_it_left(
    repository_factory, tmp_path, monkeypatch
) -> None:
    # a temporary folder of its own: another run's server start would remove the killed owner's folder first
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    repository = repository_factory(layout="fused")
    ports = [str(p) for p in free_ports(3)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(private)}
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(repository), *ports], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pid, folder = parent.stdout.readline().split()
        server_pid, workdir = int(pid), Path(folder)
        parent.send_signal(signal.SIGKILL)  # as `kill -9` of `golf-rt serve`: no stop() runs
        parent.wait()
        deadline = time.monotonic() + 30
        while _group_alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group_alive(server_pid)
    finally:
        parent.kill()
    assert workdir.is_dir() and workdir.parent == private, "the killed owner could not remove its folder"
    server = start_server(repository)
    try:
        assert not workdir.exists() and server.workdir.is_dir()
    finally:
        server.stop()
