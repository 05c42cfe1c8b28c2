"""golf-rt: the Golf Optimizer deblurring network, from checkpoint to served product.

`import golf_rt` is light: torch, ONNX Runtime, OpenVINO, TensorRT and tritonclient are
imported only by the module that needs them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from golf_rt.errors import (
    BackendUnavailableError,
    CheckpointError,
    ConfigError,
    ConfigurationError,
    EngineMismatchError,
    ExportError,
    GolfError,
    InferenceError,
    InvalidImageError,
    MissingPackageError,
    ServerError,
)

try:
    __version__ = version("golf-rt")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

__all__ = [
    "BackendUnavailableError",
    "CheckpointError",
    "ConfigError",
    "ConfigurationError",
    "Deblurrer",
    "EngineMismatchError",
    "ExportError",
    "GolfError",
    "InferenceError",
    "InvalidImageError",
    "MissingPackageError",
    "ServerError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """`golf_rt.Deblurrer` without importing the backends machinery at `import golf_rt`."""
    if name == "Deblurrer":
        from golf_rt.deblurrer import Deblurrer

        return Deblurrer
    raise AttributeError(f"module 'golf_rt' has no attribute {name!r}")
