"""The ONNX files golf-rt serves from: their fixed names, their metadata, and where to find them.

Every model has one float32 input and one float32 output (`golf_rt.contract`: `BLURRY` and
`SHARP`), both [batch, 3, height, width] with dynamic batch, height and width. Files:

- `f.onnx`: F, the first step;
- `g.onnx`: one step of G;
- `g_x{N}.onnx`: G unrolled N times (one set of weights);
- `fused_x{N}.onnx`: F followed by G N times, the whole model in one graph.

`find_onnx` needs no torch when the files exist: the shipped checkpoint's files live in
`golf_rt/models/`, others in the cache folder, exported there (with torch) on first use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME  # noqa: F401 - still importable from here
from golf_rt.errors import ConfigurationError
from golf_rt.extras import missing_package_error, require
from golf_rt.paths import cache_dir, shipped_models_dir

logger = logging.getLogger(__name__)

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


def find_onnx(
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    fp16: bool = False,
    int8: bool = False,
) -> Path:
    """The ONNX file of `part` for `checkpoint` (None = shipped): shipped, cached, or exported now.

    Exporting needs torch; without it only the shipped files (and earlier exports) can be used.
    An int8 file missing from both is quantised now (NNCF, the `quantize` extra), which takes a minute.
    """
    name = onnx_file_name(part, iterations, fp16, int8)
    if checkpoint is None and (shipped_models_dir() / name).is_file():
        return shipped_models_dir() / name
    from golf_rt import checkpoint as ckpt

    sha = ckpt.file_sha256(ckpt.resolve(checkpoint))
    folder = cached_models_dir(sha)
    path = folder / name
    if path.is_file() and _whole(path, sha):
        return path
    if fp16:
        from golf_rt.export import fp16_onnx_from_onnx

        return fp16_onnx_from_onnx(find_onnx(part, iterations, checkpoint), path)
    if int8:
        return _int8_onnx(part, iterations, checkpoint, path)
    from golf_rt.environment import installed

    if not installed("torch"):
        raise missing_package_error(
            "torch", f"{name} for this checkpoint is neither shipped nor cached; exporting it", extra="export"
        )
    from golf_rt.export import onnx_from_checkpoint

    logger.info("exporting %s for checkpoint %s into %s", name, sha[:12], folder)
    return onnx_from_checkpoint(checkpoint, part, iterations, folder)


def _int8_onnx(part: str, iterations: int, checkpoint: str | Path | None, path: Path) -> Path:
    from golf_rt.quantize import G_PARTS, int8_onnx_files

    f_onnx = find_onnx("f", iterations, checkpoint) if part in G_PARTS else None
    logger.info("quantising %s to int8 into %s", part, path.parent)
    return int8_onnx_files({part: find_onnx(part, iterations, checkpoint)}, path.parent, iterations, f_onnx)[part]


def _whole(path: Path, checkpoint_sha256: str) -> bool:
    """Whether a cached file parses and belongs to the checkpoint; if not, it is removed to be made again.

    Without the `onnx` package nothing could remake it, so the file is trusted as it is.
    """
    try:
        import onnx
    except ImportError:
        return True
    try:
        model = onnx.load(str(path), load_external_data=False)
        owner = {prop.key: prop.value for prop in model.metadata_props}.get(META_CHECKPOINT)
    except Exception as exc:  # a truncated or corrupt protobuf raises DecodeError and others
        owner, reason = None, f"it does not parse ({exc.__class__.__name__})"
    else:
        reason = f"it belongs to checkpoint {str(owner)[:12]}"
    if owner == checkpoint_sha256:
        return True
    logger.warning("cached %s is unusable (%s); making it again", path, reason)
    path.unlink(missing_ok=True)
    return False
