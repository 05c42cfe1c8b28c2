"""Benchmark results of one or several machines as the paper's tables and a latency chart.

`write_report(["cpu.json", "gpu.json"], "report")` writes `report/report.md` and `report/latency.png`
from pytest-benchmark JSON files made by `pytest benchmarks --benchmark-json FILE`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from golf_rt.catalog import GPU_ONLY
from golf_rt.report.chart import latency_chart
from golf_rt.report.results import Result, ResultFile, load_result_files
from golf_rt.report.tables import all_results_table, peers_table, table3, table4, table5

logger = logging.getLogger(__name__)

__all__ = ["Result", "ResultFile", "load_result_files", "report_markdown", "write_report"]


def _sizes(results: list[Result]) -> list[str]:
    sizes = {r.size for r in results if r.part == "fused"}
    return sorted(sizes, key=lambda s: (s != "256x256", [int(v) for v in s.split("x")]))


def on_gpu(result: Result) -> bool:
    """Whether a result ran on a GPU: TensorRT, or a path labelled cuda (PyTorch on CUDA)."""
    return result.backend in GPU_ONLY or " cuda " in f"{result.label} "


def report_markdown(files: list[ResultFile], chart_name: str | None = None) -> str:
    """The whole report as Markdown: sources, Tables 4, 5, 3, peers, every result."""
    results = [r for f in files for r in f.results]
    lines = ["# golf-rt benchmark report", "", "Sources:", ""]
    for f in files:
        quick = " (quick mode: not measurements)" if any(r.quick for r in f.results) else ""
        note = f". {f.note}" if f.note else ""
        lines.append(f"- `{f.path.name}`: {f.machine}, {f.date or 'undated'}, {len(f.results)} results{quick}{note}")
    if not any(on_gpu(r) for r in results):
        lines.append("- GPU (TensorRT, PyTorch on CUDA): not measured; `benchmarks/gpu_torch.py` on a GPU makes a file")
    sections = [("\n".join(lines) + "\n", "")]
    for size in _sizes(results):
        title = f"Table 4: full model (F + G x3), one 1x3x{size} image"
        sections.append((table4(results, size), title))
    sizes = _sizes(results)
    table5_size = "256x256" if "256x256" in sizes else (sizes[0] if sizes else "256x256")
    sections.append((table5(results, table5_size), "Table 5: runtime next to other methods (quoted from the paper)"))
    sections.append((table3(files), "Table 3: model sizes, measured from the files"))
    sections.append((peers_table(results), "Peers: speed-up over plain libraries with default options, same run"))
    if chart_name:
        sections.append((f"![latency per device and path]({chart_name})\n", "Chart"))
    sections.append((all_results_table(results), "All results (ms)"))
    return "\n".join(f"## {title}\n\n{body}" if title else body for body, title in sections)


def write_report(paths: list[str | Path], output: str | Path) -> dict[str, Path]:
    """Write report.md and latency.png into `output`; returns their paths by kind."""
    files = load_result_files(paths)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    results = [r for f in files for r in f.results]
    chart = latency_chart(results, output / "latency.png")
    if chart is not None:
        written["chart"] = chart
    markdown = output / "report.md"
    markdown.write_text(report_markdown(files, "latency.png" if "chart" in written else None))
    written["markdown"] = markdown
    logger.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written
