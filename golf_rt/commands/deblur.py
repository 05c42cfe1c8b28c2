"""`golf-rt deblur`: image files and folders into a folder, with progress, a timing summary and per-file failures.

In this process by default, or on a Ray cluster with `--ray` (`golf_rt.deblur.ray`); both run the
one plan of `golf_rt.deblur.folder.plan_folder`, which keeps the results already in place unless
`--overwrite`.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from golf_rt.catalog import backend_help, precision_help
from golf_rt.contract import CPU_TILE_SIZE, DEFAULT_ITERATIONS, TILE_SIZE

if TYPE_CHECKING:
    from golf_rt.deblur.folder import FolderPlan, RunSummary


def deblur(
    inputs: list[Path] = typer.Argument(..., help="Image files or folders (png, jpg, bmp, tiff, webp)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the results; names and subfolders are kept."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also deblur the images in subfolders."),
    backend: str = typer.Option("auto", help=f"{backend_help()}."),
    precision: str = typer.Option(
        "auto",
        help=f"{precision_help()}; with --backend auto, one the fastest backend lacks is run by the next that has it.",
    ),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint; default: the shipped one."),
    quality: int | None = typer.Option(
        None, min=1, max=100, help="JPEG and WebP quality of the results; default: the quality of each input."
    ),
    workers: int = typer.Option(
        2, min=1, help="Threads that read and write images while the model runs (in each worker, with --ray)."
    ),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>_compare.png: input | output."),
    tile: int | None = typer.Option(
        None,
        min=0,
        help=f"Tile side in pixels for images larger than one tile; 0: every image whole. Default: "
        f"{CPU_TILE_SIZE} on CPU backends, {TILE_SIZE} for GPU engines.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Deblur again the images whose results are already in the output folder."
    ),
    ray: str | None = typer.Option(
        None,
        "--ray",
        metavar="ADDRESS",
        help="Run on Ray Data workers: 'local' starts a Ray cluster on this machine; else a Ray address "
        "(ray://host:10001, auto). Inputs and output must be on a file system every node sees.",
    ),
    ray_workers: int = typer.Option(2, min=1, help="With --ray: workers, each with its own model (1 CPU each)."),
    batch_size: int = typer.Option(16, min=1, help="With --ray: files per batch sent to a worker."),
    gpus_per_worker: float = typer.Option(0.0, min=0.0, help="With --ray: GPUs each worker reserves."),
) -> None:
    """Deblur images into a folder; a file that fails is named at the end and the others still run (exit 1)."""
    from golf_rt.deblur.folder import plan_folder
    from golf_rt.deblur.ray import WorkerSettings

    plan = plan_folder(inputs, output, recursive=recursive, compare=compare, overwrite=overwrite)
    if plan.unsearched:
        unsearched = plan.unsearched
        names = ", ".join(str(folder) for folder in unsearched[:3]) + (", ..." if len(unsearched) > 3 else "")
        typer.echo(
            f"note: {len(unsearched)} subfolders not searched ({names}); add --recursive to include them", err=True
        )
    plan.prepare_output()
    jobs = plan.jobs
    if not jobs:
        typer.echo(
            f"nothing to do: all {len(plan.kept)} results are already in {output} (--overwrite deblurs them again)"
        )
        return
    if ray is None:
        summary, engine = _deblur_here(jobs, backend, precision, iterations, checkpoint, tile, workers, quality)
    else:
        summary, engine = _deblur_on_ray(
            plan, ray, ray_workers, batch_size, gpus_per_worker,
            WorkerSettings(backend, precision, iterations, checkpoint, tile, quality, workers),
        )  # fmt: skip
    summary.kept.extend(job.target for job in plan.kept)
    typer.echo(f"{summary.timing()} with {engine} -> {output}")
    if summary.kept:
        typer.echo(f"kept {len(summary.kept)} results already in {output} (--overwrite deblurs them again)")
    if plan.skipped:
        typer.echo(f"skipped {len(plan.skipped)} files in the input folders:")
        for source, reason in plan.skipped:
            typer.echo(f"  {source}: {reason}")
    if summary.interrupted:
        typer.echo(f"interrupted: {len(jobs) - len(summary.written)} images not written; every file written is whole")
        raise typer.Exit(130)
    if summary.failed:
        typer.echo(f"error: {len(summary.failed)} of {len(jobs)} images failed:", err=True)
        for source, reason in summary.failed:
            typer.echo(f"  {source}: {reason.removeprefix(f'{source}: ')}", err=True)
        raise typer.Exit(1)


def _deblur_here(jobs, backend, precision, iterations, checkpoint, tile, workers, quality) -> tuple[RunSummary, str]:
    """The run in this process: one model, reading and writing overlapped; the summary and what ran it."""
    from tqdm import tqdm

    from golf_rt.deblur.deblurrer import Deblurrer
    from golf_rt.deblur.folder import deblur_files

    deblurrer = Deblurrer(backend, precision=precision, iterations=iterations, checkpoint=checkpoint, tile=tile)
    why = _not_the_fastest(backend, precision, deblurrer.backend)
    if why:
        typer.echo(f"note: deblurring with {deblurrer.backend} {deblurrer.precision}: {why}", err=True)
    # on a terminal the bars redraw in place; in a log (not a terminal) the tiles say every 10 s how a
    # large photo is going, where the image bar alone would read 0/1 for minutes
    interval = 0.1 if sys.stderr.isatty() else 10.0
    with deblurrer, tqdm(total=len(jobs), desc="deblurring", unit="image", mininterval=interval) as progress:
        with tqdm(desc="tiles", unit="tile", leave=False, position=1, mininterval=interval) as tiles:

            def tile_progress(done: int, total: int) -> None:
                if tiles.total != total:
                    tiles.reset(total)
                tiles.update(done - tiles.n)

            deblur_one = functools.partial(deblurrer.deblur_photo, progress=tile_progress)
            summary = deblur_files(deblur_one, jobs, workers, quality, on_done=progress.update)
    return summary, f"{deblurrer.backend} {deblurrer.precision}"


def _deblur_on_ray(plan: FolderPlan, address, workers, batch_size, gpus_per_worker, settings) -> tuple[RunSummary, str]:
    """The run on Ray workers, with progress as their results come back; the summary and what ran it."""
    from tqdm import tqdm

    from golf_rt.deblur.ray import FileResult, deblur_files_on_ray

    engines: set[str] = set()
    started, arrivals = time.perf_counter(), []

    def done(result: FileResult) -> None:
        engines.add(result.engine)
        arrivals.append(time.perf_counter())
        progress.update()

    with tqdm(total=len(plan.jobs), desc="deblurring on Ray", unit="image") as progress:
        summary = deblur_files_on_ray(plan, address, workers, settings, batch_size, gpus_per_worker, on_result=done)
    rate = steady_rate(arrivals, batch_size)
    if rate is not None:
        typer.echo(
            f"note: first results after {arrivals[0] - started:.1f} s (Ray and the workers' models starting), then "
            f"{rate:.3g} images/s",
            err=True,
        )
    return summary, f"{workers} Ray workers ({', '.join(sorted(engines)) or 'none started'}) at {address}"


def steady_rate(arrivals: list[float], batch_size: int) -> float | None:
    """Images per second once the first batch is back (results come a batch at a time), from their arrival times."""
    if len(arrivals) <= batch_size or arrivals[-1] <= arrivals[batch_size - 1]:
        return None
    return (len(arrivals) - batch_size) / (arrivals[-1] - arrivals[batch_size - 1])


def _not_the_fastest(backend: str, precision: str, chosen: str) -> str | None:
    """Why `--backend auto` took `chosen` rather than the fastest backend here (it lacks `precision`), or None."""
    from golf_rt.backends import available_backends
    from golf_rt.deblur.deblurrer import auto_order

    here = available_backends()
    fastest = next((name for name in auto_order() if name in here), chosen)
    if backend != "auto" or precision == "auto" or fastest == chosen or precision in here[fastest]:
        return None
    return f"{fastest}, the fastest backend here, does not run {precision} (it runs {'/'.join(here[fastest])})"


def register(app: typer.Typer) -> None:
    """Add `deblur` to the `golf-rt` app."""
    app.command()(deblur)
