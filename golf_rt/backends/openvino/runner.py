"""OpenVINO on the CPU: fp32, bf16 on processors with native bf16 (AVX512-BF16 or AMX), int8 with VNNI/AMX.

int8 runs a different file: the NNCF-quantised `*_int8.onnx` (`golf_rt.artifacts.quantize`), whose
convolutions OpenVINO executes in int8 while Instance Norm stays in fp32.

OpenVINO picks bf16 by itself on such processors, so fp32 is asked for explicitly through
INFERENCE_PRECISION_HINT. The latency hint with one stream puts every core on one image.
A model compiled for one fixed input shape runs about 6% faster than the dynamic one (bf16,
1x3x256x256: 281 vs 297 ms here) and compiles in about 0.3 s, so the runner keeps compiled
models for the last `shape_cache` input shapes; `shape_cache=0` compiles one dynamic model.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.artifacts.names import check_file_precision, file_precision
from golf_rt.artifacts.supply import ensure_onnx
from golf_rt.backends.base import Runner, check_model_io
from golf_rt.catalog import backend_record
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import ConfigurationError, ModelFileError
from golf_rt.machine.environment import cpu_flags, cpu_has_native_bf16, installed
from golf_rt.machine.extras import require

HINTS = ("LATENCY", "THROUGHPUT")
_OV_PRECISION = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # int8: the float parts of a quantised file
INT8_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def precisions_here() -> dict[str, tuple[str, ...]]:
    """The CPU: fp32; bf16 and int8 where the CPU computes them natively (elsewhere they are emulated and slow)."""
    if not installed("openvino"):
        return {}
    emulated = () if cpu_has_native_bf16() else ("bf16",)
    emulated += () if INT8_FLAGS & cpu_flags() else ("int8",)
    return {"cpu": tuple(p for p in backend_record("openvino").precisions["cpu"] if p not in emulated)}


def precisions_of_file(onnx_path: str | Path) -> tuple[str, ...]:
    """What one ONNX file can run at: a quantised `*_int8.onnx` only int8, an fp32 file fp32 or bf16 (lowered here)."""
    return {"int8": ("int8",), "fp32": ("fp32", "bf16")}.get(file_precision(onnx_path), ())


def compile_config(
    precision: str = "fp32", threads: int | None = None, hint: str = "LATENCY", streams: int | None = None
) -> dict[str, str]:
    """The CPU plugin properties golf-rt compiles with: the performance hint and the precision, always explicit."""
    config = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": _OV_PRECISION[precision]}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = str(threads)
    if streams is not None:
        config["NUM_STREAMS"] = str(streams)
    return config


def compiled_model_from_onnx(
    onnx_path: str | Path, config: dict[str, str], shape: tuple[int, ...] | None = None, core: Any = None
) -> Any:
    """An `openvino.CompiledModel` of `onnx_path` on the CPU with `config`, for one input `shape` (None: dynamic)."""
    ov = require("openvino", "the OpenVINO runner")
    core = core or ov.Core()
    model = read_checked_model(onnx_path, core)
    if shape is not None:
        model.reshape(list(shape))
    return core.compile_model(model, "CPU", config)


def read_checked_model(onnx_path: str | Path, core: Any) -> Any:
    """The `openvino.Model` of a golf-rt ONNX file: BLURRY in, SHARP out, the precision its name says."""
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


class OpenVinoRunner(Runner):
    """Compiled OpenVINO models of one ONNX file, on the CPU, one per recent input shape."""

    name = "openvino"

    def __init__(
        self,
        onnx_path: str | Path,
        precision: str = "fp32",
        threads: int | None = None,
        hint: str = "LATENCY",
        streams: int | None = None,
        shape_cache: int = 8,
    ) -> None:
        super().__init__(precision, precisions_here().get("cpu", ()))
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            raise ModelFileError(f"ONNX file not found: {self.onnx_path}")
        if hint not in HINTS:
            raise ConfigurationError(f"unknown OpenVINO performance hint {hint!r}; choose one of {', '.join(HINTS)}")
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be at least 1, got {threads}")
        if shape_cache < 0:
            raise ConfigurationError(f"shape_cache must be 0 or more, got {shape_cache}")
        self.threads, self.hint, self.streams, self.shape_cache = threads, hint, streams, shape_cache
        self._core: Any = None
        self._requests: OrderedDict[tuple[int, ...] | None, Any] = OrderedDict()

    def compile_config(self) -> dict[str, str]:
        """The CPU plugin properties this runner compiles with."""
        return compile_config(self.precision, self.threads, self.hint, self.streams)

    def _activate(self) -> None:
        ov = require("openvino", "the OpenVINO runner")

        self._core = ov.Core()
        if self.precision not in precisions_of_file(self.onnx_path):
            raise ConfigurationError(
                f"{self.onnx_path.name} runs at {', '.join(precisions_of_file(self.onnx_path))}, not {self.precision}"
                + ("; golf-rt quantize makes the *_int8.onnx files" if self.precision == "int8" else "")
            )
        if self.shape_cache == 0:
            self._requests[None] = self._compile(None)
        else:  # compiled per shape on first use; the file is checked now, not at the first image
            read_checked_model(self.onnx_path, self._core)

    def _compile(self, shape: tuple[int, ...] | None) -> Any:
        return compiled_model_from_onnx(self.onnx_path, self.compile_config(), shape, self._core).create_infer_request()

    def _request_for(self, shape: tuple[int, ...]) -> Any:
        if self.shape_cache == 0:
            return self._requests[None]
        request = self._requests.get(shape)
        if request is None:
            request = self._requests[shape] = self._compile(shape)
            while len(self._requests) > self.shape_cache:
                self._requests.popitem(last=False)
        self._requests.move_to_end(shape)
        return request

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        request = self._request_for(batch.shape)
        return np.array(request.infer({0: batch}, share_inputs=True)[0], copy=True)

    def _deactivate(self) -> None:
        self._requests.clear()
        self._core = None


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    onnx_path: str | Path | None = None,
    **options: Any,
) -> OpenVinoRunner:
    """A runner on `onnx_path`, or on the checkpoint's ONNX file of `part` for `precision`.

    OpenVINO lowers an fp32 file to bf16 itself; int8 needs the quantised file, which `ensure_onnx`
    makes (NNCF) when it is neither shipped nor cached.
    """
    if onnx_path is None:
        onnx_path = ensure_onnx(part, iterations, checkpoint, int8=precision == "int8")
    return OpenVinoRunner(onnx_path, precision, **options)
