"""The Python-backend model's request checks and runner choice, outside Triton."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from golf_rt.errors import ConfigurationError, InferenceError, InvalidImageError
from golf_rt.triton.python_model import _error_for, parameters_from_config, request_problem, runner_from_parameters


@pytest.mark.parametrize(
    ("batch", "problem"),
    [
        (np.zeros((1, 3, 8), np.float32), "N x 3 x H x W"),
        (np.zeros((1, 1, 8, 8), np.float32), "N x 3 x H x W"),
        (np.zeros((1, 3, 8, 8), np.float64), "float32"),
        (np.zeros((0, 3, 8, 8), np.float32), "empty"),
        (np.zeros((1, 3, 0, 8), np.float32), "at least"),
        (np.full((1, 3, 8, 8), np.nan, np.float32), "NaN"),
        (np.zeros((1, 3, 11, 10), np.float32), "over the limit of 100"),
    ],
)
def test_request_problem_names_the_problem(batch: np.ndarray, problem: str) -> None:
    assert problem in request_problem(batch, max_pixels=100)


def test_valid_batch_has_no_problem() -> None:
    assert request_problem(np.zeros((2, 3, 10, 10), np.float32), max_pixels=100) is None


def test_parameters_are_read_from_the_backends_json() -> None:
    config = json.loads('{"parameters": {"runtime": {"string_value": "onnxruntime"}}}')
    assert parameters_from_config(config) == {"runtime": "onnxruntime"}
    assert parameters_from_config({}) == {}


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_runner_from_parameters_runs_the_named_runtime(onnx_files: dict[str, Path], runtime: str, blurry_batch) -> None:
    path = onnx_files["f"]
    runner = runner_from_parameters(path.parent, {"model_file": path.name, "runtime": runtime, "threads": "1"})
    assert runner.name == runtime
    with runner:
        assert runner.deblur(blurry_batch).shape == blurry_batch.shape


def test_unknown_runtime_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="openvino"):
        runner_from_parameters(tmp_path, {"model_file": "f.onnx", "runtime": "tvm"})


class _Codes:
    """The two error codes of `triton_python_backend_utils.TritonError` the model uses."""

    class TritonError:
        INVALID_ARG, INTERNAL = "INVALID_ARG", "INTERNAL"


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (InvalidImageError("batch 1x3x9000x9000 is outside the engine's profile"), "INVALID_ARG", "outside"),
        (InferenceError("openvino (fp32) failed on a 1x3x8x8 batch: out of memory"), "INTERNAL", "out of memory"),
        (RuntimeError("segfault in a plugin"), "INTERNAL", "inference failed: segfault"),
    ],
)
def test_a_refused_request_is_invalid_arg_and_a_failed_run_is_internal(exc, code, message) -> None:
    got_message, got_code = _error_for(exc, _Codes)
    assert got_code == code and message in got_message
