"""Optional packages and the golf-rt extra that installs each, so that a missing one is one sentence.

golf-rt's base install is numpy, Pillow and safetensors; everything heavier comes with an extra
(`pip install ".[cpu]"` in a checkout, see README.md). Code that needs an optional package imports it
through `require`, which turns an absent package into a `MissingPackageError` naming the extra
instead of a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from golf_rt.catalog import RECORDS
from golf_rt.errors import BackendUnavailableError, MissingPackageError

PACKAGES: dict[str, tuple[str, str]] = {
    **{record.name: (record.distributions[0], record.extra) for record in RECORDS},
    "onnx": ("onnx", "export"),
    "onnxscript": ("onnxscript", "export"),
    "onnxconverter_common": ("onnxconverter-common", "export"),
    "nncf": ("nncf", "quantize"),
    "cuda": ("cuda-python", "gpu"),
    "polygraphy": ("polygraphy", "gpu"),
    "tritonclient": ("tritonclient", "client"),
    "grpc": ("grpcio", "client"),
    "aiohttp": ("aiohttp", "client"),
    "google": ("protobuf", "client"),
    "pytriton": ("nvidia-pytriton", "serve"),
    "yaml": ("pyyaml", "serve"),
    "skimage": ("scikit-image", "eval"),
    "sklearn": ("scikit-learn", "eval"),
    "matplotlib": ("matplotlib", "report"),
    "ray": ("ray[data]", "ray"),
    "pyarrow": ("pyarrow", "ray"),
}
"""Top-level module -> (distribution to install, golf-rt extra that brings it)."""


def missing_package_error(module: str, purpose: str, extra: str | None = None) -> MissingPackageError:
    """The error for `purpose` needing `module`, which is not installed; `extra` overrides the usual one."""
    top = module.split(".")[0]
    package, usual = PACKAGES.get(top, (top, ""))
    extra = extra or usual
    # the distribution itself installs anywhere; the extra only from a checkout or a wheel
    where = f' (part of the "{extra}" extra: pip install ".[{extra}]" in a checkout)' if extra else ""
    return MissingPackageError(
        f"{purpose} needs {package}, which is not installed here: pip install {package}{where}",
        package=package,
        extra=extra,
    )


def require(module: str, purpose: str, extra: str | None = None) -> ModuleType:
    """Import `module` for `purpose` ("golf-rt verify", "the OpenVINO runner"), or say what to install.

    A package that is absent (the module or one it needs) becomes a MissingPackageError naming the
    extra to install; `extra` overrides the package's usual one when `purpose` needs more (exporting
    needs torch and onnx: "export"). A package that is installed but fails to import (a missing
    shared library, a broken build) becomes a BackendUnavailableError quoting the import error.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        if missing.split(".")[0] not in PACKAGES and missing.split(".")[0] != module.split(".")[0]:
            missing = module  # a dependency golf-rt does not know: installing the extra brings it
        raise missing_package_error(missing, purpose, extra) from exc
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{purpose} needs {module}, which is installed but does not import: {exc}"
        ) from exc
