"""The GPU run's two calls: benchmarks/gpu_check.sh and gpu_train.sh, their steps, failures and time.

In gpu_check.sh every step runs, each failure is named in the summary, and any failure fails the
script. The steps' programs are stand-ins on PATH (a `python3` and an `nvidia-smi` that exit as
told), so these tests check the scripts' bookkeeping in a second; tests/test_h200_dry_run.py runs
them for real. The time each call takes is checked against MODEL_CARD.md's description of the calls.
"""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = """#!/usr/bin/env bash
# python3 as gpu_check.sh calls it: each step exits with the status its variable names (default 0).
echo "$*" >> "$OUT/calls.txt"
case "$*" in
  *gpu_preflight.py*) exit "${PREFLIGHT:-0}" ;;
  *"-m pip"*) exit "${PIP:-0}" ;;
  *training.gpu_run*) exit "${TRAINING:-0}" ;;
  *"-m pytest"*) echo "1 passed"; exit "${TESTS:-0}" ;;
  *gpu_torch.py*) [[ -z ${NO_JSON:-} ]] && echo '{}' > "$OUT/gpu_torch.json"; exit "${BENCHMARK:-0}" ;;
  *golf_rt.cli*) exit "${REPORT:-0}" ;;
esac
exit 99
"""


def run_check(
    tmp_path: Path, script: str = "gpu_check.sh", **statuses: str
) -> tuple[subprocess.CompletedProcess, Path]:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir(parents=True, exist_ok=True)
    (bin_folder / "python3").write_text(STAND_IN)
    (bin_folder / "nvidia-smi").write_text('#!/usr/bin/env bash\necho "NVIDIA H200, 570.0, 143771 MiB"\n'
                                           'exit "${NVIDIA_SMI:-0}"\n')  # fmt: skip
    for program in bin_folder.iterdir():
        program.chmod(0o755)
    out = tmp_path / "out"
    env = {**os.environ, "PATH": f"{bin_folder}:{os.environ['PATH']}", "OUT": str(out),
           "GPU_WHEELS": str(tmp_path / "wheels"), **statuses}  # fmt: skip
    result = subprocess.run(["bash", f"benchmarks/{script}"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    return result, out


def failures(out: Path, summary: str = "gpu-check-summary.txt") -> list[str]:
    return [line for line in (out / summary).read_text().splitlines() if line.startswith("FAILED")]


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


def test_carried_wheels_are_installed_first_and_a_failed_install_is_named(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "pypng-0.20220715.0-py3-none-any.whl").write_text("")
    result, out = run_check(tmp_path, PIP="1")
    assert result.returncode == 1 and failures(out) == ["FAILED wheels: exit 1"]
    calls = (out / "calls.txt").read_text().splitlines()
    assert calls[0].startswith("-m pip install") and "pypng-0.20220715.0-py3-none-any.whl" in calls[0]
    assert "gpu_check: 1 of 6 steps failed" in result.stdout


def test_the_training_call_trains_after_the_preflight_and_not_after_a_failed_one(tmp_path):
    result, out = run_check(tmp_path, "gpu_train.sh")
    assert result.returncode == 0 and "gpu_train: all 2 steps passed" in result.stdout
    assert (out / "calls.txt").read_text().splitlines()[-1].startswith("-m training.gpu_run --minutes 3")
    result, out = run_check(tmp_path / "again", "gpu_train.sh", PREFLIGHT="1")
    assert result.returncode == 1
    assert failures(out, "gpu-train-summary.txt") == [
        "FAILED preflight: exit 1",
        "FAILED training: not started, since an earlier step failed",
    ]
    assert "training.gpu_run" not in (out / "calls.txt").read_text()


CALL = re.compile(r"# call (\d) of 2: [^;]+; timeout_s (\d+).*\n.*timeout (\d+) bash benchmarks/(\S+\.sh)")


def documented_calls() -> list[tuple[int, int, str]]:
    """(timeout_s, the timeout around the script, script) of each call in MODEL_CARD.md's GPU run section."""
    card = (ROOT / "MODEL_CARD.md").read_text()
    section = card[card.index("## GPU run") :]
    section = section[: section.index("\n## ", 1)]
    return [(int(m[2]), int(m[3]), m[4]) for m in CALL.finditer(section)]


def test_every_timeout_leaves_room_for_the_ones_around_it():
    """gpu_check.sh's steps (200 + 150 s) outlasted the `timeout 210` around it; one call left no room to rerun."""
    calls = documented_calls()
    assert [script for *_, script in calls] == ["gpu_check.sh", "gpu_train.sh"]
    for limit, around, script in calls:
        text = (ROOT / "benchmarks" / script).read_text()
        inner = [int(n) for n in re.findall(r"\btimeout (\d+) ", text)]
        assert inner and sum(inner) + 5 <= around, f"{script}: steps {inner} do not fit in timeout {around}"
        assert around + 10 <= limit <= 300, f"{script}: timeout {around} leaves no room to pack in {limit} s"
    # 15 minutes of device time: both calls, a machine start (~3 minutes) and one call again
    assert sum(limit for limit, *_ in calls) + max(limit for limit, *_ in calls) + 180 <= 15 * 60
    training = (ROOT / "benchmarks" / "gpu_train.sh").read_text()
    ((seconds, minutes),) = re.findall(r"timeout (\d+) python3 -m training.gpu_run --minutes ([\d.]+)", training)
    assert float(minutes) * 60 + 10 <= int(seconds), "gpu_run's minutes cover its whole process: 10 s to end"


def test_engines_md_points_to_the_one_description_of_the_calls():
    engines = (ROOT / "docs" / "engines.md").read_text()
    section = engines[engines.index("### When a GPU machine is available") :]
    section = section[: section.index("\n## ")]
    assert "MODEL_CARD.md" in section and "timeout_s" not in section and "gpu_check.sh" not in section
