"""`Deblurrer`: the one-line way to deblur images in-process with the fastest path here.

backend="auto" takes the first available backend of `AUTO_ORDER` that runs the asked precision
(any, for precision="auto"); precision="auto" then takes that backend's fastest precision within
the accuracy budget, from the table measured with the model (`golf_rt.backends.precision_table`).
The order is static, from measurements, not a race at start-up (which would cost seconds and
give different backends on a busy machine):

- TensorRT, when there is an NVIDIA GPU: a GPU beats every CPU path by an order of magnitude;
  an image outside its engines' optimization profiles goes to the next backend here instead;
- PyTorch on CUDA, when there is a GPU and torch has CUDA (TensorRT not installed);
- OpenVINO on the CPU: 1.15-1.3x faster than ONNX Runtime at fp32 and 2.2x at bf16 on an
  AVX512-BF16 processor (F + 3 G at 1x3x256x256, `benchmarks/test_cpu_backends.py`);
- ONNX Runtime, then PyTorch eager (the slowest, and a 700 MB install).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from golf_rt import images
from golf_rt.backends import AUTO, Runner, available_backends, create_runner
from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.tensorrt_settings import ShapeOutsideProfilesError

logger = logging.getLogger(__name__)

AUTO_ORDER = ("tensorrt", "openvino", "onnxruntime", "torch")
GPU_ORDER = ("tensorrt", "torch", "openvino", "onnxruntime")
"""The order where torch runs on CUDA: PyTorch on the GPU before every CPU backend."""


def auto_order() -> tuple[str, ...]:
    """AUTO_ORDER, or GPU_ORDER where the torch runner has CUDA here."""
    from golf_rt.backends import precisions_here

    return GPU_ORDER if "cuda" in precisions_here("torch") else AUTO_ORDER


def auto_backend(precision: str = AUTO, skip: tuple[str, ...] = ()) -> str:
    """The fastest backend available here that runs `precision` ("auto": any precision), but those in `skip`."""
    here = {name: runs for name, runs in available_backends().items() if name not in skip}
    for backend in auto_order():
        if backend in here and (precision == AUTO or precision in here[backend]):
            return backend
    offered = ", ".join(f"{name} ({'/'.join(p)})" for name, p in here.items()) or "none"
    raise BackendUnavailableError(f"no backend here runs {precision}; available: {offered}")


class Deblurrer:
    """Deblur numpy arrays, PIL images, paths or batches of them; results come back as given.

    >>> deblurrer = Deblurrer()
    >>> sharp = deblurrer.deblur("blurry.png")
    """

    def __init__(
        self,
        backend: str = "auto",
        precision: str = AUTO,
        iterations: int = DEFAULT_ITERATIONS,
        checkpoint: str | Path | None = None,
        **options: Any,
    ) -> None:
        if precision != AUTO and precision not in PRECISIONS:
            raise ConfigurationError(f"unknown precision {precision!r}; choose one of {', '.join((*PRECISIONS, AUTO))}")
        self.backend = auto_backend(precision) if backend == "auto" else backend
        self.iterations, self.checkpoint = iterations, checkpoint
        self._fallback: Runner | None = None
        self._fallback_args = (precision, iterations, checkpoint) if backend == "auto" else None
        self.runner: Runner = create_runner(self.backend, precision, iterations, checkpoint, **options)
        self.precision = self.runner.precision
        logger.info("deblurring with %s at %s, %d iterations of G", self.backend, self.precision, iterations)

    def deblur(self, image: images.ImageLike) -> Any:
        """One image or a batch of equal-size images, returned in the caller's kind (see golf_rt.images)."""
        prepared = images.prepare(image)
        try:
            return prepared.restore(self.runner.deblur(prepared.batch))
        except ShapeOutsideProfilesError as exc:
            if self._fallback_args is None:
                raise
            return prepared.restore(self._fallback_runner(exc).deblur(prepared.batch))

    def _fallback_runner(self, why: Exception) -> Runner:
        """The next backend of the auto order, for the images TensorRT's engines do not take (made once)."""
        if self._fallback is None:
            precision, iterations, checkpoint = self._fallback_args
            backend = auto_backend(precision, skip=(self.backend,))
            self._fallback = create_runner(backend, precision, iterations, checkpoint)
            logger.warning("%s; deblurring such images with %s %s", why, backend, self._fallback.precision)
        return self._fallback

    def close(self) -> None:
        self.runner.deactivate()
        if self._fallback is not None:
            self._fallback.deactivate()

    def __enter__(self) -> Deblurrer:
        self.runner.activate()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Deblurrer(backend={self.backend!r}, precision={self.precision!r}, iterations={self.iterations})"
