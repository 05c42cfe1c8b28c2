"""Markdown tables in the paper's format, from results of one or several machines.

Table 4: max/min/mean ms of the full model per device and path; Table 5: our times next to the
runtimes the paper quotes for other methods (labelled as quoted); Table 3: model sizes from the
files; peers: speed-ups over plain libraries with default options, and achieved GFLOP/s with
the fraction of the CPU's peak at the path's precision (`golf_rt.machine.environment.cpu_peak_gflops`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from golf_rt.catalog import PEERS
from golf_rt.contract import F_FILTERS, G_FILTERS
from golf_rt.model.facts import PAPER, gflop
from golf_rt.report.results import Result, ResultFile, device_year
from golf_rt.report.sizes import MIB

"""The peers' backends and column names: plain libraries with default options, run in the same session."""


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table; numbers right-aligned."""
    rows = [[str(cell) for cell in row] for row in rows]
    align = ["---:" if rows and all(_numeric(row[i]) for row in rows) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _numeric(cell: str) -> bool:
    return cell.replace(".", "", 1).replace(",", "").replace("-", "", 1).replace("x", "", 1).isdigit() or cell == "-"


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def duration(milliseconds: float) -> str:
    """16.94 ms, 0.85 s: the unit the paper uses for that magnitude."""
    return f"{milliseconds:.2f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f} s"


def model_gflop(result: Result) -> float:
    """FLOPs of one call of the measured part on the measured batch, in GFLOP."""
    batch, height, width = result.shape[0], result.shape[-2], result.shape[-1]
    per_image = {
        "fused": gflop(F_FILTERS, height, width) + result.iterations * gflop(G_FILTERS, height, width),
        "f": gflop(F_FILTERS, height, width),
        "g": result.iterations * gflop(G_FILTERS, height, width),
    }
    return batch * per_image[result.part]


def _label(result: Result) -> str:
    return f"{result.label} *" if result.quick else result.label


def _quick_note(results: Iterable[Result]) -> str:
    if any(r.quick for r in results):
        return "\n\\* quick mode: one round without warm-up: it proves the path runs; it is not a measurement.\n"
    return ""


def full_model(results: Iterable[Result], size: str) -> list[Result]:
    return [r for r in results if r.part == "fused" and r.size == size]


def table4(results: Sequence[Result], size: str = "256x256") -> str:
    """Paper Table 4: device, year, max/min/mean ms of F + G x3 on one image, per path; paper rows quoted."""
    chosen = sorted(full_model(results, size), key=lambda r: (r.machine, r.device, r.ms["mean"]))
    rows = [
        [
            r.device,
            device_year(r.device) or "-",
            _label(r),
            r.route,
            ms(r.ms["max"]),
            ms(r.ms["min"]),
            ms(r.ms["mean"]),
            ms(r.ms["p95"]),
            r.rounds,
        ]
        for r in chosen
    ]
    if size == "256x256":
        for device, (high, low, mean) in PAPER["ms_256"].items():
            rows.append(
                [
                    device,
                    device_year(device),
                    "PyTorch (paper, quoted)",
                    "-",
                    *(f"{value:.2f}" for value in (high, low, mean)),
                    "-",
                    "-",
                ]
            )
    header = ["Device", "Year", "Path", "Route", "Max (ms)", "Min (ms)", "Mean (ms)", "p95 (ms)", "Rounds"]
    return markdown_table(header, rows) + _quick_note(chosen)


def table5(results: Sequence[Result], size: str = "256x256") -> str:
    """Paper Table 5: one image; other methods' runtimes as the paper quotes them (256 x 256), ours as measured."""
    quoted = "256 x 256"
    rows = [
        [f"{name} (quoted)", quoted, f"{seconds:.2f} s", "as reported in the paper", "paper, Table 5"]
        for name, seconds in PAPER["other_methods_s_256"].items()
    ]
    means = [mean for _, _, mean in PAPER["ms_256"].values()]
    rows.append(
        [
            "Golf Optimizer, paper (quoted)",
            quoted,
            f"{min(means):.2f}-{max(means):.2f} ms",
            "GTX 1080 Ti - GT 750M",
            "paper, Table 4",
        ]
    )
    chosen = full_model(results, size)
    for device in sorted({r.device for r in chosen}):
        on_device = [r for r in chosen if r.device == device]
        best = min(on_device, key=lambda r: r.ms["mean"])
        picks = [best] + [r for r in on_device if r.route == "peer" and r.backend == "torch" and r is not best]
        for r in picks:
            rows.append(
                [
                    f"golf-rt: {_label(r)}",
                    size.replace("x", " x "),
                    duration(r.ms["mean"]),
                    device,
                    f"measured ({r.source})",
                ]
            )
    header = ["Method", "Image", "Time", "Hardware", "Source"]
    return markdown_table(header, rows) + _quick_note(chosen)


