"""golf-rt: the Golf Optimizer deblurring network, from checkpoint to served product.

`import golf_rt` is light: torch, ONNX Runtime, OpenVINO, TensorRT and tritonclient are
imported only by the module that needs them.
"""

from __future__ import annotations

from golf_rt.errors import (
    BackendUnavailableError,
    CheckpointError,
    ConfigurationError,
    EngineMismatchError,
    ExportError,
    GolfError,
    InferenceError,
    InvalidImageError,
    MissingPackageError,
    ModelFileError,
    OutputError,
    ServerError,
    ShapeOutsideProfilesError,
    StandInError,
)
from golf_rt.version import __version__

__all__ = [
    "BackendUnavailableError",
    "CheckpointError",
    "ConfigurationError",
    "Deblurrer",
    "EngineMismatchError",
    "ExportError",
    "GolfError",
    "InferenceError",
    "InvalidImageError",
    "MissingPackageError",
    "ModelFileError",
    "OutputError",
    "ServerError",
    "ShapeOutsideProfilesError",
    "StandInError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """`golf_rt.Deblurrer` without importing the backends machinery at `import golf_rt`."""
    if name == "Deblurrer":
        from golf_rt.deblur.deblurrer import Deblurrer

        return Deblurrer
    raise AttributeError(f"module 'golf_rt' has no attribute {name!r}")
