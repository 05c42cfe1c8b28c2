"""ONNX Runtime's runner: runs an `InferenceSession` it is handed (`golf_rt.backends.onnxruntime.loader`).

On the TensorRT provider (device "tensorrt") the session runs engines built for the optimization
profiles the loader gave the provider, so the runner has the TensorRT runner's limits: those
profiles bound every call (a batch outside them is a `ShapeOutsideProfilesError`, from which
`Deblurrer(backend="auto")` falls back), and tiles go `GPU_TILE_BATCH` at a time, all of one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, loaded, positive_threads
from golf_rt.catalog import backend_record
from golf_rt.contract import GPU_TILE_BATCH, INPUT_NAME, OUTPUT_NAME
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
    profiles_remedy = (
        "ONNX Runtime's TensorRT provider builds engines for these only: deblur in tiles (the default), "
        "or on device 'cuda'"
    )
    Options = OnnxRuntimeOptions

    def __init__(
        self,
        session: Any,
        *,
        precision: str = "fp32",
        device: str = "cpu",
        options: OnnxRuntimeOptions | None = None,
        provider_profiles: tuple[Any, ...] = (),
    ) -> None:
        """`session`: an `onnxruntime.InferenceSession`, or a callable that returns one.

        `provider_profiles`: the optimization profiles the TensorRT provider builds its engines for
        (`golf_rt.artifacts.engines.Profile`s); on device "tensorrt" they bound every call.
        """
        if device not in DEVICES:
            raise ConfigurationError(f"unknown ONNX Runtime device {device!r}; choose one of {', '.join(DEVICES)}")
        if device == "tensorrt" and not provider_profiles:
            raise ConfigurationError("the TensorRT provider needs the optimization profiles it builds engines for")
        super().__init__(precision)
        self.device, self.options = device, options or OnnxRuntimeOptions()
        if device == "tensorrt":
            self.profiles = tuple(provider_profiles)
            self.max_batch = max(profile.max[0] for profile in self.profiles)
            self.tile_batch, self.fixed_tile_shape = GPU_TILE_BATCH, True
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
