"""`golf-rt verify`: every backend and precision here against fp32 PyTorch, one table (and the auto precision's)."""

from __future__ import annotations

from pathlib import Path

import typer

from golf_rt.contract import DEFAULT_ITERATIONS


def verify(
    checkpoint: Path | None = typer.Option(None, help="Checkpoint; default: the shipped one."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations."),
    crops: int = typer.Option(1, min=1, help="Validation crops per held-out photo."),
    size: int = typer.Option(256, min=16, help="Crop size in pixels."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the table as JSON."),
    markdown_out: Path | None = typer.Option(None, "--markdown", help="Also write the table as Markdown."),
    write_table: bool = typer.Option(
        False, "--write-table", help="Write the measured table that precision 'auto' decides from, next to the model."
    ),
) -> None:
    """Every available backend/precision against fp32 PyTorch on held-out validation pairs."""
    from golf_rt.artifacts.precision_table import write_table as write_precision_table
    from golf_rt.machine.atomic_files import writable_folder, write_bytes_atomically
    from golf_rt.quality.verify import (
        PSNR_BUDGET_DB,
        rows_to_json,
        rows_to_markdown,
        rows_to_measured,
        rows_to_table,
        verify_backends,
    )

    for out in (json_out, markdown_out):  # before the minutes of measuring
        if out is not None:
            writable_folder(out.parent)
    rows = verify_backends(checkpoint, iterations, crops, size)
    typer.echo(rows_to_table(rows))
    if write_table:
        typer.echo(f"precision table: {write_precision_table(rows_to_measured(rows), checkpoint, iterations)}")
    if json_out:
        write_bytes_atomically(json_out, (rows_to_json(rows) + "\n").encode())
    if markdown_out:
        write_bytes_atomically(markdown_out, rows_to_markdown(rows).encode())
    over = [f"{r.backend} {r.precision}" for r in rows if not r.within_budget]
    if over:
        typer.echo(f"over the {PSNR_BUDGET_DB} dB budget: {', '.join(over)}", err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add `verify` to the `golf-rt` app."""
    app.command()(verify)
