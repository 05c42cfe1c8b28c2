"""`golf-rt report`: the paper's tables and a latency chart from benchmark result files."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    results: list[Path] = typer.Argument(
        ..., metavar="RESULTS.json...", help="pytest-benchmark JSON files (--benchmark-json), any machines."
    ),
    output: Path = typer.Option(Path("report"), "--output", "-o", help="Folder for report.md and latency.png."),
) -> None:
    """Merge benchmark results into Tables 4, 5 and 3 of the paper, a peers table and a PNG chart."""
    from golf_rt.machine.atomic_files import writable_folder
    from golf_rt.report import write_report

    for kind, path in write_report(results, writable_folder(output)).items():
        typer.echo(f"{kind:9s} {path}")


def register(app: typer.Typer) -> None:
    """Add `report` to the `golf-rt` app."""
    app.command()(report)
