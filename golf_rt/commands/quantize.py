"""`golf-rt quantize`: INT8 copies of the ONNX files, calibrated on synthetic blur (NNCF)."""

from __future__ import annotations

from pathlib import Path

import typer

from golf_rt.contract import DEFAULT_ITERATIONS

PARTS = ("fused", "f", "g", "g_unrolled")


def quantize(
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (.safetensors); default: the shipped one."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations in g_x{N} and fused_x{N}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for the *_int8.onnx files; default: beside the fp32 files."
    ),
    images: int = typer.Option(32, min=1, help="Calibration images (synthetic blur over dead-leaves images)."),
    size: int = typer.Option(256, min=32, help="Calibration image side in pixels."),
) -> None:
    """Write f_int8, g_int8, g_x{N}_int8 and fused_x{N}_int8.onnx: int8 convolutions, float norms."""
    from golf_rt.artifacts.quantize import int8_onnx_files
    from golf_rt.artifacts.supply import ensure_onnx
    from golf_rt.machine.atomic_files import writable_folder

    if output is not None:
        writable_folder(output)
    sources = {part: ensure_onnx(part, iterations, checkpoint) for part in PARTS}
    folder = output or sources["fused"].parent
    written = int8_onnx_files(sources, folder, iterations, sources["f"], images, size)
    for part, path in written.items():
        typer.echo(f"{part:11s} {path}")


def register(app: typer.Typer) -> None:
    """Add this command to the `golf-rt` app."""
    app.command()(quantize)
