import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from golf_rt.model import checkpoint
from golf_rt.report import write_report
from training.train_config import parse_args

OUTPUTS = {"best.safetensors", "state.safetensors", "log.jsonl", "evaluation.json", "benchmark-gpu.json", "summary.md",
           "heldout.png"}  # fmt: skip
STAGES = ["input", "0", "1", "2", "3", "4", "5"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """The whole command on the CPU in half a minute, without the photo folder (as on CI).

    It runs in its own process, as on the GPU machine: its process pools and threads never share
    the test process.
    """
    folder = tmp_path_factory.mktemp("gpu_run")
    argv = [
            "--minutes", "0.5", "--device", "cpu", "--crop", "32", "--batch", "2", "--kernel-bank", "32",
            "--procedural-images", "2", "--val-crop", "48", "--val-blurred", "2", "--val-sharp", "1",
            "--eval-crops", "1", "--eval-size", "64", "--timing-sizes", "64x64", "--log-every", "4",
            "--val-every", "6", "--photos", str(folder / "no-photos"), "--output", str(folder / "out"),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}  # busy cores: no spinning threads
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "training.gpu_run", *argv], cwd=ROOT, env=env, check=True)
    (folder / "wall_seconds").write_text(str(time.monotonic() - began))
    return folder / "out"


def records(folder, kind):
    lines = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return [r for r in lines if r["kind"] == kind]


@pytest.mark.slow
def test_the_run_writes_its_files_flat_and_in_time(run_folder):
    assert {p.name for p in run_folder.iterdir()} == OUTPUTS
    (done,), (startup,) = records(run_folder, "done"), records(run_folder, "startup")
    wall = float((run_folder.parent / "wall_seconds").read_text())
    assert done["budget_seconds"] == 30 and wall - done["total_seconds"] <= 3, "the budget counts from the start of "
    "the process: importing torch and the start-up are in it"
    assert all(r["seconds"] <= 30 + 2 for r in records(run_folder, "timing")), "no timing after the budget"
    if startup["seconds"] < 10:  # busier, the fixed work (a step and two validations a stage, evaluation) cannot fit
        assert done["total_seconds"] <= 30 + 5


@pytest.mark.slow
def test_the_checkpoint_loads_and_says_how_it_was_made(run_folder):
    model = checkpoint.load(run_folder / "best.safetensors")
    assert model.f.padding == "reflect" and model.g.padding == "reflect" and model.iterations == 3
    meta = checkpoint.read_metadata(run_folder / "best.safetensors")
    assert meta["stage"] == "F+G" and meta["training"]["command"].startswith("python -m training.gpu_run")
    assert set(meta["training"]["stages"]) == {"F", "G"} and meta["training"]["stages"]["F"]["steps"] >= 1
    assert "dead-leaves" in meta["data"]


@pytest.mark.slow
def test_the_log_has_throughput_and_validation_for_both_stages(run_folder):
    (startup,) = records(run_folder, "startup")
    assert startup["kernels"] == 32 and "no photo folder" in startup["validation"]
    assert "photos missing" in records(run_folder, "note")[0]["message"]
    for stage in ("F", "G"):
        progress = [r for r in records(run_folder, "progress") if r["stage"] == stage]
        assert progress and all(r["crops_per_second"] > 0 and r["tflops"] > 0 for r in progress)
        validations = [r for r in records(run_folder, "validation") if r["stage"] == stage]
        assert len(validations) >= 2 and validations[0]["step"] == 0
        assert {"val_score", "val_blurred_gain", "val_sharp_gain"} <= set(validations[-1])


@pytest.mark.slow
def test_the_evaluation_covers_every_iteration_and_sharp_input(run_folder):
    evaluation = json.loads((run_folder / "evaluation.json").read_text())
    assert set(evaluation) == {"heldout", "sharp-noisy"}
    for data in evaluation.values():
        assert list(data["mean"]) == STAGES and data["pairs"] == len(data["per_image"]["names"]) >= 1
        assert 10 < data["mean"]["3"]["psnr"] < 60
    assert evaluation["sharp-noisy"]["mean"]["input"]["psnr"] > evaluation["heldout"]["mean"]["input"]["psnr"]


@pytest.mark.slow
def test_the_report_reads_the_timing(run_folder, tmp_path):
    summary = (run_folder / "summary.md").read_text()
    if not records(run_folder, "timing"):  # a CPU this busy spends the half minute before the timing
        assert "no time was left for the timing" in summary and json.loads(
            (run_folder / "benchmark-gpu.json").read_text())["benchmarks"] == []  # fmt: skip
        pytest.skip("no time was left for the timing on this machine")
    written = write_report([run_folder / "benchmark-gpu.json"], tmp_path)
    markdown = written["markdown"].read_text()
    assert "| torch module cpu fp32 (the forward alone) | in-process |" in markdown
    # bf16 is timed only where the CPU runs it natively (emulated, one step outlasts the whole budget)
    from golf_rt.machine.environment import cpu_has_native_bf16

    assert ("| torch module cpu bf16 (the forward alone) |" in markdown) is cpu_has_native_bf16()
    assert "## Stages" in summary and "| F |" in summary and "torch module cpu fp32" in summary


def test_the_gpu_preset_is_the_default_of_the_gpu_run():
    config, _ = parse_args(["--minutes", "8", "--output", "x"], prog="python -m training.gpu_run", preset="gpu")
    gpu = dataclasses.replace(config, device="cuda").resolved()
    assert (gpu.batch, gpu.amp, gpu.timing_precisions, gpu.pairs_on) == (64, "bf16", ("fp32", "fp16", "bf16"), "device")
    with pytest.raises(ValueError, match="too small"):
        parse_args(["--output", "x", "--crop", "16"], preset="gpu")
