"""Read `config.pbtxt` back with Triton's own protobuf schema, and into golf-rt's typed configs.

Parsing with `model_config_pb2` (shipped by tritonclient) proves a generated file is what Triton
will accept field by field; converting back to the dataclasses lets tests check a round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golf_rt.errors import ConfigurationError
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
from golf_rt.triton.generator import CONFIG_FILE


def proto_from_pbtxt(text: str) -> Any:
    """Parse `config.pbtxt` text into Triton's `ModelConfig` protobuf; ConfigurationError on any syntax error."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as exc:
        raise ConfigurationError(f"config.pbtxt does not parse as a Triton model config: {exc}") from exc


def _tensors(protos: Any) -> tuple[TensorSpec, ...]:
    from tritonclient.grpc import model_config_pb2

    return tuple(
        TensorSpec(name=t.name, dims=tuple(t.dims), data_type=model_config_pb2.DataType.Name(t.data_type))
        for t in protos
    )


def _instance_group(proto: Any) -> InstanceGroup:
    from tritonclient.grpc import model_config_pb2

    if len(proto.instance_group) != 1:
        raise ConfigurationError(
            f"model {proto.name!r}: expected one instance group, found {len(proto.instance_group)}"
        )
    group = proto.instance_group[0]
    kind = model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind)
    profiles = tuple(int(p) for p in group.profile)
    return InstanceGroup(count=group.count, kind=kind, gpus=tuple(group.gpus), profiles=profiles)


def _dynamic_batching(proto: Any) -> DynamicBatching | None:
    if not proto.HasField("dynamic_batching"):
        return None
    batching = proto.dynamic_batching
    return DynamicBatching(
        max_queue_delay_us=batching.max_queue_delay_microseconds,
        preferred_batch_sizes=tuple(batching.preferred_batch_size),
    )


def config_from_proto(proto: Any) -> ModelConfig:
    """Turn a parsed `ModelConfig` protobuf into the matching golf-rt dataclass (validating it)."""
    common = {
        "name": proto.name,
        "max_batch_size": proto.max_batch_size,
        "inputs": _tensors(proto.input),
        "outputs": _tensors(proto.output),
    }
    if proto.platform == "ensemble":
        steps = tuple(
            EnsembleStep(
                model_name=s.model_name,
                input_map=tuple(sorted(s.input_map.items())),
                output_map=tuple(sorted(s.output_map.items())),
                model_version=s.model_version,
            )
            for s in proto.ensemble_scheduling.step
        )
        return EnsembleConfig(**common, steps=steps)
    batching = {"instance_group": _instance_group(proto), "dynamic_batching": _dynamic_batching(proto)}
    if proto.platform == "tensorrt_plan":
        return TensorRTModelConfig(**common, **batching, default_model_filename=proto.default_model_filename)
    if proto.backend == "python":
        parameters = tuple(sorted((k, v.string_value) for k, v in proto.parameters.items()))
        return PythonModelConfig(**common, **batching, parameters=parameters)
    raise ConfigurationError(
        f"model {proto.name!r}: platform {proto.platform!r} / backend {proto.backend!r} is not one golf-rt writes"
        " (ensemble, tensorrt_plan, python)"
    )


def config_from_pbtxt(text: str) -> ModelConfig:
    """Parse `config.pbtxt` text straight into a golf-rt config."""
    return config_from_proto(proto_from_pbtxt(text))


def read_config(model_dir: str | Path) -> ModelConfig:
    """Read `<model_dir>/config.pbtxt` into a golf-rt config."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise ConfigurationError(f"{path} does not exist: a Triton model directory needs a {CONFIG_FILE}")
    return config_from_pbtxt(path.read_text())
