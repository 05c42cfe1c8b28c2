"""The one writer of Triton's `config.pbtxt` text, from the typed configs in `golf_rt.triton.config`.

Output is deterministic (same config, same bytes) so a checked-in repository can be compared with
a fresh generation; `golf_rt.triton.parser` reads it back with Triton's own protobuf.
"""

from __future__ import annotations

from pathlib import Path

from golf_rt.machine.atomic_files import write_bytes_atomically
from golf_rt.triton.config import (
    DynamicBatching,
    EnsembleConfig,
    InstanceGroup,
    ModelConfig,
    PythonModelConfig,
    TensorRTModelConfig,
    TensorSpec,
)

CONFIG_FILE = "config.pbtxt"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tensors(kind: str, specs: tuple[TensorSpec, ...]) -> list[str]:
    lines = [f"{kind} ["]
    for i, spec in enumerate(specs):
        dims = ", ".join(str(d) for d in spec.dims)
        comma = "," if i < len(specs) - 1 else ""
        lines += [
            "  {",
            f"    name: {_quote(spec.name)}",
            f"    data_type: {spec.data_type}",
            f"    dims: [ {dims} ]",
            "  }" + comma,
        ]
    return [*lines, "]"]


def _instance_group(group: InstanceGroup) -> list[str]:
    lines = ["instance_group [", "  {", f"    count: {group.count}", f"    kind: {group.kind}"]
    if group.gpus:
        lines.append(f"    gpus: [ {', '.join(str(g) for g in group.gpus)} ]")
    if group.profiles:
        lines.append(f"    profile: [ {', '.join(_quote(str(p)) for p in group.profiles)} ]")
    return [*lines, "  }", "]"]


def _dynamic_batching(batching: DynamicBatching | None) -> list[str]:
    if batching is None:
        return []
    lines = ["dynamic_batching {"]
    if batching.preferred_batch_sizes:
        lines.append(f"  preferred_batch_size: [ {', '.join(str(b) for b in batching.preferred_batch_sizes)} ]")
    lines.append(f"  max_queue_delay_microseconds: {batching.max_queue_delay_us}")
    return [*lines, "}"]


def _parameters(parameters: tuple[tuple[str, str], ...]) -> list[str]:
    lines: list[str] = []
    for key, value in parameters:
        lines += [
            "parameters {",
            f"  key: {_quote(key)}",
            f"  value: {{ string_value: {_quote(value)} }}",
            "}",
        ]
    return lines


def _ensemble_scheduling(config: EnsembleConfig) -> list[str]:
    lines = ["ensemble_scheduling {", "  step ["]
    for i, step in enumerate(config.steps):
        lines += ["    {", f"      model_name: {_quote(step.model_name)}", f"      model_version: {step.model_version}"]
        for kind, mapping in (("input_map", step.input_map), ("output_map", step.output_map)):
            lines += [f"      {kind} {{ key: {_quote(k)} value: {_quote(v)} }}" for k, v in mapping]
        lines.append("    }" + ("," if i < len(config.steps) - 1 else ""))
    return [*lines, "  ]", "}"]


def pbtxt_from_config(config: ModelConfig) -> str:
    """The `config.pbtxt` text for one model."""
    lines = [f"name: {_quote(config.name)}"]
    if isinstance(config, EnsembleConfig):
        lines.append('platform: "ensemble"')
    elif isinstance(config, TensorRTModelConfig):
        lines += ['platform: "tensorrt_plan"', f"default_model_filename: {_quote(config.default_model_filename)}"]
    elif isinstance(config, PythonModelConfig):
        lines.append('backend: "python"')
    else:
        raise TypeError(f"not a golf-rt model config: {type(config).__name__}")
    lines.append(f"max_batch_size: {config.max_batch_size}")
    lines += _tensors("input", config.inputs)
    lines += _tensors("output", config.outputs)
    if isinstance(config, EnsembleConfig):
        lines += _ensemble_scheduling(config)
    else:
        lines += _instance_group(config.instance_group)
        lines += _dynamic_batching(config.dynamic_batching)
    if isinstance(config, PythonModelConfig):
        lines += _parameters(config.parameters)
    return "\n".join(lines) + "\n"


def write_config(config: ModelConfig, repository: str | Path) -> Path:
    """Write `<repository>/<model name>/config.pbtxt` and return its path."""
    path = Path(repository) / config.name / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, pbtxt_from_config(config).encode())
    return path
