"""One error root with a few meaningful children; the CLI turns these into one line and exit 1."""

from __future__ import annotations


class GolfError(Exception):
    """Root of every error golf-rt raises on purpose."""


class InvalidImageError(GolfError, ValueError):
    """An input image cannot be deblurred as given (shape, dtype, values, size or file)."""


class CheckpointError(GolfError):
    """A checkpoint file is missing, corrupt or not a golf-rt checkpoint."""


class BackendUnavailableError(GolfError):
    """The requested backend or precision cannot run on this machine."""


class ExportError(GolfError):
    """An exported model failed its checks or does not match PyTorch."""


class EngineMismatchError(GolfError):
    """A TensorRT engine was built for another GPU or TensorRT version."""


class ConfigError(GolfError, ValueError):
    """A configuration value is out of range or inconsistent."""


class ServerError(GolfError):
    """The Triton server could not start, become ready or stop (the message says why)."""
