"""Where every file a backend runs comes from: checkpoint -> ONNX (fp32, fp16, int8) -> TensorRT plan.

`model_file(kind, ...)` is the one way in, for the kind of file a backend runs (its record's
`runs`): the checkpoint itself, an ONNX file or a TensorRT plan. `golf_rt.backends.create_runner`
asks it, then hands the file to the backend's loader.

`ensure_onnx` needs no torch when the file exists: the shipped checkpoint's files live in
`golf_rt/models/`, others in the cache folder, keyed by the checkpoint's hash. A missing one is
made there: exported from the checkpoint (torch), converted to fp16, or quantised to int8 (NNCF);
a cached file that does not parse or belongs to another checkpoint is removed and made again.
`plan_file` builds a TensorRT engine of the fp32 ONNX file (or takes the current cached one)
through `golf_rt.backends.tensorrt.loader`, which holds the GPU door.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import golf_rt.model.checkpoint as ckpt
from golf_rt.artifacts.engines import ENGINE_PARTS, BuildOptions
from golf_rt.artifacts.names import META_CHECKPOINT, PARTS, cached_models_dir, onnx_file_name
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import ConfigurationError, ModelFileError
from golf_rt.machine.extras import missing_package_error
from golf_rt.machine.paths import shipped_models_dir

logger = logging.getLogger(__name__)

FILE_KINDS = ("checkpoint", "onnx", "plan")
"""The kinds of file a backend runs (`golf_rt.catalog.BackendRecord.runs`)."""


def model_file(
    kind: str,
    *,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    precision: str = "fp32",
    build: BuildOptions | None = None,
) -> Path:
    """The file of `kind` that runs `part` of `checkpoint` (None = shipped) at `precision`, made now if missing.

    "checkpoint": the checkpoint itself; "onnx": the fp16 file for fp16, the quantised one for int8,
    else the fp32 one (bf16 runtimes lower it); "plan": a TensorRT engine (`plan_file`, with `build`).
    """
    if kind not in FILE_KINDS:
        raise ConfigurationError(f"unknown model file kind {kind!r}; choose one of {', '.join(FILE_KINDS)}")
    if part not in PARTS:
        raise ConfigurationError(f"unknown model part {part!r}; choose one of {', '.join(PARTS)}")
    if kind == "checkpoint":
        return ckpt.resolve(checkpoint)
    if kind == "plan":
        return plan_file(part, iterations, checkpoint, precision, build)
    return ensure_onnx(part, iterations, checkpoint, fp16=precision == "fp16", int8=precision == "int8")


def plan_file(
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    precision: str = "fp32",
    build: BuildOptions | None = None,
) -> Path:
    """The cached TensorRT engine of the part's fp32 ONNX file at `precision`, (re)built when missing or stale.

    Without `build`, a current engine that `golf-rt build-engine --profile` left in the cache is
    used as built; else one with the default profiles is built.
    """
    from golf_rt.backends.tensorrt.loader import engine_for_onnx

    options = replace(build, precision=precision) if build else BuildOptions(precision=precision)
    return engine_for_onnx(ensure_onnx(part, iterations, checkpoint), options, any_profiles=build is None)


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


def engine_sources(onnx_dir: str | Path | None = None, iterations: int = DEFAULT_ITERATIONS) -> dict[str, Path]:
    """The fp32 ONNX file of each engine part: from `onnx_dir`, else the shipped or cached ones (exported if needed).

    Each part is looked up on its own: `f.onnx` is shipped while `fused_x5.onnx` may live in the cache.
    """
    if onnx_dir is None:
        return {part: ensure_onnx(part, iterations) for part in ENGINE_PARTS}
    files = {part: Path(onnx_dir) / onnx_file_name(part, iterations) for part in ENGINE_PARTS}
    for path in files.values():
        if not path.is_file():
            raise ModelFileError(
                f"{path} is missing: run `golf-rt export --iterations {iterations} --output {onnx_dir}` first"
            )
    return files
