from PIL import Image

from golf_rt.report import report_markdown
from golf_rt.report.chart import latency_chart
from golf_rt.report.results import load_result_files

from .conftest import CPU_SAMPLE, GPU_SAMPLE


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
