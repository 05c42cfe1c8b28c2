"""TensorRT's loader: engines from the ONNX files, built with Polygraphy, cached per machine, checked before use.

Building (`engine_from_onnx`) is Polygraphy's `NetworkFromOnnxPath` -> `CreateConfig` ->
`EngineBytesFromNetwork`, with:

- one strongly typed network for every precision and both TensorRT 10 and 11 (11 builds only
  strongly typed networks; on 10 the STRONGLY_TYPED flag asks for it): fp32 parses the fp32
  ONNX, fp16 the FP16 ONNX (`golf_rt.artifacts.export.fp16_onnx_from_onnx`: FP16 weights and compute,
  FP32 I/O and image statistics), so no precision flag or per-layer constraint is needed;
- TF32 off (TensorRT enables it by default): "fp32" means fp32 (`gpu_tensorrt.TensorRTDevice.build_plan`);
- the optimization profiles of `BuildOptions` (`golf_rt.artifacts.engines.DEFAULT_PROFILES`);
- a timing cache per TensorRT, GPU and CUDA version, loaded with `ignore_mismatch=False`: a cache
  TensorRT rejects is replaced by an empty one and rewritten after the build (`apply_timing_cache`);
- optionally a version-compatible plan (BuilderFlag.VERSION_COMPATIBLE), which later TensorRT
  10.x runtimes load when they allow host code (`engine_from_path` does for such plans).

Engines in the cache (`engine_for_onnx`) are keyed by ONNX hash, TensorRT version and GPU and
rebuilt when their sidecar no longer matches; engines built for other profiles (`golf-rt
build-engine --profile`) sit beside them and are used by runners that ask for no profiles. The
sidecar records each profile's device memory (`get_device_memory_size_for_profile_v2`), which
the Triton repository writer reports per instance. `engine_io_problems` checks an engine's
tensors against the model contract; `engine_from_path` deserializes a checked plan, which is what
the runner (`golf_rt.backends.tensorrt.runner`) is handed. Every TensorRT and CUDA call goes through
`golf_rt.backends.gpu.door`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golf_rt.artifacts.engines import (
    BuildOptions,
    Machine,
    Sidecar,
    cached_engine_path,
    check_sidecar,
    engine_file_name,
    read_sidecar,
    sibling_engine_paths,
    stale_reasons,
    write_sidecar,
)
from golf_rt.backends.gpu.door import gpu, tensorrt_here
from golf_rt.catalog import backend_record
from golf_rt.contract import DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import EngineMismatchError, ExportError, ModelFileError
from golf_rt.machine.atomic_files import write_bytes_atomically

if TYPE_CHECKING:
    from golf_rt.backends.tensorrt.runner import TensorRTOptions

logger = logging.getLogger(__name__)


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32 and fp16 on CUDA, where TensorRT is installed and an NVIDIA GPU is visible (or stood in for); {}."""
    return dict(backend_record("tensorrt").precisions) if tensorrt_here() else {}


def running_machine() -> Machine:
    """TensorRT version, name and compute capability of CUDA device 0, and the CUDA runtime version."""
    return gpu().machine()


def engine_from_onnx(
    onnx_path: str | Path,
    engine_path: str | Path,
    options: BuildOptions | None = None,
    model_sha256: str | None = None,
    model_name: str | None = None,
) -> Path:
    """Build and save a serialized engine plus its JSON sidecar; returns the engine path.

    `onnx_path` is parsed as it is: the FP16 ONNX for fp16 (see the module docstring).
    `model_sha256`/`model_name` name the fp32 ONNX file it was made from (default: `onnx_path`).
    """
    from golf_rt.model.checkpoint import file_sha256

    options = options or BuildOptions()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    machine = running_machine()
    started = time.perf_counter()
    cache_path = options.timing_cache_path(machine)
    device = gpu()
    serialized, timing_cache = device.build_plan(
        onnx_path, options.profiles, options.workspace_mib, options.version_compatible,
        cache_path.read_bytes() if cache_path.is_file() else b"",
    )  # fmt: skip
    engine = device.load_engine(serialized, options.version_compatible)
    if engine is None:
        raise ExportError(f"TensorRT could not load the engine it just built from {onnx_path.name}")
    profile_memory = tuple(
        int(engine.get_device_memory_size_for_profile_v2(i)) for i in range(engine.num_optimization_profiles)
    )
    write_bytes_atomically(engine_path, serialized)
    write_bytes_atomically(cache_path, timing_cache)
    sidecar = Sidecar(
        tensorrt_version=machine.tensorrt_version, gpu_name=machine.gpu_name,
        compute_capability=machine.compute_capability, cuda_version=machine.cuda_version,
        precision=options.precision, profiles=options.profiles, version_compatible=options.version_compatible,
        onnx_sha256=model_sha256 or file_sha256(onnx_path), onnx_name=model_name or onnx_path.name,
        built_from=onnx_path.name, build_seconds=round(time.perf_counter() - started, 2),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        engine_sha256=hashlib.sha256(serialized).hexdigest(), profile_memory_bytes=profile_memory,
    )  # fmt: skip
    write_sidecar(engine_path, sidecar)
    logger.info("built %s in %.1f s", engine_path, sidecar.build_seconds)
    return engine_path


def _source_for(onnx_path: Path, options: BuildOptions, folder: Path) -> Path:
    """The file TensorRT parses: the ONNX file itself (fp32) or its FP16 copy in `folder` (fp16)."""
    if options.precision != "fp16":
        return onnx_path
    from golf_rt.artifacts.export import fp16_onnx_from_onnx

    return fp16_onnx_from_onnx(onnx_path, folder / f"{onnx_path.stem}_fp16.onnx")


