"""A complete Triton model repository for golf-rt: configs, `model.py` entry points, model files.

The public model is always `golf` (input BLURRY, output SHARP, FP32, dims [3, -1, -1], batching
on: `golf_rt.contract`). Layouts:

- `ensemble`: `golf` is an ensemble that runs `golf_f` then G, either as `golf_g` three times
  (`steps`) or once as `golf_g_x3`, G unrolled in one graph (`unrolled`, the default: fewer hops);
- `fused`: `golf` is one model holding F and G x3.

Targets: `cpu` uses Python-backend models on ONNX Runtime or OpenVINO (the only backend the
pip-installed server has); `gpu` uses `tensorrt_plan` models for NVIDIA's tritonserver container,
from plans built with `golf-rt build-engine --fp16 --output DIR`; every instance may use every
optimization profile of the plans (`profile: [...]`), so Triton picks one per request by its shape.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from golf_rt.artifacts.names import onnx_file_name
from golf_rt.artifacts.supply import ensure_onnx
from golf_rt.catalog import TRITON_RUNTIMES
from golf_rt.contract import (
    DEFAULT_ITERATIONS,
    GPU_TILE_BATCH,
    INPUT_NAME,
    MODEL_NAME,
    OUTPUT_NAME,
    PRECISIONS,
    SERVED_MAX_PIXELS,
)
from golf_rt.errors import ConfigurationError
from golf_rt.machine.atomic_files import atomic_path, write_bytes_atomically
from golf_rt.triton.config import (
    DynamicBatching,
    EnsembleConfig,
    EnsembleStep,
    InstanceGroup,
    ModelConfig,
    PythonModelConfig,
    TensorRTModelConfig,
    TensorSpec,
)
from golf_rt.triton.generator import write_config

LOGGER = logging.getLogger(__name__)

TARGETS = ("cpu", "gpu")
LAYOUTS = ("ensemble", "fused")
ENSEMBLE_STYLES = ("steps", "unrolled")
CPU_MAX_BATCH = 8
GPU_MAX_BATCH = GPU_TILE_BATCH
"""The largest batch of `golf-rt build-engine`'s default optimization profile (4 tiles of 384x384)."""

VERSION_COMPATIBLE_FLAG = "--backend-config=tensorrt,version-compatible=true"
"""What tritonserver needs to load version-compatible plans (`golf-rt build-engine --version-compatible`)."""
MODEL_PY = '''"""Triton Python-backend entry point of a golf-rt model (written by `golf-rt repository`)."""

from golf_rt.triton.python_model import TritonPythonModel

__all__ = ["TritonPythonModel"]
'''


@dataclass(frozen=True)
class RepositorySpec:
    """What repository to write; every choice has a default that serves well on a CPU machine."""

    target: str = "cpu"
    iterations: int = DEFAULT_ITERATIONS
    layout: str = "ensemble"
    ensemble_style: str = "unrolled"
    runtime: str = TRITON_RUNTIMES[0]
    precision: str = "auto"
    """cpu: the runtime's precision; "auto" is resolved when model files are written (`resolve_precision`)."""
    threads: int = 0
    max_batch_size: int | None = None
    instances: int = 1
    """instance_group count of every model (`--instances`): copies per server, each with its own memory."""
    max_queue_delay_us: int = 0
    max_pixels: int = SERVED_MAX_PIXELS
    gpu_profiles: int = 1
    """gpu: the plans' optimization profiles (build-engine's default: 1, around the tile), read from the plans."""

    @property
    def int8(self) -> bool:
        """Whether the models serve the quantised `*_int8.onnx` files."""
        return self.precision == "int8"

    def __post_init__(self) -> None:
        for value, choices, what in (
            (self.target, TARGETS, "target"),
            (self.layout, LAYOUTS, "layout"),
            (self.ensemble_style, ENSEMBLE_STYLES, "ensemble style"),
            (self.runtime, TRITON_RUNTIMES, "runtime"),
            (self.precision, ("auto", *PRECISIONS), "precision"),
        ):
            if value not in choices:
                raise ConfigurationError(f"{what} {value!r} is not one of {', '.join(choices)}")
        if self.max_batch_size is None:  # the CPU default; on GPU the engines' default profile max batch
            object.__setattr__(self, "max_batch_size", CPU_MAX_BATCH if self.target == "cpu" else GPU_MAX_BATCH)
        if not 1 <= self.iterations <= 16:
            raise ConfigurationError(f"iterations must be 1..16, got {self.iterations}")
        if self.gpu_profiles < 1:
            raise ConfigurationError(f"gpu_profiles must be at least 1, got {self.gpu_profiles}")
        if self.instances < 1:
            raise ConfigurationError(
                f"--instances must be at least 1 (copies of each model per server), got {self.instances}"
            )
        if self.threads < 0 or self.max_pixels < 4:
            raise ConfigurationError(
                f"threads must be >= 0 (0 = all cores) and max_pixels >= 4; got {self.threads}, {self.max_pixels}"
            )


