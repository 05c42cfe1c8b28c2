"""benchmarks/gpu_torch.py: one sentence and exit code 2 without a GPU; a report file on one."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the GPU benchmark times the PyTorch model")
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    """The script in its own process, with this environment (LD_LIBRARY_PATH finds CUDA) and the checkout first."""
    command = [sys.executable, "benchmarks/gpu_torch.py", *args]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_the_benchmark_process_keeps_this_environment(monkeypatch):
    """It ran with PYTHONPATH alone: without LD_LIBRARY_PATH (and PATH) a GPU machine's CUDA libraries went unfound."""
    seen = {}
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/cuda/lib64")
    monkeypatch.setattr(subprocess, "run", lambda command, **options: seen.update(options))
    run("--help")
    assert seen["env"]["LD_LIBRARY_PATH"] == "/opt/cuda/lib64" and seen["env"]["PATH"] == os.environ["PATH"]
    assert seen["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)


@pytest.mark.slow
def test_a_killed_run_keeps_what_it_measured(tmp_path):
    """The result file was written at the end only: a run stopped by its timeout brought nothing back.

    Each measurement is a line appended to gpu.jsonl as it is made (a SIGKILL keeps them too);
    on SIGTERM, `timeout`'s signal, gpu.json is written with what was measured.
    """
    output = tmp_path / "gpu.json"
    command = [sys.executable, "benchmarks/gpu_torch.py", "--device", "cpu", "--precisions", "fp32", "--batch", "1",
               "--sizes", "32x32,40x40,48x48,56x56", "--seconds", "120", "--output", str(output)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = output.with_suffix(".jsonl")
    began = time.monotonic()
    while not (lines.is_file() and lines.read_text().count("\n") >= 1) and time.monotonic() - began < 120:
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)  # what `timeout` sends
    process.communicate(timeout=60)
    kept = [json.loads(line) for line in lines.read_text().splitlines()]
    assert kept and all(line["kind"] == "timing" and line["mean_ms"] > 0 for line in kept)
    from golf_rt.report.results import load_result_file

    assert len(load_result_file(output).results) == len(kept), "the result file holds what was measured"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_without_a_gpu_nothing_is_measured(tmp_path):
    result = run("--output", str(tmp_path / "gpu.json"))
    assert result.returncode == 2 and "nothing measured" in result.stderr
    assert not (tmp_path / "gpu.json").exists()


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs PyTorch on a real CUDA GPU (the stand-in models TensorRT)"
)
def test_gpu_results_are_a_report_file(tmp_path):
    from golf_rt.report.results import load_result_file

    result = run("--output", str(tmp_path / "gpu.json"), "--seconds", "10", "--sizes", "64x64")
    assert result.returncode == 0, result.stderr
    labels = {r.label for r in load_result_file(tmp_path / "gpu.json").results}
    assert "torch module cuda fp32 (GPU time of the forward; TF32 off, CUDA graph)" in labels
    assert "torch module cuda bf16 (GPU time of the forward)" in labels
    assert "golf-rt torch cuda fp32 (numpy in and out; TF32 off)" in labels
    assert "golf-rt torch cuda bf16 (numpy in and out; CUDA graph)" in labels
    assert json.loads((tmp_path / "gpu.json").read_text())["benchmarks"][0]["extra_info"]["device_kind"] == "gpu"
