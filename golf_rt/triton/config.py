"""Typed Triton model configurations: what `config.pbtxt` says, checked before anything is written.

Three kinds of model appear in a golf-rt repository: Python-backend models (CPU), TensorRT plans
(GPU) and the ensemble that chains them. Each is a frozen dataclass validated on construction,
so a bad value fails here with a clear message rather than as a model that Triton refuses to load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from golf_rt.contract import CHANNELS
from golf_rt.errors import ConfigurationError

DATA_TYPES = ("TYPE_FP32", "TYPE_FP16")
INSTANCE_KINDS = ("KIND_CPU", "KIND_GPU")
MAX_BATCH_SIZE = 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _check_name(what: str, name: str) -> None:
    if not _NAME.match(name):
        raise ConfigurationError(f"{what} {name!r} is not a valid name: use letters, digits, '_', '.', '-'")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor: name, per-request dims (batch dim excluded) and data type."""

    name: str
    dims: tuple[int, ...] = (CHANNELS, -1, -1)
    data_type: str = "TYPE_FP32"

    def __post_init__(self) -> None:
        _check_name("tensor name", self.name)
        if not self.dims or any(d == 0 or d < -1 for d in self.dims):
            raise ConfigurationError(f"tensor {self.name!r} dims {self.dims} must be positive or -1 (dynamic)")
        if self.data_type not in DATA_TYPES:
            raise ConfigurationError(f"tensor {self.name!r} data type {self.data_type!r} is not one of {DATA_TYPES}")


@dataclass(frozen=True)
class InstanceGroup:
    """How many copies of a model run, and where."""

    count: int = 1
    kind: str = "KIND_CPU"
    gpus: tuple[int, ...] = ()
    profiles: tuple[int, ...] = ()
    """TensorRT optimization profiles the instances may use; Triton picks one per request by its shape (() = only 0)."""

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigurationError(f"instance count must be >= 1, got {self.count}")
        if self.kind not in INSTANCE_KINDS:
            raise ConfigurationError(f"instance kind {self.kind!r} is not one of {INSTANCE_KINDS}")
        if self.gpus and self.kind != "KIND_GPU":
            raise ConfigurationError("gpus can only be listed for KIND_GPU instance groups")
        if any(g < 0 for g in self.gpus):
            raise ConfigurationError(f"gpu ids must be >= 0, got {self.gpus}")
        if self.profiles and (self.kind != "KIND_GPU" or any(p < 0 for p in self.profiles)):
            raise ConfigurationError(f"optimization profiles {self.profiles} need KIND_GPU instances and indices >= 0")


@dataclass(frozen=True)
class DynamicBatching:
    """Let Triton merge concurrent requests into one batch, waiting at most `max_queue_delay_us`."""

    max_queue_delay_us: int = 0
    preferred_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.max_queue_delay_us < 0:
            raise ConfigurationError(f"max queue delay must be >= 0 microseconds, got {self.max_queue_delay_us}")
        if any(b < 1 for b in self.preferred_batch_sizes):
            raise ConfigurationError(f"preferred batch sizes must be >= 1, got {self.preferred_batch_sizes}")


@dataclass(frozen=True, kw_only=True)
class _ModelConfig:
    """Fields every model config shares; validated here once for all kinds."""

    name: str
    max_batch_size: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def __post_init__(self) -> None:
        _check_name("model name", self.name)
        if not 1 <= self.max_batch_size <= MAX_BATCH_SIZE:
            raise ConfigurationError(
                f"model {self.name!r}: max_batch_size must be 1..{MAX_BATCH_SIZE} (batching on), "
                f"got {self.max_batch_size}"
            )
        if not self.inputs or not self.outputs:
            raise ConfigurationError(f"model {self.name!r} needs at least one input and one output")
        names = [t.name for t in (*self.inputs, *self.outputs)]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"model {self.name!r} repeats a tensor name: {names}")


@dataclass(frozen=True, kw_only=True)
class PythonModelConfig(_ModelConfig):
    """A Python-backend model; `parameters` reach `model.py` as strings (runtime, threads, model file)."""

    parameters: tuple[tuple[str, str], ...] = ()
    instance_group: InstanceGroup = field(default_factory=InstanceGroup)
    dynamic_batching: DynamicBatching | None = field(default_factory=DynamicBatching)

    def __post_init__(self) -> None:
        super().__post_init__()
        keys = [k for k, _ in self.parameters]
        if len(set(keys)) != len(keys):
            raise ConfigurationError(f"model {self.name!r} repeats a parameter: {keys}")
        for key, value in self.parameters:
            _check_name("parameter", key)
            if not isinstance(value, str):
                raise ConfigurationError(f"model {self.name!r}: parameter {key!r} must be a string, got {value!r}")

    def parameter(self, key: str) -> str:
        """The value of parameter `key`; ConfigurationError naming the known keys when it is missing."""
        for k, v in self.parameters:
            if k == key:
                return v
        raise ConfigurationError(
            f"model {self.name!r} has no parameter {key!r}; it has {[k for k, _ in self.parameters]}"
        )


@dataclass(frozen=True, kw_only=True)
class TensorRTModelConfig(_ModelConfig):
    """A `tensorrt_plan` model; dims must fit the plan's optimization profile."""

    default_model_filename: str = "model.plan"
    instance_group: InstanceGroup = field(default_factory=lambda: InstanceGroup(kind="KIND_GPU"))
    dynamic_batching: DynamicBatching | None = field(default_factory=DynamicBatching)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.instance_group.kind != "KIND_GPU":
            raise ConfigurationError(f"model {self.name!r}: TensorRT plans run on KIND_GPU instances only")
        if not self.default_model_filename.endswith((".plan", ".engine")) or "/" in self.default_model_filename:
            raise ConfigurationError(
                f"model {self.name!r}: plan file {self.default_model_filename!r} must be a *.plan name"
            )


@dataclass(frozen=True)
class EnsembleStep:
    """One model call inside an ensemble: its tensors mapped to the ensemble's tensor names."""

    model_name: str
    input_map: tuple[tuple[str, str], ...]
    output_map: tuple[tuple[str, str], ...]
    model_version: int = -1

    def __post_init__(self) -> None:
        _check_name("step model", self.model_name)
        if not self.input_map or not self.output_map:
            raise ConfigurationError(f"ensemble step {self.model_name!r} needs an input map and an output map")
        for _, tensor in (*self.input_map, *self.output_map):
            _check_name("ensemble tensor", tensor)


@dataclass(frozen=True, kw_only=True)
class EnsembleConfig(_ModelConfig):
    """An ensemble: steps run in order, each reading tensors the ensemble has by then."""

    steps: tuple[EnsembleStep, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.steps:
            raise ConfigurationError(f"ensemble {self.name!r} has no steps")
        available = {t.name for t in self.inputs}
        for step in self.steps:
            for _, tensor in step.input_map:
                if tensor not in available:
                    raise ConfigurationError(
                        f"ensemble {self.name!r}: step {step.model_name!r} reads {tensor!r} before any step makes it"
                    )
            for _, tensor in step.output_map:
                if tensor in available:
                    raise ConfigurationError(f"ensemble {self.name!r}: tensor {tensor!r} is written twice")
                available.add(tensor)
        for out in self.outputs:
            if out.name not in available:
                raise ConfigurationError(f"ensemble {self.name!r}: no step produces output {out.name!r}")


ModelConfig = PythonModelConfig | TensorRTModelConfig | EnsembleConfig
