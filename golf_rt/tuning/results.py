"""What a sweep leaves in its output folder: `tune.json`, `tune.png`, `best/`, and the summary paragraph.

`best/` is the measured repository of the chosen configuration, copied as it was served, so that
`golf-rt serve --repository DIR/best` serves exactly what met the budget. With no point within
the budget there is no `best/` (one left by an earlier sweep is removed); the JSON and the chart
are written all the same.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from golf_rt.machine.atomic_files import write_bytes_atomically
from golf_rt.report.chart import throughput_latency_chart
from golf_rt.tuning.choice import TIE_FRACTION, Point, lowest_p95
from golf_rt.tuning.sweep import SweepResult

logger = logging.getLogger(__name__)

JSON_NAME, CHART_NAME, BEST_NAME = "tune.json", "tune.png", "best"


def served_precision(repository: Path) -> str | None:
    """The precision the repository's Python-backend models run (the writer resolves "auto"), or None."""
    from golf_rt.triton.config import PythonModelConfig
    from golf_rt.triton.parser import read_config

    for folder in sorted(p for p in repository.iterdir() if (p / "config.pbtxt").is_file()):
        config = read_config(folder)
        if isinstance(config, PythonModelConfig):
            return dict(config.parameters).get("precision")
    return None


def report_record(result: SweepResult) -> dict:
    """Everything `tune.json` holds: settings, machine, every point, the choice and what was left out."""
    spec = result.spec
    first = next(iter(result.repositories.values()), None)
    return {
        "budget_ms": spec.budget_ms,
        "rule": f"highest throughput with p95 <= budget and no failed request; within {TIE_FRACTION:.0%} a tie, "
        "which goes to fewer instances, then lower p95",
        "settings": {
            "size": spec.size,
            "concurrency": list(spec.concurrency),
            "requests": spec.requests,
            "minutes": spec.minutes,
            "protocol": spec.protocol,
            "candidates": [c.name for c in spec.candidates],
        },  # fmt: skip
        "repository": {
            "target": spec.target,
            "runtime": spec.repository.runtime,
            "iterations": spec.repository.iterations,
            "precision": served_precision(first) if first is not None and first.is_dir() else None,
        },  # fmt: skip
        "machine": result.machine,
        "points": [p.record() for p in result.points],
        "chosen": result.chosen.record() if result.chosen else None,
        "best_repository": BEST_NAME if result.chosen else None,
        "stopped": result.stopped,
        "skipped": [{"config": name, "concurrency": level} for name, level in result.skipped],
        "elapsed_s": result.elapsed_s,
    }


def write_results(result: SweepResult, output: Path) -> dict[str, Path]:
    """Write tune.json, tune.png and (with a chosen point) best/ into `output`; their paths by name."""
    output.mkdir(parents=True, exist_ok=True)
    record = report_record(result)  # before best/: it reads the candidates' repositories
    written = {"json": write_bytes_atomically(output / JSON_NAME, (json.dumps(record, indent=1) + "\n").encode())}
    lines: dict[str, list[tuple[float, float, int]]] = {}
    for p in result.points:
        if p.ok:
            lines.setdefault(p.candidate.name, []).append((p.p95_ms, p.throughput_per_s, p.concurrency))
    chosen = result.chosen
    machine = result.machine
    title = (
        f"golf-rt tune: {result.spec.size}x{result.spec.size}, {result.spec.protocol}, "
        f"{machine.get('cpu')} ({machine.get('cores')} cores), {str(machine.get('date', ''))[:10]}"
    )
    chart = throughput_latency_chart(
        lines, output / CHART_NAME, budget_ms=result.spec.budget_ms, title=title,
        chosen=(f"{chosen.candidate.name} c{chosen.concurrency}", chosen.p95_ms, chosen.throughput_per_s)
        if chosen else None,
    )  # fmt: skip
    if chart is not None:
        written["chart"] = chart
    best = output / BEST_NAME
    if chosen is not None:
        written["best"] = _replace_folder(result.repositories[chosen.candidate.name], best)
    elif best.exists():
        logger.warning("removed %s, left by an earlier sweep: no configuration met this budget", best)
        shutil.rmtree(best)
    return written


def _replace_folder(source: Path, destination: Path) -> Path:
    """Copy `source` to `destination` whole: a staging copy beside it, then renamed over the old one."""
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    old = destination.with_name(f".{destination.name}-old-{os.getpid()}")
    if destination.exists():
        os.replace(destination, old)
    os.replace(staging, destination)
    shutil.rmtree(old, ignore_errors=True)
    return destination


def describe(point: Point) -> str:
    """A configuration in words: `fused layout, 2 instances x 1 thread, no queue delay`."""
    c = point.candidate
    threads = "all cores" if c.threads == 0 else f"{c.threads} thread{'s' * (c.threads > 1)}"
    delay = f"{c.max_queue_delay_us} us queue delay" if c.max_queue_delay_us else "no queue delay"
    return f"{c.layout} layout, {c.instances} instance{'s' * (c.instances > 1)} x {threads}, {delay}"


def summary(result: SweepResult, output: Path) -> str:
    """One paragraph: the choice (or the lowest p95 seen), the fastest point, what was measured where."""
    spec, machine = result.spec, result.machine
    measured = [p for p in result.points if p.ok]
    where = (
        f"{len(measured)} of {spec.points} points measured over {spec.protocol} at {spec.size}x{spec.size} in "
        f"{result.elapsed_s:.0f} s on {machine['cpu']} ({machine['cores']} cores), {machine['date'][:10]}"
    )
    if result.stopped:
        where += f" ({len(result.skipped)} left out by the {spec.minutes:g}-minute bound)"
    chosen = result.chosen
    if chosen is None:
        best = lowest_p95(result.points)
        seen = (
            f"the lowest p95 seen was {best.p95_ms:.1f} ms ({best.candidate.name} at concurrency {best.concurrency})"
            if best else "no point was measured without an error"
        )  # fmt: skip
        return (
            f"No configuration kept p95 within {spec.budget_ms:g} ms: {seen}; {where}. Raise --budget-ms or "
            f"measure a smaller --size. Points: {output / JSON_NAME}, chart: {output / CHART_NAME}."
        )
    fastest = max(measured, key=lambda p: p.throughput_per_s)
    beyond = (
        f" The fastest point overall, {fastest.candidate.name} at concurrency {fastest.concurrency}, gave "
        f"{fastest.throughput_per_s:.2f} infer/s at p95 {fastest.p95_ms:.1f} ms."
        if fastest is not chosen else ""
    )  # fmt: skip
    return (
        f"Chosen: {chosen.candidate.name} ({describe(chosen)}): {chosen.throughput_per_s:.2f} infer/s with up to "
        f"{chosen.concurrency} request{'s' * (chosen.concurrency > 1)} in flight, p95 {chosen.p95_ms:.1f} ms "
        f"(p50 {chosen.p50_ms:.1f}, p99 {chosen.p99_ms:.1f}) within the {spec.budget_ms:g} ms budget; {where}."
        f"{beyond} Serve it with: golf-rt serve --repository {output / BEST_NAME}"
    )