def engine_for_onnx(onnx_path: str | Path, options: BuildOptions, any_profiles: bool = False) -> Path:
    """The cached engine of an fp32 ONNX file for this machine and `options`, built or rebuilt when stale.

    `any_profiles`: the caller asked for no profiles, so a current engine built for other ones
    (`golf-rt build-engine --profile ...`) is used rather than rebuilt with the defaults.
    """
    from golf_rt.model.checkpoint import file_sha256

    onnx_path = Path(onnx_path)
    machine, sha = running_machine(), file_sha256(onnx_path)
    path = cached_engine_path(onnx_path, sha, machine, options)
    candidates = [path]
    if any_profiles:
        others = sibling_engine_paths(path)
        candidates += sorted((p for p in others if p != path), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in filter(Path.is_file, candidates):
        try:
            sidecar = read_sidecar(candidate)
            wanted = replace(options, profiles=sidecar.profiles) if candidate != path else options
            reasons = stale_reasons(sidecar, machine, sha, wanted, file_sha256(candidate))
        except EngineMismatchError as exc:
            reasons = [str(exc)]
        if not reasons:
            return candidate
        logger.warning("not using %s: it was built for %s", candidate.name, "; ".join(reasons))
    source = _source_for(onnx_path, options, path.parent)
    return engine_from_onnx(source, path, options, model_sha256=sha, model_name=onnx_path.name)


def engines_from_onnx_files(
    onnx_files: dict[str, Path],
    output_dir: str | Path | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    options: BuildOptions | None = None,
) -> dict[str, Path]:
    """One engine per part ("fused", "f", "g_unrolled" -> its fp32 ONNX file).

    Without `output_dir` into the cache where the runner looks (current ones are kept); with it,
    rebuilt there under the names a Triton repository holds (`fused_x3_fp16.plan`, ...).
    """
    from golf_rt.model.checkpoint import file_sha256

    options = options or BuildOptions()
    if output_dir is None:
        return {part: engine_for_onnx(path, options) for part, path in onnx_files.items()}
    output_dir = Path(output_dir)
    built = {}
    for part, path in onnx_files.items():
        source = _source_for(Path(path), options, output_dir)
        engine_path = output_dir / engine_file_name(part, iterations, options.precision)
        built[part] = engine_from_onnx(source, engine_path, options, file_sha256(path), Path(path).name)
    return built


def engine_io_problems(tensors: list[tuple[str, str, str]]) -> list[str]:
    """What is wrong with an engine's (name, mode, dtype) I/O tensors against the contract ([] when right)."""
    expected = {INPUT_NAME: ("INPUT", "FLOAT"), OUTPUT_NAME: ("OUTPUT", "FLOAT")}
    found = {name: (mode, dtype) for name, mode, dtype in tensors}
    problems = [f"no {mode.lower()} tensor {name!r}" for name, (mode, _) in expected.items() if name not in found]
    problems += [f"unexpected tensor {name!r}" for name in found if name not in expected]
    problems += [
        f"{name!r} is {found[name][0].lower()} {found[name][1]}, expected {mode.lower()} {dtype}"
        for name, (mode, dtype) in expected.items()
        if name in found and found[name] != (mode, dtype)
    ]
    return problems


def engine_from_path(engine_path: Path, sidecar: Sidecar) -> Any:
    """The deserialized engine, after its sidecar is checked against this machine and its I/O against the contract."""
    check_sidecar(sidecar, running_machine())
    engine = gpu().load_engine(engine_path.read_bytes(), sidecar.version_compatible)
    if engine is None:
        raise EngineMismatchError(f"TensorRT could not deserialize {engine_path}; rebuild it")
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    tensors = [(n, engine.get_tensor_mode(n).name, engine.get_tensor_dtype(n).name) for n in names]
    problems = engine_io_problems(tensors)
    if problems:
        raise EngineMismatchError(f"{engine_path.name} is not a golf-rt engine: {'; '.join(problems)}")
    if engine.num_optimization_profiles != len(sidecar.profiles):
        raise EngineMismatchError(
            f"{engine_path.name} has {engine.num_optimization_profiles} optimization profiles, its sidecar "
            f"{len(sidecar.profiles)}; rebuild it"
        )
    return engine


def plan_sidecar(engine_path: str | Path) -> Sidecar:
    """The sidecar of an engine file, which says its precision and profiles; ModelFileError when there is no engine."""
    path = Path(engine_path)
    if not path.is_file():
        raise ModelFileError(
            f"engine not found: {path}; build it with `golf-rt build-engine --output {path.parent}`, "
            "or let golf-rt build its own (no model_file)"
        )
    return read_sidecar(path)


def precisions_of_file(engine_path: str | Path) -> tuple[str, ...]:
    """What one engine runs at: the precision it was built at, as its sidecar says."""
    return (plan_sidecar(engine_path).precision,)


def runner_keywords(engine_path: str | Path) -> dict[str, Any]:
    """What the runner must know of the engine before it is loaded: its optimization profiles."""
    return {"profiles": plan_sidecar(engine_path).profiles}


def loader_of(
    engine_path: str | Path, *, part: str, iterations: int, device: str, options: TensorRTOptions
) -> Callable[[], Any]:
    """The loader `create_runner` hands the runner: the checked engine of `engine_path`, deserialized."""
    return partial(engine_from_path, Path(engine_path), plan_sidecar(engine_path))
