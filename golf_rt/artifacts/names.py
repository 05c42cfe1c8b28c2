"""The ONNX files golf-rt serves from: their fixed names, their metadata, and where to find them.

Every model has one float32 input and one float32 output (`golf_rt.contract`: `BLURRY` and
`SHARP`), both [batch, 3, height, width] with dynamic batch, height and width. Files:

- `f.onnx`: F, the first step;
- `g.onnx`: one step of G;
- `g_x{N}.onnx`: G unrolled N times (one set of weights);
- `fused_x{N}.onnx`: F followed by G N times, the whole model in one graph.

This module names and reads files; `golf_rt.artifacts.supply.ensure_onnx` finds a part's file or makes
it (exports, converts or quantises it into the cache).
"""

from __future__ import annotations

from pathlib import Path

from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import ConfigurationError, ModelFileError
from golf_rt.machine.extras import require
from golf_rt.machine.paths import cache_dir

PARTS = ("f", "g", "g_unrolled", "fused")
FP16_SUFFIX = "_fp16"
INT8_SUFFIX = "_int8"
META_CHECKPOINT = "golf_rt.checkpoint_sha256"
META_ITERATIONS = "golf_rt.iterations"
META_VERSION = "golf_rt.version"
META_PART = "golf_rt.part"
META_PRECISION = "golf_rt.precision"


def onnx_file_name(part: str, iterations: int = DEFAULT_ITERATIONS, fp16: bool = False, int8: bool = False) -> str:
    """The fixed file name of one part: f.onnx, g.onnx, g_x{N}.onnx or fused_x{N}.onnx (+ _fp16 or _int8)."""
    if part not in PARTS:
        raise ConfigurationError(f"unknown model part {part!r}; choose one of {', '.join(PARTS)}")
    if iterations < 1:
        raise ConfigurationError(f"iterations must be at least 1, got {iterations}")
    stem = {"f": "f", "g": "g", "g_unrolled": f"g_x{iterations}", "fused": f"fused_x{iterations}"}[part]
    if fp16 and int8:
        raise ConfigurationError("an ONNX file is fp16 or int8, not both")
    return f"{stem}{FP16_SUFFIX if fp16 else INT8_SUFFIX if int8 else ''}.onnx"


def existing_onnx(path: str | Path) -> Path:
    """`path` as a Path, or a ModelFileError where no file is there: what every ONNX loader checks first."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX file not found: {path}")
    return path


def file_precision(path: str | Path) -> str:
    """The precision a golf-rt ONNX file holds, from its name: `*_fp16.onnx`, `*_int8.onnx`, else fp32.

    Known before the file is opened, so a runner can say what it runs without loading anything;
    the file's own metadata must agree, which `check_file_precision` checks when a runtime loads it.
    """
    stem = Path(path).stem
    return "fp16" if stem.endswith(FP16_SUFFIX) else "int8" if stem.endswith(INT8_SUFFIX) else "fp32"


def check_file_precision(path: str | Path, metadata: dict[str, str]) -> None:
    """ModelFileError unless the file's metadata (as its runtime read it) holds the precision its name says."""
    held = metadata.get(META_PRECISION, "fp32")
    if held != file_precision(path):
        raise ModelFileError(
            f"{Path(path).name} holds an {held} model, but its name says {file_precision(path)}: golf-rt names "
            f"files by precision ({FP16_SUFFIX}.onnx, {INT8_SUFFIX}.onnx, else fp32); rename it"
        )


def read_onnx_metadata(path: str | Path) -> dict[str, str]:
    """The golf-rt metadata_props of an ONNX file (checkpoint hash, iterations, version, part)."""
    onnx = require("onnx", "reading an ONNX file's metadata")
    model = onnx.load(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def cached_models_dir(checkpoint_sha256: str) -> Path:
    """The cache folder of one checkpoint's ONNX files, keyed by its content hash."""
    return cache_dir() / "onnx" / checkpoint_sha256[:16]
