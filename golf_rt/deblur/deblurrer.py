"""`Deblurrer`: the one-line way to deblur images in-process with the fastest path here.

backend="auto" takes the first available backend of `auto_order()` that runs the asked precision
(any, for precision="auto"); precision="auto" then takes that backend's fastest precision within
the accuracy budget, from the table measured with the model (`golf_rt.artifacts.precision_table`).
The order is static, from measurements, not a race at start-up (which would cost seconds and
give different backends on a busy machine):

- TensorRT, when there is an NVIDIA GPU: a GPU beats every CPU path by an order of magnitude;
  its engine must take the batches of tiles it will be sent (a cached one built for other
  profiles that does not is passed over for one that does); a shape outside its engine's
  optimization profiles goes to the next backend here instead;
- PyTorch on CUDA, when there is a GPU and torch has CUDA (TensorRT not installed);
- OpenVINO on the CPU: 1.15-1.3x faster than ONNX Runtime at fp32 and 2.2x at bf16 on an
  AVX512-BF16 processor (F + 3 G at 1x3x256x256, `benchmarks/test_cpu_backends.py`);
- ONNX Runtime, then PyTorch eager (the slowest, and a 700 MB install).

A backend that is installed but cannot start (TensorRT without Polygraphy or cuda-python, a GPU
held by another process, out of memory while an engine builds) is logged and skipped: "auto"
steps down to the next one. A backend named explicitly raises instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import golf_rt.images as images
from golf_rt.backends import AUTO, Runner, available_backends, create_runner, validate_batch
from golf_rt.catalog import CPU_ORDER, GPU_ORDER, backend_record
from golf_rt.contract import CHANNELS, CPU_TILE_SIZE, DEFAULT_ITERATIONS, PRECISIONS
from golf_rt.errors import (
    BackendUnavailableError,
    ConfigurationError,
    EngineMismatchError,
    ExportError,
    InferenceError,
    ShapeOutsideProfilesError,
)
from golf_rt.images.arrays import Photo, checked_photo, is_one_image
from golf_rt.images.tiles import WHOLE, Progress, Tiling, run_in_strips, run_in_tiles, tiles_per_call, tiling_from

logger = logging.getLogger(__name__)

STEP_DOWN = (BackendUnavailableError, EngineMismatchError, ExportError, InferenceError)
"""Why a backend may fail to start though it is installed (no Polygraphy or cuda-python, a GPU held
by another process, out of memory while an engine builds): "auto" then starts the next one."""


def auto_order() -> tuple[str, ...]:
    """CPU_ORDER, or GPU_ORDER (PyTorch on the GPU before every CPU backend) where the torch runner has CUDA here."""
    from golf_rt.backends import precisions_here

    return GPU_ORDER if "cuda" in precisions_here("torch") else CPU_ORDER


def auto_backends(precision: str = AUTO, skip: tuple[str, ...] = ()) -> list[str]:
    """The backends available here that run `precision` ("auto": any), fastest first, but those in `skip`."""
    here = {name: runs for name, runs in available_backends().items() if name not in skip}
    found = [b for b in auto_order() if b in here and (precision == AUTO or precision in here[b])]
    if not found:
        offered = ", ".join(f"{name} ({'/'.join(p)})" for name, p in here.items()) or "none"
        raise BackendUnavailableError(f"no backend here runs {precision}; available: {offered}")
    return found


def auto_backend(precision: str = AUTO, skip: tuple[str, ...] = ()) -> str:
    """The fastest backend available here that runs `precision` ("auto": any precision), but those in `skip`."""
    return auto_backends(precision, skip)[0]


def tile_batches(runner: Runner, tiling: Tiling) -> list[tuple[int, ...]]:
    """The shapes of the batches of whole tiles `tiling` hands `runner`: 1 to its tiles per call ([]: whole images)."""
    most = tiles_per_call(runner.tile_batch, runner.max_batch) if tiling.size else 0
    return [(n, CHANNELS, tiling.size, tiling.size) for n in range(1, most + 1)]


def runner_for_tiles(backend: str, tiling: Tiling, **settings: Any) -> Runner:
    """`create_runner(backend, **settings)`, whose engine takes every batch of tiles `tiling` will send it.

    A TensorRT engine left in the cache for other profiles (`golf-rt build-engine --profile`) is used
    as built where it takes them; where not, with one note, the engine of the tile's profiles
    (`tile_profiles`: the default ones for the default tile), built the first time.
    """
    runner = create_runner(backend, **settings)
    if backend_record(backend).runs != "plan" or all(map(runner.takes, tile_batches(runner, tiling))):
        return runner
    from golf_rt.artifacts.engines import BuildOptions, tile_profiles

    profiles = tile_profiles(tiling.size)
    logger.warning(
        "the cached %s engine (profiles %s) cannot take the tiles of %d x %d, up to %d per call; using the engine "
        "of profiles %s instead (built now if there is none)", backend, ", ".join(map(str, runner.profiles)),
        tiling.size, tiling.size, len(tile_batches(runner, tiling)), ", ".join(map(str, profiles)),
    )  # fmt: skip
    return create_runner(backend, **settings, build=BuildOptions(profiles=profiles))


def start_first(
    candidates: list[str], *, precision: str, iterations: int, checkpoint: Any, tiling: Tiling = WHOLE
) -> Runner:
    """The first of `candidates` whose runner can be made and activated here, for `tiling`; each failure is logged."""
    failures, settings = [], {"precision": precision, "iterations": iterations, "checkpoint": checkpoint}
    for backend in candidates:
        try:
            return runner_for_tiles(backend, tiling, **settings).activate()
        except STEP_DOWN as exc:
            logger.warning("%s could not start here (%s); trying the next backend", backend, exc)
            failures.append(f"{backend}: {exc}")
    raise BackendUnavailableError("no backend could start here: " + "; ".join(failures))


class Deblurrer:
    """Deblur numpy arrays, PIL images, paths or batches of them; results come back as given.

    Images larger than a tile (`tile`; by default `golf_rt.contract.CPU_TILE_SIZE` for runners
    that take any shape, `TILE_SIZE` for GPU engines) are deblurred in tiles, so memory stays
    bounded whatever their size; `tile=0` runs every image whole.
    `device` and `options` (the backend's options dataclass, `golf_rt.backends.options_for`) go to
    the runner of a named backend (`golf_rt.backends.create_runner`); "auto" takes the defaults.

    >>> deblurrer = Deblurrer()
    >>> sharp = deblurrer.deblur("blurry.png")
    """

    def __init__(
        self,
        backend: str = "auto",
        *,
        precision: str = AUTO,
        iterations: int = DEFAULT_ITERATIONS,
        checkpoint: str | Path | None = None,
        tile: int | Tiling | None = None,
        device: str | None = None,
        options: Any = None,
    ) -> None:
        if precision != AUTO and precision not in PRECISIONS:
            raise ConfigurationError(f"unknown precision {precision!r}; choose one of {', '.join((*PRECISIONS, AUTO))}")
        if backend == "auto" and (device is not None or options is not None):
            raise ConfigurationError("device and options belong to one backend: name it (backend='openvino', ...)")
        self.tiling = tiling_from(tile)
        self.iterations, self.checkpoint = iterations, checkpoint
        self._fallback: Runner | None = None
        self._fallback_lock = threading.Lock()
        settings = {"precision": precision, "iterations": iterations, "checkpoint": checkpoint}
        self._fallback_settings = settings if backend == "auto" else None
        if backend == "auto":
            self.runner: Runner = start_first(auto_backends(precision), **settings, tiling=self.tiling)
        else:
            self.runner = runner_for_tiles(backend, self.tiling, **settings, device=device, options=options)
        self.backend, self.precision = self.runner.name, self.runner.precision
        if self.runner.fixed_tile_shape:
            self.tiling = replace(self.tiling, even=False)
        elif tile is None:  # a runner that takes any shape: the tile measured for CPUs
            self.tiling = Tiling(CPU_TILE_SIZE)
        logger.info("deblurring with %s at %s, %d iterations of G", self.backend, self.precision, iterations)

    def deblur(self, image: images.ImageLike, progress: Progress | None = None) -> Any:
        """One image or a batch of equal-size images, returned in the caller's kind (see golf_rt.images).

        One image larger than a tile goes through in bands of rows (`deblur_photo`), so that only
        the image, its result and one band of tiles are held, whatever its size.
        """
        if is_one_image(image):
            return self.deblur_photo(checked_photo(image), progress)
        prepared = images.prepare(image)
        return prepared.restore(self.deblur_batch(prepared.batch, progress, check_inputs=False))

    def deblur_photo(self, photo: Photo, progress: Progress | None = None) -> Any:
        """One checked photo (`image_arrays.checked_photo`), whole, or in bands of rows where larger than a tile."""
        if not self.tiling.splits(photo.height, photo.width):
            prepared = photo.prepared()
            return prepared.restore(self.deblur_batch(prepared.batch, progress, check_inputs=False))
        result = photo.new_result()
        run_in_strips(self._run, photo.height, photo.width, photo.region,
                      lambda top, rows: photo.write_rows(result, top, rows), self.tiling,
                      tiles_per_call(self.runner.tile_batch, self.runner.max_batch),
                      progress)  # fmt: skip
        return photo.finish(result)

    def deblur_batch(self, batch: Any, progress: Progress | None = None, check_inputs: bool = True) -> Any:
        """An N x 3 x H x W float32 batch in [0, 1] -> the same shape, in tiles where larger than one.

        The batch is checked once, here (`check_inputs=False`: the caller did, as `prepare` does),
        never again per tile. `progress(done, total)` is called after each batch of tiles.
        """
        batch = validate_batch(batch, check_values=check_inputs)
        return run_in_tiles(self._run, batch, self.tiling, self.runner.tile_batch, self.runner.max_batch, progress)

    def _run(self, batch: Any) -> Any:
        try:
            return self.runner.deblur(batch, check_inputs=False)
        except ShapeOutsideProfilesError:
            if self._fallback_settings is None:
                raise
            return self._fallback_runner(batch.shape).deblur(batch, check_inputs=False)

    def _fallback_runner(self, shape: tuple[int, ...]) -> Runner:
        """The next backend of the auto order, for the shapes the engine does not take (made once, by one thread)."""
        with self._fallback_lock:
            if self._fallback is None:
                settings = self._fallback_settings
                self._fallback = start_first(auto_backends(settings["precision"], skip=(self.backend,)), **settings,
                                             tiling=self.tiling)  # fmt: skip
                logger.warning(
                    "batch %s is outside every optimization profile of the %s engine (%s); deblurring such batches "
                    "with %s %s", "x".join(map(str, shape)), self.backend, ", ".join(map(str, self.runner.profiles)),
                    self._fallback.name, self._fallback.precision,
                )  # fmt: skip
            return self._fallback

    def close(self) -> None:
        self.runner.deactivate()
        with self._fallback_lock:
            if self._fallback is not None:
                self._fallback.deactivate()

    def __enter__(self) -> Deblurrer:
        self.runner.activate()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Deblurrer(backend={self.backend!r}, precision={self.precision!r}, iterations={self.iterations}, "
            f"tile={self.tiling.size})"
        )
