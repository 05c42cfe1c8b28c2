"""`golf-rt export`, `build-engine`, `deblur` and `verify`: thin commands over the library."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import typer

from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import BackendUnavailableError, InvalidImageError


def export(
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (.safetensors); default: the shipped one."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations in g_x{N} and fused_x{N}."),
    output: Path = typer.Option(Path("onnx"), "--output", "-o", help="Folder for the ONNX files."),
) -> None:
    """Write f.onnx, g.onnx, g_x{N}.onnx and fused_x{N}.onnx, each verified against PyTorch."""
    from golf_rt.export import export_onnx

    for part, path in export_onnx(checkpoint, iterations, output).items():
        typer.echo(f"{part:11s} {path}")


def build_engine(
    fp16: bool = typer.Option(False, "--fp16", help="FP16 engines (Instance Norm stays FP32)."),
    onnx_dir: Path | None = typer.Option(None, help="Folder with the ONNX files; default: shipped or cached."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Folder for the engines; default: the cache."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations of the ONNX files."),
    min_shape: str | None = typer.Option(None, "--min", help="Smallest input NxCxHxW [1x3x64x64]."),
    opt_shape: str | None = typer.Option(None, "--opt", help="Input NxCxHxW to tune for [1x3x256x256]."),
    max_shape: str | None = typer.Option(None, "--max", help="Largest input NxCxHxW [4x3x720x1280]."),
    timing_cache: Path | None = typer.Option(None, help="Timing cache file; default: in the cache folder."),
) -> None:
    """Build TensorRT engines (fused, F, G unrolled) with a profile, timing cache and JSON sidecars."""
    from golf_rt.environment import cuda_device_count, installed
    from golf_rt.tensorrt_settings import BuildOptions, Profile, default_engine_dir

    options = BuildOptions(
        "fp16" if fp16 else "fp32", Profile.from_strings(min_shape, opt_shape, max_shape), timing_cache
    )
    if not installed("tensorrt") or cuda_device_count() == 0:
        raise BackendUnavailableError(
            "build-engine needs an NVIDIA GPU with TensorRT installed, and this machine has none."
        )
    from golf_rt.backends.tensorrt_runner import engines_from_onnx_dir
    from golf_rt.onnx_files import find_onnx

    if onnx_dir is None:
        onnx_dir = find_onnx("fused", iterations).parent
        for part in ("f", "g_unrolled"):
            find_onnx(part, iterations)
    for part, path in engines_from_onnx_dir(onnx_dir, output or default_engine_dir(), iterations, options).items():
        typer.echo(f"{part:11s} {path}")


def _plan_outputs(files: list[Path], output: Path) -> list[Path]:
    """One output per input, same name; refuse to overwrite an input or to write one name twice."""
    targets = [output / f.name for f in files]
    inputs = {f.resolve() for f in files}
    for target in targets:
        if target.resolve() in inputs:
            raise InvalidImageError(f"{target} would overwrite an input image; choose another --output folder")
    seen: dict[str, Path] = {}
    for source in files:
        if source.name in seen and seen[source.name] != source:
            raise InvalidImageError(f"{seen[source.name]} and {source} would both be written as {output / source.name}")
        seen[source.name] = source
    return targets


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] in (1, 2):
        image = np.repeat(image[:, :, :1], 3, axis=2)
    return image[:, :, :3]


def deblur(
    inputs: list[Path] = typer.Argument(..., help="Image files or folders (png, jpg, bmp, tiff)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the results; file names are kept."),
    backend: str = typer.Option("auto", help="auto, tensorrt, openvino, onnxruntime or torch."),
    precision: str = typer.Option(
        "auto", help="auto (fastest within the accuracy budget here, see `golf-rt info`), fp32, fp16 or bf16."
    ),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, min=1, help="G iterations."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint; default: the shipped one."),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>_compare.png: input | output."),
) -> None:
    """Deblur images into a folder, with a progress bar and a latency summary."""
    from tqdm import tqdm

    from golf_rt.deblurrer import Deblurrer
    from golf_rt.images import find_images, load_image, save_image

    files = find_images(inputs)
    if not files:
        raise InvalidImageError("no image files (png, jpg, bmp, tiff) found in the inputs")
    targets = _plan_outputs(files, output)
    deblurrer = Deblurrer(backend, precision, iterations, checkpoint)
    latencies = []
    with deblurrer:
        for source, target in tqdm(list(zip(files, targets, strict=True)), desc="deblurring", unit="image"):
            image = load_image(source)
            started = time.perf_counter()
            result = deblurrer.deblur(image)
            latencies.append((time.perf_counter() - started) * 1000)
            save_image(target, result)
            if compare:
                side_by_side = np.concatenate([_as_rgb8(image), _as_rgb8(result)], axis=1)
                save_image(target.with_name(f"{target.stem}_compare.png"), side_by_side)
    ms = sorted(latencies)
    typer.echo(
        f"{len(ms)} images with {deblurrer.backend} {deblurrer.precision}: mean {statistics.fmean(ms):.1f} ms, "
        f"median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms per image -> {output}"
    )


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
    from golf_rt.backends.precision_table import write_table as write_precision_table
    from golf_rt.verify import (
        PSNR_BUDGET_DB,
        rows_to_json,
        rows_to_markdown,
        rows_to_measured,
        rows_to_table,
        verify_backends,
    )

    rows = verify_backends(checkpoint, iterations, crops, size)
    typer.echo(rows_to_table(rows))
    if write_table:
        typer.echo(f"precision table: {write_precision_table(rows_to_measured(rows), checkpoint, iterations)}")
    if json_out:
        json_out.write_text(rows_to_json(rows) + "\n")
    if markdown_out:
        markdown_out.write_text(rows_to_markdown(rows))
    over = [f"{r.backend} {r.precision}" for r in rows if not r.within_budget]
    if over:
        typer.echo(f"over the {PSNR_BUDGET_DB} dB budget: {', '.join(over)}", err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add these commands to the `golf-rt` app."""
    app.command()(export)
    app.command("build-engine")(build_engine)
    app.command()(deblur)
    app.command()(verify)
