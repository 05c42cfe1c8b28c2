"""PNG charts: full-model latency per device and path, and a served configuration sweep's throughput.

`latency_chart`: one panel per image size, log-scaled ms. `throughput_latency_chart`: throughput
against p95 latency per configuration, the budget and the chosen point (`golf-rt tune`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from golf_rt.machine.environment import installed
from golf_rt.report.results import Result

logger = logging.getLogger(__name__)


def latency_chart(results: Sequence[Result], path: str | Path) -> Path | None:
    """Bars of the mean with min-max whiskers, grouped by device; None with nothing to draw or no matplotlib."""
    fused = [r for r in results if r.part == "fused"]
    sizes = sorted({r.size for r in fused}, key=lambda s: [int(v) for v in s.split("x")])
    if not sizes:
        return None
    pyplot = _pyplot()
    if pyplot is None:
        return None
    devices = sorted({r.device for r in fused})
    colours = {device: pyplot.get_cmap("tab10")(i % 10) for i, device in enumerate(devices)}
    heights = [len([r for r in fused if r.size == size]) for size in sizes]
    figure, axes = pyplot.subplots(
        len(sizes),
        1,
        figsize=(10, 1.2 + 0.32 * sum(heights) + 0.8 * len(sizes)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for axis, size in zip(axes[:, 0], sizes):
        chosen = sorted((r for r in fused if r.size == size), key=lambda r: (r.device, -r.ms["mean"]))
        means = [r.ms["mean"] for r in chosen]
        errors = [[r.ms["mean"] - r.ms["min"] for r in chosen], [r.ms["max"] - r.ms["mean"] for r in chosen]]
        axis.barh(range(len(chosen)), means, xerr=errors, color=[colours[r.device] for r in chosen], capsize=2)
        axis.set_yticks(range(len(chosen)), [f"{r.label} [{r.device}]" for r in chosen], fontsize=7)
        axis.set_xscale("log")
        axis.set_xlabel("ms per image (mean; whiskers: min-max)")
        axis.set_title(f"F + G x3 at 1x3x{size}", fontsize=9)
        for y, mean in enumerate(means):
            axis.annotate(f" {mean:.1f}", (mean, y), va="center", fontsize=6)
    return _save(pyplot, figure, path)


def _pyplot():
    """Pyplot on the file-only Agg backend, or None (with a warning) where it is not installed."""
    if not installed("matplotlib"):
        logger.warning('matplotlib is not installed, so no chart: pip install matplotlib (the "report" extra)')
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _save(pyplot, figure, path: str | Path) -> Path:
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path


def throughput_latency_chart(
    lines: Mapping[str, Sequence[tuple[float, float, int]]],
    path: str | Path,
    *,
    budget_ms: float,
    chosen: tuple[str, float, float] | None = None,
    title: str = "",
) -> Path | None:
    """Throughput against p95 latency, one line per configuration across its concurrency levels.

    As Model Analyzer's summary: `lines` maps a label to (p95 ms, inferences/s, concurrency) points; the budget is a
    vertical line and `chosen` (label, p95 ms, inferences/s) a star. None without matplotlib.
    """
    pyplot = _pyplot()
    if pyplot is None:
        return None
    figure, axis = pyplot.subplots(figsize=(9, 5.5))
    for i, (label, points) in enumerate(lines.items()):
        ordered = sorted(points, key=lambda point: point[2])
        colour = pyplot.get_cmap("tab10")(i % 10)
        axis.plot([p[0] for p in ordered], [p[1] for p in ordered], "o-", color=colour, label=label, markersize=4)
        for p95, rate, concurrency in ordered:
            axis.annotate(f"c{concurrency}", (p95, rate), textcoords="offset points", xytext=(3, 3), fontsize=6)
    axis.axvline(budget_ms, color="red", linestyle="--", linewidth=1, label=f"budget: p95 {budget_ms:g} ms")
    if chosen is not None:
        label, p95, rate = chosen
        axis.plot([p95], [rate], "*", color="gold", markeredgecolor="black", markersize=18, label=f"chosen: {label}")
    axis.set_xlabel("p95 latency (ms)")
    axis.set_ylabel("throughput (inferences/s)")
    highest = max((p[1] for points in lines.values() for p in points), default=1.0)
    axis.set_ylim(0, highest * 1.15)  # room above the top point for its star and label
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    if title:
        axis.set_title(title, fontsize=9)
    return _save(pyplot, figure, path)
