from PIL import Image

from golf_rt.report import report_markdown, write_report
from golf_rt.report.chart import latency_chart
from golf_rt.report.results import load_result_files

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
    assert "not a measurement" not in markdown  # neither file is from quick mode


def test_the_chart_is_a_png_with_one_panel_per_size(tmp_path):
    results = [r for f in load_result_files([CPU_SAMPLE, GPU_SAMPLE]) for r in f.results]
    path = latency_chart(results, tmp_path / "latency.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 1200 and image.height > 600


def test_no_full_model_result_means_no_chart(tmp_path):
    files = load_result_files([GPU_SAMPLE])
    parts_only = [r for r in files[0].results if r.part != "fused"]
    assert latency_chart(parts_only, tmp_path / "latency.png") is None
    assert not (tmp_path / "latency.png").exists()
    assert "## Chart" not in report_markdown(files, None)
