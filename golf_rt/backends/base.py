"""The one interface every backend implements: a `Runner` deblurs N x 3 x H x W float32 batches.

The base class validates a batch before a backend sees it, so every backend rejects bad input
with the same `InvalidImageError`. A runner is handed what it runs, as Polygraphy's
`OnnxrtRunner(sess)` is: the runtime object (module, session, model, engine) or a loader, a
callable that makes it (`golf_rt.backends.<name>.loader`); it never knows where a file came from.
Whether the backend runs the runner's precision here is checked once, by
`golf_rt.backends.create_runner`, which composes file, loader and runner.
Runners are context managers: entering calls the loader, leaving frees what it made; `deblur`
activates on first use too.

A runner may be shared by threads. Calls are serialised unless the backend declares that its
runtime runs concurrent calls safely (`concurrent_calls`: ONNX Runtime's `InferenceSession.run`
is); an OpenVINO infer request, a TensorRT context or a CUDA graph serves one call at a time.
On the CPU one call already keeps every core busy (latency hint), so serialising costs nothing.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
from typing import Any, ClassVar

import numpy as np

from golf_rt.contract import CHANNELS, MAX_PIXELS, MIN_SIDE, PRECISIONS
from golf_rt.errors import (
    ConfigurationError,
    GolfError,
    InferenceError,
    InvalidImageError,
    ModelFileError,
    ShapeOutsideProfilesError,
)

logger = logging.getLogger(__name__)


def validate_batch(batch: object, check_values: bool = True) -> np.ndarray:
    """The batch as a C-contiguous N x 3 x H x W float32 array, or InvalidImageError naming the problem.

    The type and shape are always checked (a few comparisons); `check_values=False` skips the scan
    for NaN and Inf, a full pass over the pixels, for a batch its maker has already checked.
    """
    if not isinstance(batch, np.ndarray):
        raise InvalidImageError(f"batch must be a numpy array, got {type(batch).__name__}")
    if batch.dtype != np.float32:
        raise InvalidImageError(f"batch must be float32, got {batch.dtype}")
    if batch.ndim != 4 or batch.shape[1] != CHANNELS:
        raise InvalidImageError(f"batch must be N x {CHANNELS} x H x W, got shape {batch.shape}")
    n, _, height, width = batch.shape
    if n == 0:
        raise InvalidImageError("batch is empty (N = 0)")
    if height < MIN_SIDE or width < MIN_SIDE or height * width > MAX_PIXELS:
        raise InvalidImageError(
            f"batch images are {width}x{height} (width x height); sides must be at least {MIN_SIDE} "
            f"and area at most {MAX_PIXELS:,}"
        )
    if check_values and not np.isfinite(batch).all():
        raise InvalidImageError("batch contains NaN or Inf")
    return np.ascontiguousarray(batch)


def loaded(model: Any, kind: type | tuple[type, ...] = ()) -> Any:
    """`model` itself when it is a runtime object, or what it returns when it is a loader.

    `kind`: the runtime object's type, for objects that are callable themselves (a torch module).
    """
    if (kind and isinstance(model, kind)) or not callable(model):
        return model
    return model()


def positive_threads(threads: int | None) -> None:
    """ConfigurationError unless `threads` is None (every usable core) or at least 1."""
    if threads is not None and threads < 1:
        raise ConfigurationError(f"threads must be at least 1, got {threads}")


def check_model_io(path: object, inputs: list[tuple[str, int]], outputs: list[tuple[str, int]]) -> None:
    """A loaded model file must take `BLURRY` and give `SHARP`, both of rank 4: else ModelFileError.

    `inputs` / `outputs` are (name, rank) pairs as the runtime reports them (rank -1: unknown).
    """
    from golf_rt.contract import INPUT_NAME, OUTPUT_NAME

    want = ([INPUT_NAME], [OUTPUT_NAME])
    got = ([name for name, _ in inputs], [name for name, _ in outputs])
    ranks = [rank for _, rank in inputs + outputs]
    if got != want or any(rank not in (4, -1) for rank in ranks):
        raise ModelFileError(
            f"{path} is not a golf-rt model: it takes {got[0]} and gives {got[1]} (ranks {ranks}); "
            f"golf-rt models take {want[0]} and give {want[1]}, both N x 3 x H x W"
        )


def outside_profiles(shape: tuple[int, ...], profiles: tuple[Any, ...], remedy: str) -> ShapeOutsideProfilesError:
    """The error for a batch no optimization profile takes, naming the profiles and what to do."""
    listed = ", ".join(str(p) for p in profiles)
    return ShapeOutsideProfilesError(
        f"batch {'x'.join(map(str, shape))} is outside every optimization profile of the engine ({listed}); {remedy}"
    )


class Runner(abc.ABC):
    """Deblurs batches with one backend at one precision."""

    name: ClassVar[str]
    concurrent_calls: ClassVar[bool] = False
    """Whether the runtime object runs calls from several threads at once safely."""
    tile_batch: ClassVar[int] = 1
    """Tiles per call when an image is deblurred in tiles (`golf_rt.images.tiles`): 1 on a CPU, more on a GPU."""
    fixed_tile_shape: bool = False
    """Whether every tile should be the full tile size (one engine shape, one CUDA graph), not as even as they go."""
    max_batch: int | None = None
    """The largest batch the runner takes in one call (None: any); larger batches are split."""
    profiles: tuple[Any, ...] = ()
    """The optimization profiles (`golf_rt.artifacts.engines.Profile`) of the engine it runs, which bound the
    shape of every call (TensorRT, ONNX Runtime's TensorRT provider); (): any shape."""
    profiles_remedy: ClassVar[str] = "use backend 'auto', which falls back"
    """What to do about a batch outside `profiles`, said in its `ShapeOutsideProfilesError`."""

    def __init__(self, precision: str = "fp32") -> None:
        """`precision`: what the runner runs at, one of `golf_rt.contract.PRECISIONS`."""
        if precision not in PRECISIONS:
            raise ConfigurationError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self._active = False
        self._lock = threading.RLock()

    @property
    def is_active(self) -> bool:
        return self._active

    def takes(self, shape: tuple[int, ...]) -> bool:
        """Whether one call may be a batch of `shape`: inside one of `profiles`, where the runner has any."""
        return not self.profiles or any(profile.accepts(tuple(shape)) for profile in self.profiles)

    def activate(self) -> Runner:
        """Load the model; idempotent, and once only when threads race to the first call."""
        with self._lock:
            if not self._active:
                self._activate()
                self._active = True
        return self

    def deactivate(self) -> None:
        """Free the model; idempotent; waits for a call in progress."""
        with self._lock:
            if self._active:
                self._deactivate()
                self._active = False

    def deblur(self, batch: np.ndarray, check_inputs: bool = True) -> np.ndarray:
        """N x 3 x H x W float32 in [0, 1] -> N x 3 x H x W float32 (not clipped).

        `check_inputs=False`: the caller checked the values already (`golf_rt.images.prepare`, a
        server's request check), so they are not scanned again; the shape always is.

        A batch outside the runner's `profiles` is a ShapeOutsideProfilesError before the runtime sees it.
        A runtime's own failure on a valid batch (out of memory, a device error) becomes an
        InferenceError; any other exception is a bug and passes through untouched.
        """
        batch = validate_batch(batch, check_values=check_inputs)
        if not self.takes(batch.shape):
            raise outside_profiles(batch.shape, self.profiles, self.profiles_remedy)
        self.activate()
        try:
            with contextlib.nullcontext() if self.concurrent_calls else self._lock:
                return self._deblur(batch)
        except GolfError:
            raise
        except self._runtime_errors() as exc:
            shape = "x".join(str(d) for d in batch.shape)
            raise InferenceError(f"{self.name} ({self.precision}) failed on a {shape} batch: {exc}") from exc

    def _runtime_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions this backend's runtime raises when running fails (torch and OpenVINO: RuntimeError)."""
        return (RuntimeError, MemoryError)

    def __enter__(self) -> Runner:
        return self.activate()

    def __exit__(self, *exc_info: object) -> None:
        self.deactivate()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(precision={self.precision!r})"

    @abc.abstractmethod
    def _activate(self) -> None: ...

    @abc.abstractmethod
    def _deblur(self, batch: np.ndarray) -> np.ndarray: ...

    def _deactivate(self) -> None:  # noqa: B027 - most backends free everything by dropping references
        """Drop the loaded model."""
