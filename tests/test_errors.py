"""Each kind of failure raises its own error, under the one root a caller can catch."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import golf_rt
from golf_rt import errors
from golf_rt.backends import create_runner
from golf_rt.backends.base import Runner
from golf_rt.client import GolfClientError
from golf_rt.contract import MAX_SIDE
from golf_rt.errors import (
    BackendUnavailableError,
    CheckpointError,
    ConfigurationError,
    GolfError,
    InferenceError,
    InvalidImageError,
    MissingPackageError,
)
from golf_rt.machine import extras


class Failing(Runner):
    """A runner whose backend fails with the exception it is given."""

    name = "failing"

    def __init__(self, exc: BaseException, precision: str = "fp32") -> None:
        super().__init__(precision)
        self.exc = exc

    def _activate(self) -> None:
        pass

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        raise self.exc


def _hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make `module` absent for this test, as on a machine without its package."""
    monkeypatch.setitem(sys.modules, module, None)


def test_every_error_has_the_one_root() -> None:
    kinds = [getattr(errors, name) for name in dir(errors) if name.endswith("Error")]
    assert all(issubclass(kind, GolfError) for kind in kinds)
    assert issubclass(GolfClientError, GolfError) and issubclass(CheckpointError, GolfError)
    assert issubclass(ConfigurationError, ValueError) and issubclass(InvalidImageError, ValueError)
    assert issubclass(MissingPackageError, BackendUnavailableError)


@pytest.mark.parametrize(
    "make",
    [
        lambda: create_runner("onnxruntime", precision="int4"),
        lambda: create_runner("tflite"),
        lambda: Failing(RuntimeError(), "int4"),
        lambda: golf_rt.Deblurrer(precision="int4"),
    ],
    ids=["create_runner-precision", "create_runner-backend", "runner-precision", "deblurrer-precision"],
)
def test_unknown_choices_are_configuration_errors_that_list_the_choices(make) -> None:
    with pytest.raises(ConfigurationError, match="choose one of"):
        make()


@pytest.mark.parametrize(
    ("options", "fields", "message"),
    [
        ("openvino.runner.OpenVinoOptions", {"threads": 0}, "threads"),
        ("openvino.runner.OpenVinoOptions", {"shape_cache": -1}, "shape_cache"),
        ("openvino.runner.OpenVinoOptions", {"hint": "FAST"}, "hint"),
        ("onnxruntime.runner.OnnxRuntimeOptions", {"threads": 0}, "threads"),
        ("torch.runner.TorchOptions", {"threads": 0}, "threads"),
    ],
)
def test_bad_runner_options_are_configuration_errors(options: str, fields: dict, message: str) -> None:
    module, name = options.rsplit(".", 1)
    kind = getattr(importlib.import_module(f"golf_rt.backends.{module}"), name)
    with pytest.raises(ConfigurationError, match=message):
        kind(**fields)


def test_options_of_another_backend_or_unknown_fields_are_configuration_errors() -> None:
    from golf_rt.backends import options_for
    from golf_rt.backends.openvino.runner import OpenVinoOptions

    with pytest.raises(ConfigurationError, match="onnxruntime takes OnnxRuntimeOptions, not OpenVinoOptions"):
        create_runner("onnxruntime", options=OpenVinoOptions())
    with pytest.raises(ConfigurationError, match="no option hint; choose among threads"):
        options_for("onnxruntime", hint="LATENCY")
    with pytest.raises(ConfigurationError, match="name it"):
        golf_rt.Deblurrer(options=OpenVinoOptions())


def test_verify_without_scikit_image_names_the_extra(monkeypatch) -> None:
    from golf_rt.quality.verify import verify_backends

    _hide(monkeypatch, "skimage")
    with pytest.raises(
        MissingPackageError, match=r"needs scikit-image.*pip install scikit-image \(part of the \"eval\" extra"
    ) as info:
        verify_backends()
    assert info.value.package == "scikit-image" and info.value.extra == "eval"


def test_a_runner_without_its_runtime_names_the_extra(monkeypatch) -> None:
    from golf_rt.backends.openvino.runner import OpenVinoRunner

    _hide(monkeypatch, "openvino")
    runner = OpenVinoRunner(lambda: pytest.fail("the runtime is checked before the model is loaded"))
    with pytest.raises(
        BackendUnavailableError, match=r"needs openvino.*pip install openvino \(part of the \"cpu\" extra"
    ):
        runner.deblur(np.zeros((1, 3, 8, 8), np.float32))


def test_create_runner_for_a_backend_not_installed_names_the_extra(monkeypatch) -> None:
    monkeypatch.setattr("golf_rt.backends.available_backends", lambda: {})
    monkeypatch.setattr("golf_rt.backends.installed", lambda module: module != "onnxruntime")
    with pytest.raises(MissingPackageError, match=r"\"cpu\" extra"):
        create_runner("onnxruntime")


def test_a_package_that_is_installed_but_broken_is_not_called_missing(monkeypatch) -> None:
    real = importlib.import_module

    def broken(name: str, *args):
        if name == "openvino":
            raise ImportError("libopenvino.so: cannot open shared object file")
        return real(name, *args)

    monkeypatch.setattr(extras.importlib, "import_module", broken)
    with pytest.raises(BackendUnavailableError, match="installed but does not import.*libopenvino") as info:
        extras.require("openvino", "the OpenVINO runner")
    assert not isinstance(info.value, MissingPackageError)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((8, 8, 5), np.uint8),
        np.full((8, 8, 3), np.nan, np.float32),
        np.zeros((MAX_SIDE + 2, MAX_SIDE + 1), np.uint8),
        "no/such/file.png",
    ],
    ids=["five-channels", "nan", "too-large", "missing-file"],
)
def test_bad_images_are_invalid_image_errors(image) -> None:
    from golf_rt.images import prepare

    with pytest.raises(InvalidImageError):
        prepare(image)


@pytest.mark.parametrize(
    "batch",
    [np.zeros((1, 4, 8, 8), np.float32), np.full((1, 3, 8, 8), np.inf, np.float32), np.zeros((1, 3, 8, 8))],
    ids=["four-channels", "inf", "float64"],
)
def test_bad_batches_are_invalid_image_errors_before_the_backend_runs(batch: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        Failing(RuntimeError("the backend must not run")).deblur(batch)


def test_a_runtime_failure_is_an_inference_error_and_a_bug_keeps_its_type() -> None:
    batch = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(InferenceError, match=r"failing \(fp32\) failed on a 1x3x8x8 batch: out of memory") as info:
        Failing(RuntimeError("out of memory")).deblur(batch)
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(AttributeError):
        Failing(AttributeError("a bug")).deblur(batch)
    with pytest.raises(InvalidImageError):  # golf-rt's own errors pass through as they are
        Failing(InvalidImageError("outside the profile")).deblur(batch)
