"""A PNG chart of full-model latency per device and path: one panel per image size, log-scaled ms."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    if not installed("matplotlib"):
        logger.warning('matplotlib is not installed, so no chart: pip install matplotlib (the "report" extra)')
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

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
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path
