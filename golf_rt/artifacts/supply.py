"""The ONNX file of a model part for a checkpoint: shipped, cached, or made now.

`ensure_onnx` needs no torch when the file exists: the shipped checkpoint's files live in
`golf_rt/models/`, others in the cache folder, keyed by the checkpoint's hash. A missing one is
made there: exported from the checkpoint (torch), converted to fp16, or quantised to int8 (NNCF);
a cached file that does not parse or belongs to another checkpoint is removed and made again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import golf_rt.model.checkpoint as ckpt
from golf_rt.artifacts.names import META_CHECKPOINT, cached_models_dir, onnx_file_name
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.machine.extras import missing_package_error
from golf_rt.machine.paths import shipped_models_dir

logger = logging.getLogger(__name__)


def ensure_onnx(
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
    sha = ckpt.file_sha256(ckpt.resolve(checkpoint))
    folder = cached_models_dir(sha)
    path = folder / name
    if path.is_file() and _whole(path, sha):
        return path
    if fp16:
        from golf_rt.artifacts.export import fp16_onnx_from_onnx

        return fp16_onnx_from_onnx(ensure_onnx(part, iterations, checkpoint), path)
    if int8:
        return _int8_onnx(part, iterations, checkpoint, path)
    from golf_rt.machine.environment import installed

    if not installed("torch"):
        raise missing_package_error(
            "torch", f"{name} for this checkpoint is neither shipped nor cached; exporting it", extra="export"
        )
    from golf_rt.artifacts.export import onnx_from_checkpoint

    logger.info("exporting %s for checkpoint %s into %s", name, sha[:12], folder)
    return onnx_from_checkpoint(checkpoint, part, iterations, folder)


def _int8_onnx(part: str, iterations: int, checkpoint: str | Path | None, path: Path) -> Path:
    from golf_rt.artifacts.quantize import G_PARTS, int8_onnx_files

    f_onnx = ensure_onnx("f", iterations, checkpoint) if part in G_PARTS else None
    logger.info("quantising %s to int8 into %s", part, path.parent)
    return int8_onnx_files({part: ensure_onnx(part, iterations, checkpoint)}, path.parent, iterations, f_onnx)[part]


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
