"""ONNX files from a checkpoint, each checked and verified against PyTorch before it is kept.

Exporter: torch's dynamo exporter (`torch.onnx.export(..., dynamo=True)`). On these networks it
and the legacy TorchScript exporter give the same clean graph (Conv, InstanceNormalization, Relu,
Add; the unrolled G reuses one set of initializers, so G's weights are stored once), but the
TorchScript exporter is deprecated and warns that it exports Instance Norm in training mode,
while dynamo declares the dynamic batch/height/width through `torch.export.Dim` and is the one
torch maintains. Dynamo also stores per-node stack traces with absolute paths; we strip them so
an export is reproducible byte for byte on another machine.

The FP16 variant (`fp16_onnx_from_onnx`) is what TensorRT 11's strongly typed networks need:
weights and compute in FP16, inputs/outputs FP32, and InstanceNormalization kept FP32 (its
variance overflows FP16 on large activations).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import golf_rt.contract as contract
from golf_rt.artifacts.names import (
    META_CHECKPOINT,
    META_ITERATIONS,
    META_PART,
    META_PRECISION,
    META_VERSION,
    PARTS,
    onnx_file_name,
)
from golf_rt.contract import CHANNELS, DEFAULT_ITERATIONS, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError, ExportError
from golf_rt.machine.atomic_files import atomic_path
from golf_rt.machine.extras import require
from golf_rt.version import __version__

if TYPE_CHECKING:
    import onnx
    from torch import nn

logger = logging.getLogger(__name__)

OPSET = 18
TOLERANCE = contract.TOLERANCE["fp32"]
"""Largest absolute difference between ONNX Runtime (CPU, fp32) and PyTorch that an export may have."""
EXPORTER_MODULES = ("torch", "onnx", "onnxscript", "onnxruntime")
"""What exporting and verifying an ONNX file needs: the `export` extra."""


def require_exporter(purpose: str = "exporting ONNX files") -> None:
    """Fail now, naming the `export` extra, when a package the exporter needs is missing."""
    for module in EXPORTER_MODULES:
        require(module, purpose, extra="export")


FP16_KEEP_FP32_OPS = ("InstanceNormalization", "ReduceMean", "Sqrt")  # image statistics need FP32's range


def verification_inputs(seed: int = 0) -> list[np.ndarray]:
    """A random batch and a blurred natural-like image, at sizes unlike the export's example input."""
    from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade

    rng = np.random.default_rng(seed)
    noise = rng.random((2, 3, 40, 56), dtype=np.float32)
    blurry, _ = degrade(dead_leaves(rng, 72, shapes=150), rng, BlurSpec(extent=(7, 13), quantize=True))
    image = np.clip(blurry, 0.0, 1.0).transpose(2, 0, 1)[None]
    return [noise, np.ascontiguousarray(image, dtype=np.float32)]


def module_for_part(model: nn.Module, part: str, iterations: int) -> nn.Module:
    """The torch module behind one ONNX file of a GolfOptimizer."""
    from golf_rt.model.networks import GolfOptimizer, GUnrolled

    modules = {
        "f": lambda: model.f,
        "g": lambda: model.g,
        "g_unrolled": lambda: GUnrolled(model.g, iterations),
        "fused": lambda: GolfOptimizer(model.f, model.g, iterations),
    }
    if part not in modules:
        raise ConfigurationError(f"unknown model part {part!r}; choose one of {', '.join(PARTS)}")
    return modules[part]().eval()


def onnx_from_module(module: nn.Module, path: str | Path, metadata: dict[str, str], name: str | None = None) -> Path:
    """Export one module with dynamic batch/height/width, strip debug data, add metadata, check it.

    `name` (default: the file's stem) names the graph, for writing under a temporary file name.
    """
    import onnx
    import torch

    path = Path(path)
    name = name or path.stem
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, CHANNELS, 64, 64)
    Dim = torch.export.Dim
    dims = {0: Dim("batch", min=1), 2: Dim("height", min=2), 3: Dim("width", min=2)}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        raw = Path(tmp) / "raw.onnx"
        try:
            torch.onnx.export(
                module, (example,), str(raw), dynamo=True, opset_version=OPSET, external_data=False,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_shapes=(dims,), verbose=False,
            )  # fmt: skip
        except Exception as exc:  # torch raises many exception types from its exporter
            raise ExportError(f"torch could not export {name}: {exc}") from exc
        model = onnx.load(str(raw))
    _strip_debug_data(model)
    model.graph.name = name
    model.producer_name, model.producer_version = "golf-rt", __version__
    for key, value in sorted(metadata.items()):
        model.metadata_props.add(key=key, value=str(value))
    _check(model, path)
    onnx.save(model, str(path))
    return path


