from golf_rt.report import write_report

from .conftest import CPU_SAMPLE, GPU_SAMPLE


def test_a_two_device_report_has_every_table_and_its_sources(tmp_path):
    written = write_report([CPU_SAMPLE, GPU_SAMPLE], tmp_path / "out")
    markdown = written["markdown"].read_text()
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Table 4: full model (F + G x3), one 1x3x256x256 image",
        "## Table 4: full model (F + G x3), one 1x3x720x1280 image",
        "## Table 5: runtime next to other methods (quoted from the paper)",
        "## Table 3: model sizes, measured from the files",
        "## Peers: speed-up over plain libraries with default options, same run",
        "## Chart",
        "## All results (ms)",
    ]
    assert f"- `{CPU_SAMPLE.name}`: AMD EPYC (2 cores)," in markdown
    assert f"- `{GPU_SAMPLE.name}`: NVIDIA H100 80GB HBM3 (made-up sample), 2026-11-24, 15 results" in markdown
    assert "![latency per device and path](latency.png)" in markdown
    assert "quick mode" not in markdown  # neither file is from quick mode
    assert "results. Made-up numbers for the report tests; not a measurement." in markdown


def test_gpu_rows_are_marked_not_measured_until_a_gpu_file_is_given(tmp_path):
    cpu_only = write_report([CPU_SAMPLE], tmp_path / "cpu")["markdown"].read_text()
    assert "- GPU (TensorRT, PyTorch on CUDA): not measured; `benchmarks/gpu_torch.py`" in cpu_only
    both = write_report([CPU_SAMPLE, GPU_SAMPLE], tmp_path / "both")["markdown"].read_text()
    assert "not measured" not in both