def _part_models(spec: RepositorySpec) -> dict[str, str]:
    """Model name -> golf-rt part ("f", "g", "g_unrolled", "fused") for the models that hold weights."""
    if spec.layout == "fused":
        return {MODEL_NAME: "fused"}
    if spec.ensemble_style == "steps":
        return {"golf_f": "f", "golf_g": "g"}
    return {"golf_f": "f", f"golf_g_x{spec.iterations}": "g_unrolled"}


def _step(model: str, source: str, target: str) -> EnsembleStep:
    return EnsembleStep(model_name=model, input_map=((INPUT_NAME, source),), output_map=((OUTPUT_NAME, target),))


def _ensemble_steps(spec: RepositorySpec) -> tuple[EnsembleStep, ...]:
    if spec.ensemble_style == "unrolled":
        return (_step("golf_f", INPUT_NAME, "x0"), _step(f"golf_g_x{spec.iterations}", "x0", OUTPUT_NAME))
    names = [INPUT_NAME] + [f"x{i}" for i in range(spec.iterations)] + [OUTPUT_NAME]
    models = ["golf_f"] + ["golf_g"] * spec.iterations
    return tuple(_step(model, names[i], names[i + 1]) for i, model in enumerate(models))


def model_file_name(spec: RepositorySpec, part: str) -> str:
    """The file a model directory's version folder holds: the ONNX file (cpu) or the FP16 plan (gpu)."""
    from golf_rt.artifacts.engines import engine_file_name

    return (
        onnx_file_name(part, spec.iterations, int8=spec.int8)
        if spec.target == "cpu"
        else engine_file_name(part, spec.iterations, "fp16")
    )


def _check_plans(spec: RepositorySpec, plans: list[Path]) -> RepositorySpec:
    """`spec` with the plans' profile count, after checking that Triton can serve them as configured.

    Triton refuses a plan any of whose profiles cannot hold max_batch_size, and every model of a
    repository should take the same shapes: say so now, not when the server loads them.
    """
    from golf_rt.artifacts.engines import read_sidecar

    sidecars = [read_sidecar(plan) for plan in plans]
    for plan, sidecar in zip(plans, sidecars, strict=True):
        for profile in sidecar.profiles:
            if profile.max[0] < spec.max_batch_size or profile.min[0] != 1:
                raise ConfigurationError(
                    f"{plan.name} was built for batches {profile.min[0]}..{profile.max[0]} (profile {profile}), "
                    f"but the repository asks for max_batch_size {spec.max_batch_size}; pass --max-batch-size "
                    f"{profile.max[0]} or rebuild with a larger --profile"
                )
    if len({(s.profiles, s.version_compatible) for s in sidecars}) > 1:
        raise ConfigurationError(
            f"the plans in one repository must share their profiles and version compatibility; rebuild "
            f"{', '.join(p.name for p in plans)} with one `golf-rt build-engine` command"
        )
    if sidecars[0].version_compatible:
        LOGGER.warning("version-compatible plans: start tritonserver with %s", VERSION_COMPATIBLE_FLAG)
    spec = replace(spec, gpu_profiles=len(sidecars[0].profiles))
    for line in _gpu_memory(spec, dict(zip(_part_models(spec), zip(plans, sidecars, strict=True)))):
        LOGGER.warning("%s", line)  # printed by the CLI too: what a deployment engineer sizes GPUs by
    return spec


def _gpu_memory(spec: RepositorySpec, plans: dict) -> list[str]:
    """`gpu_memory_lines` for model name -> (plan file, sidecar): the weights are the plan file's size."""
    from golf_rt.machine.environment import gpus
    from golf_rt.triton.gpu_memory import PlanMemory, gpu_memory_lines

    memory = {
        name: PlanMemory(plan.stat().st_size, sidecar.profile_memory_bytes, spec.gpu_profiles)
        for name, (plan, sidecar) in plans.items()
    }
    gib = next((gpu.get("memory_gib") for gpu in gpus() if gpu.get("memory_gib")), None)
    return gpu_memory_lines(spec.instances, memory, gib)


def _weights_config(spec: RepositorySpec, name: str, part: str) -> ModelConfig:
    io = {
        "name": name,
        "max_batch_size": spec.max_batch_size,
        "inputs": (TensorSpec(INPUT_NAME),),
        "outputs": (TensorSpec(OUTPUT_NAME),),
        "dynamic_batching": DynamicBatching(max_queue_delay_us=spec.max_queue_delay_us),
    }
    if spec.target == "gpu":
        return TensorRTModelConfig(
            **io,
            default_model_filename=model_file_name(spec, part),
            instance_group=InstanceGroup(
                count=spec.instances, kind="KIND_GPU", profiles=tuple(range(spec.gpu_profiles))
            ),
        )
    parameters = {
        "max_pixels": str(spec.max_pixels),
        "model_file": model_file_name(spec, part),
        "runtime": spec.runtime,
        "threads": str(spec.threads),
    }
    if spec.precision != "auto":  # "auto" is the Python model's default: it resolves it where it runs
        parameters["precision"] = spec.precision
    return PythonModelConfig(
        **io, parameters=tuple(sorted(parameters.items())), instance_group=InstanceGroup(count=spec.instances)
    )


