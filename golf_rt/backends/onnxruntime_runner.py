"""ONNX Runtime: any of the ONNX files on the CPU, or on CUDA / TensorRT with onnxruntime-gpu."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.extras import require
from golf_rt.onnx_files import META_PRECISION, read_onnx_metadata

PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


def onnx_precision(path: str | Path) -> str:
    """The precision an ONNX file was exported at ("fp32" when it does not say)."""
    return read_onnx_metadata(path).get(META_PRECISION, "fp32")


class OnnxRuntimeRunner(Runner):
    """One InferenceSession on an ONNX file; the file's own precision (fp32 or fp16 ONNX) is the runner's."""

    name = "onnxruntime"
    precisions = ("fp32", "fp16")

    def __init__(self, onnx_path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            raise ConfigurationError(f"ONNX file not found: {self.onnx_path}")
        super().__init__(onnx_precision(self.onnx_path))
        if device not in PROVIDERS:
            raise ConfigurationError(f"unknown ONNX Runtime device {device!r}; choose one of {', '.join(PROVIDERS)}")
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be at least 1, got {threads}")
        self.device, self.threads = device, threads
        self._session = None

    def session_options(self):  # noqa: ANN201 - onnxruntime is imported lazily
        """Full graph optimisation (NCHWc layout on x86) and a fixed pool of spinning intra-op threads."""
        ort = require("onnxruntime", "the ONNX Runtime runner")

        from golf_rt.environment import cpu_cores

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads or cpu_cores()
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = True
        options.log_severity_level = 3
        return options

    def _activate(self) -> None:
        ort = require("onnxruntime", "the ONNX Runtime runner")

        wanted = PROVIDERS[self.device]
        if wanted[0] not in ort.get_available_providers():
            raise BackendUnavailableError(
                f"ONNX Runtime here has no {wanted[0]} (available: {', '.join(ort.get_available_providers())}); "
                f"install onnxruntime-gpu on a machine with an NVIDIA GPU"
            )
        providers: list = list(wanted)
        if self.device == "tensorrt":
            providers[0] = ("TensorrtExecutionProvider", {"trt_fp16_enable": self.precision == "fp16"})
        self._session = ort.InferenceSession(str(self.onnx_path), self.session_options(), providers=providers)

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def _runtime_errors(self) -> tuple[type[BaseException], ...]:
        """ONNX Runtime's own exceptions derive from Exception, not RuntimeError."""
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        return (*super()._runtime_errors(), state.Fail, state.RuntimeException, state.EPFail, state.InvalidArgument)

    def _deactivate(self) -> None:
        self._session = None
