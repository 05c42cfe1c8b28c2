"""ONNX Runtime's runner: runs an `InferenceSession` it is handed (`golf_rt.backends.onnxruntime.loader`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, loaded, positive_threads
from golf_rt.catalog import backend_record
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError

DEVICES = tuple(backend_record("onnxruntime").precisions)
"""Where a session runs: the CPU, or the CUDA or TensorRT execution provider (onnxruntime-gpu)."""


@dataclass(frozen=True)
class OnnxRuntimeOptions:
    """`threads`: intra-op threads of the session (None: every usable core); the loader reads it."""

    threads: int | None = None

    def __post_init__(self) -> None:
        positive_threads(self.threads)


class OnnxRuntimeRunner(Runner):
    """Runs one InferenceSession, or the one its loader makes on activation; calls may run concurrently."""

    name = "onnxruntime"
    concurrent_calls = True  # InferenceSession.run is thread-safe
    Options = OnnxRuntimeOptions

    def __init__(
        self, session: Any, *, precision: str = "fp32", device: str = "cpu", options: OnnxRuntimeOptions | None = None
    ) -> None:
        """`session`: an `onnxruntime.InferenceSession`, or a callable that returns one."""
        if device not in DEVICES:
            raise ConfigurationError(f"unknown ONNX Runtime device {device!r}; choose one of {', '.join(DEVICES)}")
        super().__init__(precision)
        self.device, self.options = device, options or OnnxRuntimeOptions()
        self._load, self._session = session, None

    def _activate(self) -> None:
        self._session = loaded(self._load)

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def _runtime_errors(self) -> tuple[type[BaseException], ...]:
        """ONNX Runtime's own exceptions derive from Exception, not RuntimeError."""
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        return (*super()._runtime_errors(), state.Fail, state.RuntimeException, state.EPFail, state.InvalidArgument)

    def _deactivate(self) -> None:
        self._session = None


RUNNER = OnnxRuntimeRunner
