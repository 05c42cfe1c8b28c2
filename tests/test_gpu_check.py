"""benchmarks/gpu_check.sh: every step runs, each failure is named in the summary, and any failure fails the script.

The steps' programs are stand-ins on PATH (a `python3` and an `nvidia-smi` that exit as told), so
these tests check the script's bookkeeping in a second; tests/test_h200_dry_run.py runs it for real.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = """#!/usr/bin/env bash
# python3 as gpu_check.sh calls it: each step exits with the status its variable names (default 0).
echo "$*" >> "$OUT/calls.txt"
case "$*" in
  *gpu_preflight.py*) exit "${PREFLIGHT:-0}" ;;
  *"-m pytest"*) echo "1 passed"; exit "${TESTS:-0}" ;;
  *gpu_torch.py*) [[ -z ${NO_JSON:-} ]] && echo '{}' > "$OUT/gpu_torch.json"; exit "${BENCHMARK:-0}" ;;
  *golf_rt.cli*) exit "${REPORT:-0}" ;;
esac
exit 99
"""


def run_check(tmp_path: Path, **statuses: str) -> tuple[subprocess.CompletedProcess, Path]:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir(exist_ok=True)
    (bin_folder / "python3").write_text(STAND_IN)
    (bin_folder / "nvidia-smi").write_text('#!/usr/bin/env bash\necho "NVIDIA H200, 570.0, 143771 MiB"\n'
                                           'exit "${NVIDIA_SMI:-0}"\n')  # fmt: skip
    for program in bin_folder.iterdir():
        program.chmod(0o755)
    out = tmp_path / "out"
    env = {**os.environ, "PATH": f"{bin_folder}:{os.environ['PATH']}", "OUT": str(out), **statuses}
    result = subprocess.run(["bash", "benchmarks/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    return result, out


def failures(out: Path) -> list[str]:
    return [line for line in (out / "gpu-check-summary.txt").read_text().splitlines() if line.startswith("FAILED")]


def test_all_steps_passing_pass(tmp_path):
    result, out = run_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gpu_check: all 5 steps passed" in result.stdout and failures(out) == []
    assert (out / "gpu.csv").read_text().startswith("NVIDIA H200") and "1 passed" in (out / "gpu-tests.txt").read_text()
    report = (out / "calls.txt").read_text().splitlines()[-1]
    assert report.startswith("-m golf_rt.cli report") and report.count(".json") == 1


def test_a_failed_step_fails_the_script_and_the_later_steps_still_run(tmp_path):
    result, out = run_check(tmp_path, NVIDIA_SMI="9", TESTS="1")
    assert result.returncode == 1
    assert failures(out) == ["FAILED nvidia-smi: exit 9", "FAILED gpu-tests: exit 1"]
    assert "gpu_check: 2 of 5 steps failed" in result.stdout
    calls = (out / "calls.txt").read_text()
    assert "gpu_torch.py" in calls and "golf_rt.cli report" in calls, "steps after a failure still ran"


def test_a_timeout_is_named(tmp_path):
    result, out = run_check(tmp_path, PREFLIGHT="1", BENCHMARK="124")
    assert result.returncode == 1
    assert failures(out) == ["FAILED preflight: exit 1", "FAILED gpu-benchmark: timed out (exit 124)"]


def test_without_benchmark_results_the_report_is_a_failure_not_a_traceback(tmp_path):
    result, out = run_check(tmp_path, BENCHMARK="2", NO_JSON="1")
    assert result.returncode == 1
    assert failures(out)[-1].startswith("FAILED report: no result file to report")
    assert "golf_rt.cli" not in (out / "calls.txt").read_text()


def test_the_training_runs_timing_is_reported_too(tmp_path):
    (tmp_path / "out" / "gpu").mkdir(parents=True)
    (tmp_path / "out" / "gpu" / "benchmark-gpu.json").write_text("{}")
    result, out = run_check(tmp_path)
    assert result.returncode == 0
    report = (out / "calls.txt").read_text().splitlines()[-1]
    assert report.endswith(f"{out}/gpu_torch.json {out}/gpu/benchmark-gpu.json --output {out}/report")


def test_a_log_that_cannot_be_written_is_a_failure_even_when_the_step_passed(tmp_path):
    (tmp_path / "out" / "gpu.csv").mkdir(parents=True)  # tee cannot open it; pipefail alone would hide which failed
    result, out = run_check(tmp_path)
    assert result.returncode == 1
    assert failures(out) == [f"FAILED nvidia-smi: its log {out}/gpu.csv could not be written (tee exit 1)"]