def table3(files: Sequence[ResultFile]) -> str:
    """Paper Table 3: sizes measured from the files, in MB of 2^20 bytes (the paper's unit), next to the paper's."""
    paper = PAPER["size_mb"]
    rows: list[list[object]] = []
    checkpoints = {(c["file"], c["bytes"]): c for c in (f.checkpoint for f in files) if c}
    for c in checkpoints.values():
        rows += [
            ["F weights", f"checkpoint {c['file']}", f"{c['F_bytes'] / MIB:.2f}", paper["F"]],
            ["G weights", f"checkpoint {c['file']}", f"{c['G_bytes'] / MIB:.2f}", paper["G"]],
            ["checkpoint file", c["file"], f"{c['bytes'] / MIB:.2f}", paper["total"]],
        ]
    seen: dict[tuple, Result] = {}
    for r in (r for f in files for r in f.results):
        if r.model_file and r.model_bytes:
            engine = r.model_file.endswith(".plan")
            seen.setdefault((r.model_file, r.model_bytes, r.device if engine else ""), r)
    for (name, size, device), r in sorted(seen.items()):
        kind = f"TensorRT engine, {r.precision}, {device}" if device else f"ONNX, {r.precision}"
        rows.append([name, kind, f"{size / MIB:.2f}", "-"])
    return markdown_table(["Model", "File", "Size (MB)", "Paper (MB)"], rows)


def _peer_means(results: Sequence[Result]) -> dict[tuple, float]:
    return {(r.source, r.device, r.size, r.backend): r.ms["mean"] for r in results if r.route == "peer"}


def peers_table(results: Sequence[Result]) -> str:
    """Each full-model path's mean, achieved GFLOP/s and speed-up over each peer on the same device, same run."""
    fused = sorted((r for r in results if r.part == "fused"), key=lambda r: (r.device, r.shape, r.ms["mean"]))
    peers = _peer_means(fused)
    rows = []
    for r in fused:
        ratios = []
        for backend, _ in PEERS:
            peer = peers.get((r.source, r.device, r.size, backend))
            ratios.append(f"{peer / r.ms['mean']:.2f}x" if peer else "-")
        achieved = model_gflop(r) / r.ms["mean"] * 1000
        peak = r.peak()
        of_peak = f"{100 * achieved / peak:.0f}" if peak else "-"
        rows.append([r.device, r.size, _label(r), ms(r.ms["mean"]), f"{achieved:.1f}", of_peak, *ratios])
    header = ["Device", "Size", "Path", "Mean (ms)", "GFLOP/s", "% of peak", *(f"x {name}" for _, name in PEERS)]
    return markdown_table(header, rows) + _quick_note(fused)


def all_results_table(results: Sequence[Result]) -> str:
    """Every result with pytest-benchmark's statistics and the p95: F alone and one G step included."""
    chosen = sorted(results, key=lambda r: (r.machine, r.device, r.part, r.shape, r.ms["mean"]))
    rows = [
        [
            r.device,
            _label(r),
            r.route,
            r.part,
            r.size,
            *(ms(r.ms[k]) for k in ("min", "max", "mean", "median")),
            ms(r.ms["stddev"]),
            ms(r.ms["p95"]),
            r.rounds,
            f"{model_gflop(r):.1f}",
        ]
        for r in chosen
    ]
    header = [
        "Device",
        "Path",
        "Route",
        "Part",
        "Size",
        "Min",
        "Max",
        "Mean",
        "Median",
        "Stddev",
        "p95",
        "Rounds",
        "GFLOP",
    ]
    return markdown_table(header, rows) + _quick_note(chosen)
