"""The ONNX files golf-rt serves from: their fixed names, their metadata, and where to find them.

Every model has one float32 input and one float32 output (`golf_rt.contract`: `BLURRY` and
`SHARP`), both [batch, 3, height, width] with dynamic batch, height and width. Files:

- `f.onnx`: F, the first step;
- `g.onnx`: one step of G;
- `g_x{N}.onnx`: G unrolled N times (one set of weights);
- `fused_x{N}.onnx`: F followed by G N times, the whole model in one graph.

This module names and reads files; `golf_rt.onnx_supply.ensure_onnx` finds a part's file or makes
it (exports, converts or quantises it into the cache).
"""

from __future__ import annotations

from pathlib import Path

from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME  # noqa: F401 - still importable from here
from golf_rt.errors import ConfigurationError
from golf_rt.extras import require
from golf_rt.paths import cache_dir

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


def read_onnx_metadata(path: str | Path) -> dict[str, str]:
    """The golf-rt metadata_props of an ONNX file (checkpoint hash, iterations, version, part)."""
    onnx = require("onnx", "reading an ONNX file's metadata")
    model = onnx.load(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def cached_models_dir(checkpoint_sha256: str) -> Path:
    """The cache folder of one checkpoint's ONNX files, keyed by its content hash."""
    return cache_dir() / "onnx" / checkpoint_sha256[:16]
