"""The lent GPU machine's two calls, dry-run on the CPU with that machine's imports (tests/fixtures/h200).

The preflight, `training.gpu_run` on a seconds budget, `benchmarks/gpu_check.sh` and
`benchmarks/gpu_train.sh` run as there:
golf-rt not installed (PYTHONPATH), ONNX Runtime, OpenVINO, the Triton client and TensorRT absent,
the repository's code allowed only the H200's packages and pypng (whose wheel travels with the
call; MODEL_CARD.md, GPU run). Without a GPU the run must finish and the checks must fail cleanly,
each failure named, with no traceback; and the preflight must check every module the run imports.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.gpu_preflight import MODULES, OPTIONAL
from golf_rt.machine.environment import cuda_device_count

ROOT = Path(__file__).resolve().parents[1]
H200_IMPORTS = ROOT / "tests" / "fixtures" / "h200"
CARRIED = "png"  # pypng, carried as a wheel
RUN_ARGS = [
    "--minutes", "0.25", "--device", "cpu", "--crop", "32", "--batch", "2", "--kernel-bank", "32",
    "--procedural-images", "2", "--val-crop", "48", "--val-blurred", "2", "--val-sharp", "1", "--eval-crops", "1",
    "--eval-size", "64", "--timing-sizes", "64x64", "--log-every", "4", "--val-every", "6",
]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(cuda_device_count() > 0, reason="a dry run for a machine without a GPU; this one has one"),
]


@dataclass(frozen=True)
class DryRun:
    out: Path
    preflight: subprocess.CompletedProcess
    run: subprocess.CompletedProcess
    check: subprocess.CompletedProcess
    train: subprocess.CompletedProcess
    imports: list[list[str]]  # kind, module, importing file, command line


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> DryRun:
    folder = tmp_path_factory.mktemp("h200")
    out, log = folder / "out", folder / "imports.tsv"
    programs = folder / "bin"
    programs.mkdir()
    (programs / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # gpu_check.sh calls python3
    (programs / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{programs}:{os.environ['PATH']}", "PYTHONPATH": f"{H200_IMPORTS}:{ROOT}",
           "GOLF_RT_IMPORT_LOG": str(log), "GOLF_RT_H200_EXTRA": CARRIED, "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "OUT": str(out), "GPU_WHEELS": str(folder / "no-wheels")}  # fmt: skip

    def call(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)

    preflight = call("python3", "benchmarks/gpu_preflight.py", "--output", str(out), "--photos", str(folder / "none"))
    run = call("python3", "-m", "training.gpu_run", *RUN_ARGS, "--photos", str(folder / "none"),
               "--output", str(out / "gpu"))  # fmt: skip
    check = call("bash", "benchmarks/gpu_check.sh")
    train = call("bash", "benchmarks/gpu_train.sh")
    imports = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    return DryRun(out, preflight, run, check, train, imports)


def test_the_preflight_names_the_missing_gpu_and_photos(dry_run):
    assert dry_run.preflight.returncode == 1
    problems = dry_run.preflight.stderr
    assert "preflight: no CUDA GPU: " in problems and "preflight: no photo folder " in problems
    assert "missing Python module" not in problems, "the H200 has every module the run needs (pypng carried)"


def test_the_training_run_finishes_with_its_files(dry_run):
    assert dry_run.run.returncode == 0, dry_run.run.stderr[-3000:]
    assert (dry_run.out / "gpu" / "benchmark-gpu.json").is_file() and (dry_run.out / "gpu" / "summary.md").is_file()


def test_the_checks_fail_cleanly_on_no_gpu(dry_run):
    assert dry_run.check.returncode == 1, dry_run.check.stdout[-3000:]
    summary = (dry_run.out / "gpu-check-summary.txt").read_text().splitlines()
    log = (dry_run.out / "gpu" / "log.jsonl").read_text()
    timed = '"kind": "timing"' in log  # a busy CPU spends the run's seconds before the timing, which is then skipped
    later = ["FAILED gpu-benchmark: exit 2"] + ([] if timed else ["FAILED report: exit 1"])
    assert summary[:2] == [f"gpu_check: {2 + len(later)} of 5 steps failed", "FAILED preflight: exit 1"]
    assert summary[2].startswith("FAILED nvidia-smi: exit ")  # 127 where it is not installed
    assert summary[3:] == later
    assert "nothing measured" in (dry_run.out / "gpu_torch.md").read_text()
    assert (dry_run.out / "report" / "report.md").is_file() == timed, "the training run's timing is reported"


def test_the_training_call_stops_after_its_preflight_on_no_gpu(dry_run):
    assert dry_run.train.returncode == 1, dry_run.train.stdout[-3000:]
    summary = (dry_run.out / "gpu-train-summary.txt").read_text().splitlines()
    assert summary == ["gpu_train: 2 of 2 steps failed", "FAILED preflight: exit 1",
                       "FAILED training: not started, since an earlier step failed"]  # fmt: skip


def test_nothing_ends_in_a_traceback(dry_run):
    logs = {path.name: path.read_text() for path in dry_run.out.glob("*.*") if path.suffix in (".txt", ".md", ".csv")}
    outputs = {"preflight": dry_run.preflight.stderr, "gpu_run": dry_run.run.stderr, "gpu_check": dry_run.check.stdout,
               "gpu_check stderr": dry_run.check.stderr, "gpu_train": dry_run.train.stdout + dry_run.train.stderr,
               **logs}  # fmt: skip
    for name, text in outputs.items():
        assert "Traceback" not in text and "ModuleNotFoundError" not in text, f"{name}:\n{text[-3000:]}"


def test_the_repository_imports_nothing_the_h200_lacks(dry_run):
    """No module of golf_rt, training, benchmarks or tests asked for onnxruntime, openvino, tritonclient, ..."""
    installed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}  # pytest's own importorskip, etc.
    refused = [entry for entry in dry_run.imports if entry[0] == "refused" and Path(entry[2]).is_relative_to(ROOT)
               and not any(Path(entry[2]).resolve().is_relative_to(prefix) for prefix in installed)]  # fmt: skip
    assert refused == []
    assert any(entry[2].endswith("training/train.py") for entry in dry_run.imports), "imports were watched"


def test_the_preflight_checks_every_module_the_run_imports(dry_run):
    imported = {entry[1].replace("_pytest", "pytest") for entry in dry_run.imports if entry[0] == "imported"}
    assert {"torch", "numpy", "png"} <= imported
    assert imported <= set(MODULES) | set(OPTIONAL), "add the new module to benchmarks/gpu_preflight.py's MODULES"
