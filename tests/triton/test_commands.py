"""`golf-rt repository`, `golf-rt serve` and `golf-rt demo` as a user runs them."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("tritonclient", reason="tritonclient is not installed (pip install -e '.[client]')")

from golf_rt.cli import app  # noqa: E402
from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.parser import read_config  # noqa: E402
from golf_rt.triton.ports import free_ports  # noqa: E402
from golf_rt.triton.workdirs import process_group_running  # noqa: E402

from ..cli_helpers import golf_rt, golf_rt_command, golf_rt_env  # noqa: E402


def test_repository_command_writes_configs_that_parse(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["repository", "--target", "gpu", "--layout", "fused", "--configs-only",
                                      "--output", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_config(tmp_path / "golf").name == "golf"


def test_repository_command_copies_the_onnx_files(tmp_path: Path, onnx_dir: Path) -> None:
    args = ["repository", "--ensemble-style", "steps", "--output", str(tmp_path), "--models", str(onnx_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "golf_f" / "1" / "f.onnx").is_file()
    assert (tmp_path / "golf_g" / "1" / "g.onnx").is_file()
    assert (tmp_path / "golf_g" / "1" / "model.py").is_file()


@pytest.mark.parametrize("target", ["cpu", "gpu"], ids=["cpu-target", "gpu-target"])  # "gpu" alone marks a GPU test
def test_repository_command_writes_the_instance_count_into_every_model(tmp_path: Path, target: str) -> None:
    result = CliRunner().invoke(app, ["repository", "--target", target, "--instances", "3", "--configs-only",
                                      "--output", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    for model in ("golf_f", "golf_g_x3"):
        assert read_config(tmp_path / model).instance_group.count == 3


def test_repository_command_refuses_fewer_than_one_instance(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["repository", "--instances", "0", "--configs-only", "--output", str(tmp_path)])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigurationError)
    assert str(result.exception) == "--instances must be at least 1 (copies of each model per server), got 0"
    assert not (tmp_path / "golf").exists()


def test_gpu_repository_without_plans_says_how_to_get_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["repository", "--target", "gpu", "--output", str(tmp_path)])
    assert result.exit_code == 1
    assert "build-engine --fp16" in str(result.exception)


@pytest.mark.triton
def test_serve_with_a_log_file_it_cannot_write_is_one_error_line(tmp_path: Path) -> None:
    http, grpc, metrics = (str(p) for p in free_ports(3))
    args = ["--repository", str(tmp_path), "--log-file", "/proc/nope/x.log", "--http-port", http, "--grpc-port", grpc,
            "--metrics-port", metrics]  # fmt: skip
    result = golf_rt("serve", *args, env=golf_rt_env(), timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: cannot write the server log /proc/nope")


@pytest.mark.slow
@pytest.mark.triton
def test_serve_prints_urls_and_stops_cleanly_on_sigterm(repository_factory, tmp_path: Path) -> None:
    http, grpc, metrics = (str(p) for p in free_ports(3))
    log = tmp_path / "server.log"
    command = golf_rt_command("serve", "--repository", str(repository_factory(layout="fused")), "--http-port", http,
                              "--grpc-port", grpc, "--metrics-port", metrics, "--log-file", str(log))  # fmt: skip
    env = golf_rt_env()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "Ctrl-C" not in "".join(lines):
            lines.append(process.stdout.readline())
        text = "".join(lines)
        assert f"http:    http://127.0.0.1:{http}" in text and f"grpc:    grpc://127.0.0.1:{grpc}" in text
        server_pids = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "stopping" in process.stdout.read()
        assert server_pids
        assert not any(process_group_running(int(pid)) for pid in server_pids)
        assert log.stat().st_size > 0
    finally:
        process.kill()


@pytest.mark.slow
@pytest.mark.triton
def test_demo_serves_deblurs_and_reports(checkpoint_path: Path, cached_onnx: Path, tmp_path: Path) -> None:
    from golf_rt.demo import run_demo

    result = run_demo(tmp_path, checkpoint=checkpoint_path, size=64, repeats=2)
    assert result.comparison.is_file()
    assert 5 < result.psnr_input < 60 and 5 < result.psnr_output < 60
    assert result.latency_ms > 0


@pytest.mark.slow
@pytest.mark.triton
def test_demo_runs_where_torch_cannot_be_imported(tmp_path: Path) -> None:
    """The README's main job installs no torch: the shipped ONNX files, Triton and the client are enough."""
    blocker = tmp_path / "no-torch"
    blocker.mkdir()
    (blocker / "torch.py").write_text('raise ImportError("torch is not installed here")\n')
    env = golf_rt_env(blocker)  # the server's Python too
    result = golf_rt("demo", "--output", str(tmp_path / "demo"), "--size", "64", env=env)
    assert result.returncode == 0, result.stderr
    assert "PSNR output" in result.stdout and (tmp_path / "demo" / "comparison.png").is_file()


def test_serve_beyond_loopback_without_tls_is_refused_before_anything_starts(tmp_path: Path) -> None:
    args = ["--repository", str(tmp_path), "--host", "0.0.0.0", "--api-key", "k"]
    result = golf_rt("serve", *args, env=golf_rt_env(), timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: binding '0.0.0.0' would send the API key and the photos in clear")
    assert "--allow-plaintext" in result.stderr


@pytest.mark.slow
@pytest.mark.triton
def test_serve_with_tls_flags_serves_grpc_over_tls(repository_factory, tmp_path: Path, blurry_batch) -> None:
    pytest.importorskip("cryptography", reason="cryptography makes the test certificates (the dev extra installs it)")
    from golf_rt.client import ClientTLS, GolfClient

    from .tls_certificates import write_certificates

    pki = write_certificates(tmp_path / "pki")
    http, grpc, metrics = (str(p) for p in free_ports(3))
    log = tmp_path / "server.log"
    command = golf_rt_command("serve", "--repository", str(repository_factory(layout="fused")), "--http-port", http,
                              "--grpc-port", grpc, "--metrics-port", metrics, "--log-file", str(log),
                              "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key))  # fmt: skip
    env = golf_rt_env()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "Ctrl-C" not in "".join(lines) and process.poll() is None:
            lines.append(process.stdout.readline())
        assert f"grpc:    grpc://127.0.0.1:{grpc} (TLS)" in "".join(lines), "".join(lines)
        with GolfClient(f"grpc://127.0.0.1:{grpc}", tls=ClientTLS(root_certificates=pki.ca)) as client:
            assert client.deblur_batch(blurry_batch).shape == blurry_batch.shape
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
