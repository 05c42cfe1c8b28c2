"""`golf-rt deblur`: image files and folders into a folder, with progress, a timing summary and per-file failures."""

from __future__ import annotations

from pathlib import Path

import typer

from golf_rt.backend_catalog import backend_help, precision_help
from golf_rt.contract import DEFAULT_ITERATIONS, TILE_SIZE


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
    workers: int = typer.Option(2, min=1, help="Threads that read and write images while the model runs."),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>_compare.png: input | output."),
    tile: int = typer.Option(
        TILE_SIZE, min=0, help="Tile side in pixels for images larger than one tile; 0: every image whole."
    ),
) -> None:
    """Deblur images into a folder; a file that fails is named at the end and the others still run (exit 1)."""
    from tqdm import tqdm

    from golf_rt.deblur_files import deblur_files, plan_jobs, prepare_output, skipped_files
    from golf_rt.deblurrer import Deblurrer
    from golf_rt.image_files import subfolders

    jobs = plan_jobs(inputs, output, recursive, compare)
    left_out = skipped_files(inputs, output, recursive)
    if not recursive:
        skipped = [folder for folder in subfolders(inputs) if folder.resolve() != output.resolve()]
        if skipped:
            names = ", ".join(str(folder) for folder in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
            typer.echo(
                f"note: {len(skipped)} subfolders not searched ({names}); add --recursive to include them", err=True
            )
    prepare_output(output, jobs)
    deblurrer = Deblurrer(backend, precision, iterations, checkpoint, tile=tile)
    why = _not_the_fastest(backend, precision, deblurrer.backend)
    if why:
        typer.echo(f"note: deblurring with {deblurrer.backend} {deblurrer.precision}: {why}", err=True)
    with deblurrer, tqdm(total=len(jobs), desc="deblurring", unit="image") as progress:
        with tqdm(desc="tiles", unit="tile", leave=False, position=1, disable=None) as tiles:

            def tile_progress(done: int, total: int) -> None:
                if tiles.total != total:
                    tiles.reset(total)
                tiles.n = done
                tiles.refresh()

            def deblur_one(batch):
                return deblurrer.deblur_batch(batch, tile_progress, check_inputs=False)  # prepared: checked

            summary = deblur_files(deblur_one, jobs, workers, quality, on_done=progress.update)
    typer.echo(f"{summary.timing()} with {deblurrer.backend} {deblurrer.precision} -> {output}")
    if left_out:
        typer.echo(f"skipped {len(left_out)} files in the input folders:")
        for source, reason in left_out:
            typer.echo(f"  {source}: {reason}")
    if summary.interrupted:
        typer.echo(f"interrupted: {len(jobs) - len(summary.written)} images not written; every file written is whole")
        raise typer.Exit(130)
    if summary.failed:
        typer.echo(f"error: {len(summary.failed)} of {len(jobs)} images failed:", err=True)
        for source, reason in summary.failed:
            typer.echo(f"  {source}: {reason.removeprefix(f'{source}: ')}", err=True)
        raise typer.Exit(1)


def _not_the_fastest(backend: str, precision: str, chosen: str) -> str | None:
    """Why `--backend auto` took `chosen` rather than the fastest backend here (it lacks `precision`), or None."""
    from golf_rt.backends import available_backends
    from golf_rt.deblurrer import auto_order

    here = available_backends()
    fastest = next((name for name in auto_order() if name in here), chosen)
    if backend != "auto" or precision == "auto" or fastest == chosen or precision in here[fastest]:
        return None
    return f"{fastest}, the fastest backend here, does not run {precision} (it runs {'/'.join(here[fastest])})"


def register(app: typer.Typer) -> None:
    """Add `deblur` to the `golf-rt` app."""
    app.command()(deblur)
