"""`golf-rt deblur`: image files and folders into a folder, with progress, a timing summary and per-file failures."""

from __future__ import annotations

from pathlib import Path

import typer

from golf_rt.contract import DEFAULT_ITERATIONS


def deblur(
    inputs: list[Path] = typer.Argument(..., help="Image files or folders (png, jpg, bmp, tiff)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the results; names and subfolders are kept."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also deblur the images in subfolders."),
    backend: str = typer.Option("auto", help="auto, tensorrt, openvino, onnxruntime or torch."),
    precision: str = typer.Option(
        "auto", help="auto (fastest within the accuracy budget here, see `golf-rt info`), fp32, fp16 or bf16."
    ),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint; default: the shipped one."),
    quality: int | None = typer.Option(
        None, min=1, max=100, help="JPEG quality of the results; default: the quality of each input."
    ),
    workers: int = typer.Option(2, min=1, help="Threads that read and write images while the model runs."),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>_compare.png: input | output."),
) -> None:
    """Deblur images into a folder; a file that fails is named at the end and the others still run (exit 1)."""
    from tqdm import tqdm

    from golf_rt.deblur_files import deblur_files, plan_jobs, prepare_output
    from golf_rt.deblurrer import Deblurrer
    from golf_rt.image_files import subfolders

    jobs = plan_jobs(inputs, output, recursive, compare)
    if not recursive:
        skipped = [folder for folder in subfolders(inputs) if folder.resolve() != output.resolve()]
        if skipped:
            names = ", ".join(str(folder) for folder in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
            typer.echo(
                f"note: {len(skipped)} subfolders not searched ({names}); add --recursive to include them", err=True
            )
    prepare_output(output, jobs)
    deblurrer = Deblurrer(backend, precision, iterations, checkpoint)
    with deblurrer, tqdm(total=len(jobs), desc="deblurring", unit="image") as progress:
        summary = deblur_files(deblurrer.runner.deblur, jobs, workers, quality, on_done=progress.update)
    typer.echo(f"{summary.timing()} with {deblurrer.backend} {deblurrer.precision} -> {output}")
    if summary.interrupted:
        typer.echo(f"interrupted: {len(jobs) - len(summary.written)} images not written; every file written is whole")
        raise typer.Exit(130)
    if summary.failed:
        typer.echo(f"error: {len(summary.failed)} of {len(jobs)} images failed:", err=True)
        for source, reason in summary.failed:
            typer.echo(f"  {source}: {reason.removeprefix(f'{source}: ')}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `deblur` to the `golf-rt` app."""
    app.command()(deblur)
