"""`golf-rt report` through the real entry point."""

from ..cli_helpers import golf_rt
from ..report.conftest import CPU_SAMPLE, GPU_SAMPLE


def test_report_merges_two_machines_into_one_folder(tmp_path):
    result = golf_rt("report", str(CPU_SAMPLE), str(GPU_SAMPLE), "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["chart", str(tmp_path / "latency.png"), "markdown", str(tmp_path / "report.md")]
    markdown = (tmp_path / "report.md").read_text()
    assert "| NVIDIA H100 80GB HBM3 (made-up sample) | 2022 | golf-rt tensorrt fp16 |" in markdown
    assert "| AMD EPYC (2 cores) | - |" in markdown


def test_a_bad_result_file_is_one_error_line(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("[1, 2]")
    result = golf_rt("report", str(bad), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad} is not a pytest-benchmark JSON file (no 'benchmarks' list); "
        f"write one with `pytest benchmarks --benchmark-json {bad.name}`"
    ]
    assert not (tmp_path / "out").exists()


def test_report_needs_a_result_file():
    result = golf_rt("report")
    assert result.returncode == 2 and "RESULTS.json..." in result.stderr