def model_configs(spec: RepositorySpec) -> tuple[ModelConfig, ...]:
    """Every model config of the repository, the public `golf` model first."""
    weights = tuple(_weights_config(spec, name, part) for name, part in _part_models(spec).items())
    if spec.layout == "fused":
        return weights
    ensemble = EnsembleConfig(
        name=MODEL_NAME,
        max_batch_size=spec.max_batch_size,
        inputs=(TensorSpec(INPUT_NAME),),
        outputs=(TensorSpec(OUTPUT_NAME),),
        steps=_ensemble_steps(spec),
    )
    return (ensemble, *weights)


def write_configs(spec: RepositorySpec, output: str | Path) -> Path:
    """Write every `config.pbtxt` (and `1/model.py` for Python-backend models); no model files."""
    output = Path(output)
    for config in model_configs(spec):
        write_config(config, output)
        version_dir = output / config.name / "1"
        version_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(config, PythonModelConfig):
            write_bytes_atomically(version_dir / "model.py", MODEL_PY.encode())
    return output


def _model_source(spec: RepositorySpec, part: str, checkpoint: str | Path | None, models: Path | None) -> Path:
    name = model_file_name(spec, part)
    if models is not None:
        if not (models / name).is_file():
            how = f" (golf-rt quantize --output {models} makes it)" if spec.int8 else ""
            raise ConfigurationError(
                f"{models} has no {name}; the {spec.target} {spec.layout} repository needs it{how}"
            )
        return models / name
    if spec.target == "cpu":
        return ensure_onnx(part, spec.iterations, checkpoint, int8=spec.int8)
    raise ConfigurationError(
        f"the gpu repository needs TensorRT plan {name}; build plans on the GPU machine with "
        f"`golf-rt build-engine --fp16` and pass their folder with --models"
    )


def resolve_precision(spec: RepositorySpec, checkpoint: str | Path | None = None) -> RepositorySpec:
    """`spec` with a cpu "auto" precision replaced by what auto picks for its runtime and `checkpoint` here."""
    if spec.target != "cpu" or spec.precision != "auto":
        return spec
    from golf_rt.artifacts.precision_table import auto_precision

    return replace(spec, precision=auto_precision(spec.runtime, checkpoint, spec.iterations).precision)


def write_repository(
    spec: RepositorySpec,
    output: str | Path,
    checkpoint: str | Path | None = None,
    models: str | Path | None = None,
) -> Path:
    """Write a complete repository: configs plus the ONNX files (cpu) or plans (gpu).

    Model files come from the folder `models` when given (output of `golf-rt export` or
    `golf-rt build-engine`), else for cpu from `checkpoint` (None = shipped, exported if needed).
    A cpu "auto" precision is resolved from the checkpoint's measured table; for files from a
    folder with no checkpoint named, nothing was measured, so it is fp32.
    """
    output = Path(output)
    if models is None or checkpoint is not None:
        spec = resolve_precision(spec, checkpoint)
    elif spec.target == "cpu" and spec.precision == "auto":  # no measured table says what those files may lose
        LOGGER.info("auto precision for model files from %s: fp32, as no measured table covers them", models)
        spec = replace(spec, precision="fp32")
    folder = Path(models) if models is not None else None
    sources = {name: _model_source(spec, part, checkpoint, folder) for name, part in _part_models(spec).items()}
    if spec.target == "gpu":
        spec = _check_plans(spec, list(sources.values()))
    write_configs(spec, output)
    for name, part in _part_models(spec).items():
        with atomic_path(output / name / "1" / model_file_name(spec, part)) as temporary:
            shutil.copy2(sources[name], temporary)
    LOGGER.info("wrote %s repository (%s layout) to %s", spec.target, spec.layout, output)
    return output


def cached_repository(spec: RepositorySpec | None = None, checkpoint: str | Path | None = None) -> Path:
    """A CPU repository in the cache, keyed by spec, checkpoint and golf-rt version; built on first use."""
    from golf_rt.machine.paths import cache_dir
    from golf_rt.version import __version__

    spec = resolve_precision(spec or RepositorySpec(), checkpoint)
    if spec.target != "cpu":
        raise ConfigurationError("only a cpu repository can be built and cached here; gpu plans come from build-engine")
    files = sorted(
        str(ensure_onnx(part, spec.iterations, checkpoint, int8=spec.int8)) for part in _part_models(spec).values()
    )
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(spec), __version__], sort_keys=True).encode())
    for path in files:
        digest.update(Path(path).read_bytes())
    folder = cache_dir() / f"repository-{digest.hexdigest()[:16]}"
    if (folder / MODEL_NAME / "config.pbtxt").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".repository-", dir=folder.parent))
    write_repository(spec, staging, checkpoint)
    try:
        os.replace(staging, folder)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return folder
