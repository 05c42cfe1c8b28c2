"""OpenVINO's loader: the checked `openvino.Model` of an ONNX file, which the runner compiles for the CPU.

The CPU runs fp32, bf16 on processors with native bf16 (AVX512-BF16 or AMX), int8 with VNNI/AMX.
int8 runs a different file: the NNCF-quantised `*_int8.onnx` (`golf_rt.artifacts.quantize`), whose
convolutions OpenVINO executes in int8 while Instance Norm stays in fp32; an fp32 file runs at
fp32 or bf16 (OpenVINO lowers it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golf_rt.artifacts.names import check_file_precision, existing_onnx, file_precision
from golf_rt.backends.base import check_model_io
from golf_rt.catalog import backend_record
from golf_rt.errors import ModelFileError
from golf_rt.machine.environment import cpu_flags, cpu_has_native_bf16, installed
from golf_rt.machine.extras import require

if TYPE_CHECKING:
    from golf_rt.backends.openvino.runner import OpenVinoOptions

INT8_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def precisions_here() -> dict[str, tuple[str, ...]]:
    """The CPU: fp32; bf16 and int8 where the CPU computes them natively.

    Without native bf16 it is emulated, slower than fp32. Without VNNI, int8 runs on AVX2 in 0.54x
    the fp32 time (a Zen 3, 2026-12-07), but its 16-bit intermediate sums saturate: a test checkpoint
    went over the 0.05 dB budget there, so it is not offered.
    """
    if not installed("openvino"):
        return {}
    emulated = () if cpu_has_native_bf16() else ("bf16",)
    emulated += () if INT8_FLAGS & cpu_flags() else ("int8",)
    return {"cpu": tuple(p for p in backend_record("openvino").precisions["cpu"] if p not in emulated)}


def precisions_of_file(onnx_path: str | Path) -> tuple[str, ...]:
    """What one ONNX file can run at: a quantised `*_int8.onnx` only int8, an fp32 file fp32 or bf16 (lowered here)."""
    return {"int8": ("int8",), "fp32": ("fp32", "bf16")}.get(file_precision(onnx_path), ())


def model_from_onnx(onnx_path: str | Path, core: Any = None) -> Any:
    """The `openvino.Model` of a golf-rt ONNX file: BLURRY in, SHARP out, the precision its name says."""
    core = core or require("openvino", "the OpenVINO runner").Core()
    try:
        model = core.read_model(str(onnx_path))
    except RuntimeError as exc:  # OpenVINO reports an unreadable file as a RuntimeError
        raise ModelFileError(f"{onnx_path} is not a readable ONNX model: {str(exc).splitlines()[0]}") from exc
    check_model_io(onnx_path, [_name_and_rank(p) for p in model.inputs], [_name_and_rank(p) for p in model.outputs])
    check_file_precision(onnx_path, _onnx_metadata(model))
    return model


def _onnx_metadata(model: Any) -> dict[str, str]:
    """The ONNX file's metadata_props, which OpenVINO keeps in the model's rt_info under "framework"."""
    if not model.has_rt_info(["framework"]):
        return {}
    return {key: value.astype(str) for key, value in model.get_rt_info(["framework"]).astype(dict).items()}


def _name_and_rank(port: Any) -> tuple[str, int]:
    rank = port.get_partial_shape().rank
    return port.get_any_name(), rank.get_length() if rank.is_static else -1


def runner_keywords(onnx_path: str | Path) -> dict[str, Any]:
    """What the runner must know of the file before it is loaded: nothing beyond its precision."""
    return {}


def loader_of(
    onnx_path: str | Path, *, part: str, iterations: int, device: str, options: OpenVinoOptions
) -> Callable[[], Any]:
    """The loader `create_runner` hands the runner: the checked model of `onnx_path` (the runner compiles it)."""
    return partial(model_from_onnx, existing_onnx(onnx_path))
