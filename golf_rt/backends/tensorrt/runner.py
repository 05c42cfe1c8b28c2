"""TensorRT's runner: runs the engine it is handed (`golf_rt.backends.tensorrt.loader`), through the GPU door.

`TensorRTRunner` uses the named-tensor API (`set_input_shape`, `set_tensor_address`,
`execute_async_v3`) on its own CUDA stream. Per batch it picks the optimization profile that takes
the shape and was tuned nearest it (`choose_profile`) and switches the
context to it (`set_optimization_profile_async`); a shape no profile takes is a
`ShapeOutsideProfilesError` (`Deblurrer(backend="auto")` then falls back to the next backend).

Device buffers and pinned host buffers grow to the largest batch seen and are reused. They belong
to the runner, so calls are serialised by the base class's lock: the runner is safe to share
between threads, but runs one batch at a time; for concurrent batches make one runner per thread
(each has its own context, stream and buffers).

Every device call goes through `golf_rt.backends.gpu.door.gpu()`, the real GPU or its CPU
stand-in (GOLF_RT_GPU_STANDIN=1). We keep this thin runner rather than Polygraphy's `TrtRunner`
for the per-call path: it copies through pinned buffers with one synchronisation per call and
does no per-call metadata checks or host allocation.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, loaded, outside_profiles
from golf_rt.backends.gpu.door import gpu
from golf_rt.contract import GPU_TILE_BATCH, INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ConfigurationError, InferenceError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorRTOptions:
    """The runner has nothing to tune: what an engine is built with is `golf_rt.artifacts.engines.BuildOptions`."""


def choose_profile(shape: tuple[int, ...], profiles: tuple[Any, ...]) -> int:
    """The index of the profile that takes `shape` and was tuned nearest its pixel count.

    `profiles`: `golf_rt.artifacts.engines.Profile`s, as the engine's sidecar records them.

    ShapeOutsideProfilesError, naming the profiles, when none takes it.
    """
    fits = [i for i, profile in enumerate(profiles) if profile.accepts(shape)]
    if not fits:
        raise outside_profiles(shape, profiles, TensorRTRunner.profiles_remedy)
    pixels = math.prod(shape)
    return min(fits, key=lambda i: abs(math.log(pixels / math.prod(profiles[i].opt))))


class _Buffer:
    """A device buffer and a pinned host buffer of the same size, grown on demand."""

    def __init__(self, device: Any) -> None:
        self._gpu = device
        self.device, self.host_ptr, self.capacity = 0, 0, 0

    def reserve(self, nbytes: int) -> None:
        if nbytes <= self.capacity:
            return
        self.free()
        device = self._gpu.malloc(nbytes)
        try:
            host = self._gpu.malloc_host(nbytes)
        except BaseException:
            self._gpu.free(device)  # neither half of a failed pair is kept
            raise
        self.device, self.host_ptr, self.capacity = device, host, nbytes

    def host(self, count: int) -> np.ndarray:
        return self._gpu.host_array(self.host_ptr, count)

    def free(self) -> None:
        if self.capacity:
            self._gpu.free(self.device)
            self._gpu.free_host(self.host_ptr)
        self.device, self.host_ptr, self.capacity = 0, 0, 0


class TensorRTRunner(Runner):
    """Runs a deserialized engine with the optimization `profiles` it was built with."""

    name = "tensorrt"
    tile_batch = GPU_TILE_BATCH
    fixed_tile_shape = True  # one shape: the engine's optimum and one CUDA graph
    profiles_remedy = (
        "rebuild with `golf-rt build-engine --profile MIN:OPT:MAX`, or use backend 'auto', which falls back"
    )
    Options = TensorRTOptions

    def __init__(
        self,
        engine: Any,
        *,
        profiles: tuple[Any, ...],
        precision: str = "fp32",
        device: str = "cuda",
        options: TensorRTOptions | None = None,
    ) -> None:
        """`engine`: a TensorRT `ICudaEngine` (or the stand-in's), or a callable that returns one (`engine_from_path`).

        `profiles`: its optimization profiles (`golf_rt.artifacts.engines.Profile`), as its sidecar records them.
        """
        if device != "cuda":
            raise ConfigurationError(f"TensorRT runs on CUDA, not {device!r}")
        if not profiles:
            raise ConfigurationError("an engine needs at least one optimization profile")
        super().__init__(precision)
        self.device, self.options, self.profiles = device, options or TensorRTOptions(), tuple(profiles)
        self.max_batch = max(profile.max[0] for profile in self.profiles)
        self._load: Any = engine
        self._gpu: Any = None
        self._engine = self._context = self._stream = None
        self._profile = -1
        self._buffers: dict[str, _Buffer] = {}

    def _activate(self) -> None:
        self._gpu = gpu()
        self._engine = loaded(self._load)
        self._context = self._gpu.create_context(self._engine)
        self._stream = self._gpu.create_stream()
        self._buffers = {INPUT_NAME: _Buffer(self._gpu), OUTPUT_NAME: _Buffer(self._gpu)}
        self._profile = 0  # a new context starts on profile 0

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        index = choose_profile(batch.shape, self.profiles)
        device, stream = self._gpu, self._stream
        if index != self._profile:
            if not self._context.set_optimization_profile_async(index, stream):
                raise InferenceError(f"TensorRT refused optimization profile {index} ({self.profiles[index]})")
            self._profile = index
        if not self._context.set_input_shape(INPUT_NAME, batch.shape):
            raise InferenceError(f"TensorRT refused input shape {batch.shape} for profile {index}")
        source, target = self._buffers[INPUT_NAME], self._buffers[OUTPUT_NAME]
        for name, buffer in self._buffers.items():
            buffer.reserve(batch.nbytes)
            self._context.set_tensor_address(name, buffer.device)
        source.host(batch.size)[:] = batch.ravel()
        device.copy_to_device(source.device, source.host_ptr, batch.nbytes, stream)
        if not self._context.execute_async_v3(stream):
            raise InferenceError("TensorRT execution failed (see the TensorRT log)")
        device.copy_to_host(target.host_ptr, target.device, batch.nbytes, stream)
        device.synchronize(stream)
        return target.host(batch.size).reshape(batch.shape).copy()

    def _deactivate(self) -> None:
        for buffer in self._buffers.values():
            buffer.free()
        if self._stream is not None:
            self._gpu.destroy_stream(self._stream)
        self._engine = self._context = self._stream = None
        self._buffers = {}


RUNNER = TensorRTRunner
