"""The benchmark suites in quick mode (every benchmark once, at 64x64), then `golf-rt report` on the result."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .cli_helpers import golf_rt
from .conftest import needs_torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_results(checkpoint_path, onnx_files, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("bench") / "quick.json"
    env = {
        **os.environ,
        "GOLF_RT_BENCH_QUICK": "1",
        "GOLF_RT_BENCH_CHECKPOINT": str(checkpoint_path),
        "GOLF_RT_BENCH_ONNX_DIR": str(onnx_files["fused"].parent),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", "-rs"]
    run = subprocess.run(
        [*command, f"--benchmark-json={results}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    return results, run


@needs_torch
@pytest.mark.slow
@pytest.mark.triton
def test_quick_mode_runs_every_benchmark_once(quick_results):
    results, run = quick_results
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    benchmarks = json.loads(results.read_text())["benchmarks"]
    assert benchmarks and all(b["stats"]["rounds"] == 1 for b in benchmarks)
    ours = {b["name"]: b["extra_info"] for b in benchmarks if "golf_rt_schema" in b["extra_info"]}
    for name in (
        "test_full_model[onnxruntime-fp32-64x64]",
        "test_full_model[openvino-fp32-64x64]",
        "test_full_model[torch-fp32-64x64]",
        "test_f_alone[onnxruntime-fp32]",
        "test_one_g_step[openvino-fp32]",
        "test_peer_torch_eager[cpu-64x64]",
        "test_peer_onnxruntime_defaults[64x64]",
        "test_peer_openvino_defaults[64x64]",
        "test_triton_full_model[openvino-grpc-64x64]",
        "test_ensemble_layouts[steps]",
    ):
        assert name in ours, f"{name} did not run: {sorted(ours)}"
    info = ours["test_full_model[openvino-fp32-64x64]"]
    assert info["shape"] == [1, 3, 64, 64] and info["quick"] and info["rounds"] == 1
    assert info["iterations"] == 3 and info["route"] == "in-process" and info["model_file"] == "fused_x3.onnx"
    assert set(info["ms"]) == {"min", "max", "mean", "median", "stddev", "p95"}
    assert info["versions"]["openvino"] and info["cpu"]["cores"] >= 1
    assert ours["test_triton_full_model[openvino-grpc-64x64]"]["route"] == "triton-grpc"
    assert "no NVIDIA GPU here" in run.stdout  # GPU paths skip and say why


@needs_torch
@pytest.mark.slow
@pytest.mark.triton
def test_report_from_quick_results(quick_results, tmp_path):
    results, run = quick_results
    assert run.returncode == 0, run.stdout[-4000:]
    report = golf_rt("report", str(results), "-o", str(tmp_path), timeout=300)
    assert report.returncode == 0, report.stderr
    markdown = (tmp_path / "report.md").read_text()
    assert "## Table 4: full model (F + G x3), one 1x3x64x64 image" in markdown
    assert "| golf-rt openvino fp32 * |" in markdown and "not a measurement" in markdown
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