def _strip_debug_data(model: onnx.ModelProto) -> None:
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    del model.metadata_props[:]
    model.doc_string = ""


def _check(model: onnx.ModelProto, path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"{path.name} fails onnx.checker: {exc}") from exc
    inputs, outputs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        expected = f"[{INPUT_NAME!r}] and [{OUTPUT_NAME!r}]"
        raise ExportError(f"{path.name} has inputs {inputs} and outputs {outputs}, expected {expected}")


def max_difference_from_torch(path: str | Path, module: nn.Module, inputs: list[np.ndarray]) -> float:
    """Largest absolute difference between ONNX Runtime (CPU) and the torch module over `inputs`."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for batch in inputs:
            expected = module(torch.from_numpy(batch)).numpy()
            got = session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
            if got.shape != expected.shape:
                raise ExportError(f"{Path(path).name}: output shape {got.shape}, PyTorch gives {expected.shape}")
            worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def onnx_from_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    output_dir: str | Path = ".",
    model: nn.Module | None = None,
) -> Path:
    """Export one part of a checkpoint (None = shipped) and verify it; `model` skips reloading."""
    import golf_rt.model.checkpoint as ckpt

    require_exporter()
    source = ckpt.resolve(checkpoint)
    model = ckpt.load(source) if model is None else model
    module = module_for_part(model, part, iterations)
    path = Path(output_dir) / onnx_file_name(part, iterations)
    metadata = {
        META_CHECKPOINT: ckpt.file_sha256(source),
        META_ITERATIONS: str(iterations if part in ("g_unrolled", "fused") else 1),
        META_PART: part,
        META_PRECISION: "fp32",
        META_VERSION: __version__,
    }
    with atomic_path(path) as temporary:  # a file that fails verification never takes the name
        onnx_from_module(module, temporary, metadata, name=path.stem)
        worst = max_difference_from_torch(temporary, module, verification_inputs())
        if worst > TOLERANCE:
            raise ExportError(f"{path.name} differs from PyTorch by {worst:.3g} (tolerance {TOLERANCE:g}); not written")
    logger.info("wrote %s (max |ONNX - PyTorch| = %.2g)", path, worst)
    return path


def export_onnx(
    checkpoint: str | Path | None = None, iterations: int = DEFAULT_ITERATIONS, output_dir: str | Path = "."
) -> dict[str, Path]:
    """All four ONNX files of a checkpoint: keys "f", "g", "g_unrolled", "fused"."""
    import golf_rt.model.checkpoint as ckpt

    require_exporter()
    model = ckpt.load(checkpoint)
    return {part: onnx_from_checkpoint(checkpoint, part, iterations, output_dir, model=model) for part in PARTS}


def fp16_onnx_from_onnx(source: str | Path, destination: str | Path | None = None) -> Path:
    """An FP16 copy of an ONNX file: FP16 weights and compute; FP32 I/O and image statistics.

    Written next to the source as `<stem>_fp16.onnx` unless `destination` is given.
    """
    onnx = require("onnx", "an FP16 ONNX file", extra="export")
    float16 = require("onnxconverter_common.float16", "an FP16 ONNX file", extra="export")
    source = Path(source)
    destination = source.with_name(f"{source.stem}_fp16.onnx") if destination is None else Path(destination)
    model = onnx.load(str(source))
    with warnings.catch_warnings():  # it warns for every weight below FP16's range, which it clamps
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(FP16_KEEP_FP32_OPS), disable_shape_infer=False
        )
    del converted.metadata_props[:]
    for prop in model.metadata_props:
        converted.metadata_props.add(key=prop.key, value="fp16" if prop.key == META_PRECISION else prop.value)
    converted.graph.name = destination.stem
    _check(converted, destination)
    with atomic_path(destination) as temporary:
        onnx.save(converted, str(temporary))
    return destination
