"""OpenVINO on the CPU: fp32, and bf16 on processors with native bf16 (AVX512-BF16 or AMX).

OpenVINO picks bf16 by itself on such processors, so fp32 is asked for explicitly through
INFERENCE_PRECISION_HINT. The latency hint with one stream puts every core on one image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.environment import cpu_has_native_bf16
from golf_rt.errors import BackendUnavailableError

HINTS = ("LATENCY", "THROUGHPUT")
_OV_PRECISION = {"fp32": "f32", "bf16": "bf16"}


class OpenVinoRunner(Runner):
    """One compiled OpenVINO model from an ONNX file, on the CPU."""

    name = "openvino"
    precisions = ("fp32", "bf16")

    @classmethod
    def supported_precisions(cls) -> tuple[str, ...]:
        """fp32 everywhere; bf16 only where the CPU computes it natively (elsewhere it is emulated and slow)."""
        return cls.precisions if cpu_has_native_bf16() else ("fp32",)

    def __init__(
        self,
        onnx_path: str | Path,
        precision: str = "fp32",
        threads: int | None = None,
        hint: str = "LATENCY",
        streams: int | None = None,
    ) -> None:
        super().__init__(precision)
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            raise BackendUnavailableError(f"ONNX file not found: {self.onnx_path}")
        if hint not in HINTS:
            raise BackendUnavailableError(
                f"unknown OpenVINO performance hint {hint!r}; choose one of {', '.join(HINTS)}"
            )
        if threads is not None and threads < 1:
            raise BackendUnavailableError(f"threads must be at least 1, got {threads}")
        self.threads, self.hint, self.streams = threads, hint, streams
        self._request = None

    def compile_config(self) -> dict[str, str]:
        """The CPU plugin properties this runner compiles with."""
        config = {"PERFORMANCE_HINT": self.hint, "INFERENCE_PRECISION_HINT": _OV_PRECISION[self.precision]}
        if self.threads is not None:
            config["INFERENCE_NUM_THREADS"] = str(self.threads)
        if self.streams is not None:
            config["NUM_STREAMS"] = str(self.streams)
        return config

    def _activate(self) -> None:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(self.onnx_path)), "CPU", self.compile_config())
        self._request = compiled.create_infer_request()

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        return np.array(self._request.infer({0: batch}, share_inputs=True)[0], copy=True)

    def _deactivate(self) -> None:
        self._request = None
