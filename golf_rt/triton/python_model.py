"""The Triton Python-backend model that runs one golf-rt ONNX file on the CPU.

Each model directory's `1/model.py` re-exports `TritonPythonModel` from here. The model reads its
ONNX file name, runtime (openvino | onnxruntime), thread count and size limit from the config's
`parameters`, and runs golf-rt's own runner for that runtime. Every request is checked first; a
bad one gets its own error response (INVALID_ARG, HTTP 400) while the rest of the batch runs.

Imports only numpy, golf_rt and the runtime: no torch in the server's stub process.
`triton_python_backend_utils` exists only inside that process, so it is imported when used.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, validate_batch
from golf_rt.catalog import TRITON_RUNTIMES as RUNTIMES
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME, SERVED_MAX_PIXELS
from golf_rt.errors import ConfigurationError, GolfError, InferenceError, InvalidImageError

LOGGER = logging.getLogger(__name__)


def request_problem(batch: np.ndarray, max_pixels: int) -> str | None:
    """Why `batch` cannot be deblurred (one sentence), or None: the runners' checks plus this server's size limit."""
    try:
        validate_batch(batch)
    except InvalidImageError as exc:
        return f"{INPUT_NAME}: {exc}"
    height, width = batch.shape[2:]
    if height * width > max_pixels:
        return f"{INPUT_NAME} is {height}x{width} = {height * width:,} pixels, over the limit of {max_pixels:,}"
    return None


def parameters_from_config(model_config: dict) -> dict[str, str]:
    """The string parameters of a Triton model config (as JSON-decoded by the Python backend)."""
    return {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}


def runner_from_parameters(model_dir: Path, parameters: dict[str, str]) -> Runner:
    """The golf-rt runner that `parameters` ask for, on the ONNX file in `model_dir`."""
    from golf_rt.backends import create_runner, options_for

    runtime = parameters.get("runtime", RUNTIMES[0])
    if runtime not in RUNTIMES:
        raise ConfigurationError(f"parameter runtime={runtime!r} is not one of {RUNTIMES}")
    threads = int(parameters.get("threads", "0")) or None
    precision = parameters.get("precision", "auto")  # auto: the shipped model's measured choice on this machine
    return create_runner(
        runtime,
        precision=precision,
        model_file=model_dir / parameters["model_file"],
        options=options_for(runtime, threads=threads),
    )


class TritonPythonModel:
    """Triton's entry point: initialize once per instance, execute per batch of requests."""

    def initialize(self, args: dict[str, str]) -> None:
        """Build the runner from the config's parameters."""
        config = json.loads(args["model_config"])
        parameters = parameters_from_config(config)
        self._max_pixels = int(parameters.get("max_pixels", str(SERVED_MAX_PIXELS)))
        model_dir = Path(args["model_repository"]) / args["model_version"]
        self._runner = runner_from_parameters(model_dir, parameters).activate()
        LOGGER.info("%s: %s on %s", args["model_name"], parameters.get("runtime"), parameters["model_file"])

    def execute(self, requests: list[Any]) -> list[Any]:
        """One response per request, in order; requests of the same size run as one batch."""
        import triton_python_backend_utils as pb_utils

        responses: list[Any] = [None] * len(requests)
        groups: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for i, request in enumerate(requests):
            batch = pb_utils.get_input_tensor_by_name(request, INPUT_NAME).as_numpy()
            problem = request_problem(batch, self._max_pixels)
            if problem is not None:
                responses[i] = _error(pb_utils, problem, pb_utils.TritonError.INVALID_ARG)
            else:
                groups.setdefault(batch.shape[2:], []).append((i, batch))
        for members in groups.values():
            try:
                output = self._runner.deblur(np.concatenate([b for _, b in members]), check_inputs=False)
            except Exception as exc:  # noqa: BLE001 - a failure must become a response, not a crash
                message, code = _error_for(exc, pb_utils)
                for i, _ in members:
                    responses[i] = _error(pb_utils, message, code)
                continue
            start = 0
            for i, batch in members:
                part = np.ascontiguousarray(output[start : start + len(batch)], dtype=np.float32)
                responses[i] = pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(OUTPUT_NAME, part)])
                start += len(batch)
        return responses

    def finalize(self) -> None:
        """Free the runner (and its runtime session)."""
        self._runner.deactivate()


def _error_for(exc: Exception, pb_utils: Any) -> tuple[str, Any]:
    """(message, Triton error code): a request golf-rt refuses is INVALID_ARG (HTTP 400), a failed run INTERNAL."""
    if isinstance(exc, GolfError) and not isinstance(exc, InferenceError):
        return str(exc), pb_utils.TritonError.INVALID_ARG
    LOGGER.error("inference failed", exc_info=exc)
    message = str(exc) if isinstance(exc, InferenceError) else f"inference failed: {exc}"
    return message, pb_utils.TritonError.INTERNAL


def _error(pb_utils: Any, message: str, code: Any) -> Any:
    return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message, code))
