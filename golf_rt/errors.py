"""One error root with a few children that a caller can act on; the CLI prints each as one line, exit 1.

- `ConfigurationError`: an argument or setting is wrong (the message lists the valid choices): fix the call;
- `InvalidImageError`: the input cannot be deblurred as given: fix or reject the image;
- `CheckpointError`: a checkpoint file is missing, corrupt or not a golf-rt checkpoint; its child
  `ModelFileError` the same for an ONNX file or TensorRT engine;
- `OutputError`: a result cannot be written where asked (nothing half-written is left);
- `BackendUnavailableError`: this machine cannot run what was asked (no GPU, no engine built here);
  `MissingPackageError`, one of its kind, names the extra that installs the missing package;
- `EngineMismatchError`: a TensorRT engine comes from another GPU or TensorRT version: rebuild it;
- `ExportError`: an exported model failed its checks;
- `InferenceError`: a backend failed while running a valid batch (out of memory, a CUDA error);
- `ServerError`: the Triton server could not start, become ready or stop;
- `golf_rt.client.GolfClientError`: a request to a server failed (unreachable, rejected, timed out).

Anything else that escapes golf-rt is a bug, and keeps its traceback.
"""

from __future__ import annotations


class GolfError(Exception):
    """Root of every error golf-rt raises on purpose."""


class ConfigurationError(GolfError, ValueError):
    """An argument or configuration value is unknown, out of range or inconsistent."""


class InvalidImageError(GolfError, ValueError):
    """An input image cannot be deblurred as given (shape, dtype, values, size or file)."""


class ShapeOutsideProfilesError(InvalidImageError):
    """A batch no optimization profile of a TensorRT engine covers; `Deblurrer(backend="auto")` then falls back."""


class CheckpointError(GolfError):
    """A checkpoint file is missing, corrupt or not a golf-rt checkpoint."""


class ModelFileError(CheckpointError):
    """A model file (ONNX, TensorRT engine) is missing, corrupt, or not a golf-rt model (wrong inputs, outputs, rank).

    A checkpoint's own problems are its parent, `CheckpointError`: catching that catches every model file.
    """


class BackendUnavailableError(GolfError):
    """The requested backend, device or precision cannot run on this machine."""


class MissingPackageError(BackendUnavailableError):
    """An optional package is not installed; `extra` is the golf-rt extra that installs it."""

    def __init__(self, message: str, *, package: str = "", extra: str = "") -> None:
        """Keep the package and extra for callers that install on demand."""
        super().__init__(message)
        self.package, self.extra = package, extra


class EngineMismatchError(GolfError):
    """A TensorRT engine was built for another GPU or TensorRT version, or its sidecar is broken."""


class ExportError(GolfError):
    """An exported model failed its checks or does not match PyTorch."""


class OutputError(GolfError):
    """A result cannot be written where asked (missing, read-only, full disk); nothing half-written is left."""


class InferenceError(GolfError):
    """A backend failed while running a batch that passed validation."""


class StandInError(GolfError):
    """The CPU stand-in of the GPU was asked for something it does not model: run it on a real GPU."""


class ServerError(GolfError):
    """The Triton server could not start, become ready or stop (the message says why)."""
