"""`golf-rt tune`: a thin wrapper over golf_rt.tuning (sweep serving configurations, choose one under a p95 budget)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from golf_rt.catalog import TRITON_RUNTIMES
from golf_rt.errors import ConfigurationError


def _levels(text: str, what: str) -> tuple[int, ...]:
    """`1,2,4` as (1, 2, 4); ConfigurationError naming the option for anything but whole numbers."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError(f"--{what} takes whole numbers joined by commas, e.g. 1,2,4; got {text!r}") from None
    if not values:
        raise ConfigurationError(f"--{what} needs at least one value")
    return values


def tune(
    budget_ms: float = typer.Option(..., help="p95 latency budget in ms: the chosen point must keep it."),
    size: int = typer.Option(256, help="Side of the square test image."),
    concurrency: str = typer.Option("1,2,4", help="Requests in flight, one measured point per level."),
    minutes: float = typer.Option(10.0, help="Bound on the whole sweep: no point starts that would end past it."),
    output: Path = typer.Option(Path("tune"), help="Folder for tune.json, tune.png, best/ and the server logs."),
    protocol: str = typer.Option("grpc", help="grpc or http."),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Only the fused layout without queue delay (2 configurations); a given --layouts or --delays-us wins.",
    ),
    layouts: str | None = typer.Option(None, help=r"Layouts to try: fused and/or ensemble \[fused,ensemble]."),
    instances: str | None = typer.Option(
        None, help=r"Triton instances per model to try; threads = cores / instances \[1,2]."
    ),
    delays_us: str | None = typer.Option(None, help=r"Dynamic batching queue delays to try, in us \[0,2000]."),
    requests: int = typer.Option(30, help="perf_analyzer requests per point (at least 2 x the concurrency)."),
    runtime: str = typer.Option(TRITON_RUNTIMES[0], help=f"CPU runtime inside Triton: {' or '.join(TRITON_RUNTIMES)}."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (default: the shipped model)."),
    models: Path | None = typer.Option(None, help="Folder of ONNX files to serve instead (precision fp32)."),
    target: str = typer.Option("cpu", help="cpu; gpu is refused here (tritonserver from pip has no TensorRT)."),
) -> None:
    """Sweep serving configurations with perf_analyzer and keep the fastest within a p95 latency budget."""
    from tqdm import tqdm

    from golf_rt.machine.atomic_files import writable_folder
    from golf_rt.machine.environment import cpu_cores
    from golf_rt.triton.repository import RepositorySpec
    from golf_rt.tuning import TuneSpec, candidate_grid, tune
    from golf_rt.tuning.candidates import QUICK_DELAYS_US, QUICK_LAYOUTS
    from golf_rt.tuning.results import summary

    knobs = {"layouts": QUICK_LAYOUTS, "delays_us": QUICK_DELAYS_US} if quick else {}
    if layouts is not None:
        knobs["layouts"] = tuple(part.strip() for part in layouts.split(",") if part.strip())
    if instances is not None:
        knobs["instances"] = _levels(instances, "instances")
    if delays_us is not None:
        knobs["delays_us"] = _levels(delays_us, "delays-us")
    grid = candidate_grid(**knobs, cores=cpu_cores())
    spec = TuneSpec(
        budget_ms=budget_ms, candidates=grid, size=size, concurrency=_levels(concurrency, "concurrency"),
        requests=requests, minutes=minutes, protocol=protocol, target=target,
        repository=RepositorySpec(runtime=runtime), checkpoint=checkpoint, models=models,
    )  # fmt: skip
    writable_folder(output)
    typer.echo(
        f"sweeping {len(grid)} configurations x {len(spec.concurrency)} concurrency levels over {protocol} at "
        f"{size}x{size}, at most {minutes:g} minutes: {', '.join(c.name for c in grid)}"
    )
    interval = 0.1 if sys.stderr.isatty() else 10.0
    with tqdm(total=spec.points, desc="tuning", unit="point", mininterval=interval) as progress:

        def done(point) -> None:
            measured = f"{point.throughput_per_s:.2f}/s p95 {point.p95_ms:.0f} ms" if point.ok else "failed"
            progress.set_postfix_str(f"{point.candidate.name} c{point.concurrency}: {measured}")
            progress.update()

        result, written = tune(spec, output, on_point=done)
    if result.stopped:
        typer.echo(f"note: {result.stopped}", err=True)
    for point in result.points:
        if point.error:
            typer.echo(f"note: {point.candidate.name} at concurrency {point.concurrency}: {point.error}", err=True)
    typer.echo(f"wrote {', '.join(str(path) for path in written.values())}")
    text = summary(result, output)
    if result.chosen is None:
        typer.echo(f"error: {text}", err=True)
        raise typer.Exit(1)
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add `tune` to the `golf-rt` app."""
    app.command()(tune)
