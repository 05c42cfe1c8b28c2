"""`golf-rt export` and `build-engine`: ONNX files and TensorRT engines, thin commands over the library."""

from __future__ import annotations

from pathlib import Path

import typer

from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import BackendUnavailableError


def export(
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (.safetensors); default: the shipped one."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations in g_x{N} and fused_x{N}."),
    output: Path = typer.Option(Path("onnx"), "--output", "-o", help="Folder for the ONNX files."),
) -> None:
    """Write f.onnx, g.onnx, g_x{N}.onnx and fused_x{N}.onnx, each verified against PyTorch."""
    from golf_rt.artifacts.export import export_onnx
    from golf_rt.machine.atomic_files import writable_folder

    for part, path in export_onnx(checkpoint, iterations, writable_folder(output)).items():
        typer.echo(f"{part:11s} {path}")


def build_engine(
    fp16: bool = typer.Option(False, "--fp16", help="FP16 engines from the FP16 ONNX (image statistics stay FP32)."),
    onnx_dir: Path | None = typer.Option(None, help="Folder with the ONNX files; default: shipped or cached."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for plans named for a Triton repository; default: the runner's cache."
    ),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations of the ONNX files."),
    profile: list[str] | None = typer.Option(
        None,
        "--profile",
        help="Optimization profile MIN:OPT:MAX (NxCxHxW each), repeatable; default: one around the tile, "
        "1x3x4x4:4x3x384x384:4x3x384x384 (images are deblurred in tiles).",
    ),
    timing_cache: Path | None = typer.Option(None, help="Timing cache file; default: one per TensorRT, GPU and CUDA."),
    version_compatible: bool = typer.Option(
        False, "--version-compatible", help="Plans that later TensorRT runtimes of the same major version load."
    ),
) -> None:
    """Build TensorRT engines (fused, F, G unrolled) with profiles, a timing cache and JSON sidecars."""
    from golf_rt.artifacts.engines import DEFAULT_PROFILES, BuildOptions, Profile
    from golf_rt.artifacts.supply import engine_sources
    from golf_rt.backends.gpu.door import STANDIN_VARIABLE, tensorrt_here

    profiles = tuple(Profile.parse(text) for text in profile) if profile else DEFAULT_PROFILES
    options = BuildOptions("fp16" if fp16 else "fp32", profiles, timing_cache, version_compatible=version_compatible)
    if not tensorrt_here():
        raise BackendUnavailableError(
            "build-engine needs an NVIDIA GPU with TensorRT installed, and this machine has none "
            f"(a dry run on the CPU stand-in: {STANDIN_VARIABLE}=1)"
        )
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files

    sources = engine_sources(onnx_dir, iterations)
    for part, path in engines_from_onnx_files(sources, output, iterations, options).items():
        typer.echo(f"{part:11s} {path}")


def register(app: typer.Typer) -> None:
    """Add these commands to the `golf-rt` app."""
    app.command()(export)
    app.command("build-engine")(build_engine)
