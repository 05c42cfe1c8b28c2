"""PyTorch: the checkpoint's own modules in eager mode, fp32, on the CPU or a CUDA GPU.

The reference every other backend is checked against, and a runner like the others: any part
(F, one step of G, G unrolled, or the fused model).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.environment import cuda_device_count, installed
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.extras import require
from golf_rt.onnx_files import PARTS

DEVICES = ("cpu", "cuda")


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32 on the CPU, and on CUDA where there is an NVIDIA GPU and this torch build has CUDA.

    torch is imported only on a machine with a GPU, to tell a CUDA build from a CPU one.
    """
    if not installed("torch"):
        return {}
    found = {"cpu": ("fp32",)}
    if cuda_device_count() and require("torch", "the PyTorch runner").cuda.is_available():
        found["cuda"] = ("fp32",)
    return found


def module_from_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    device: str = "cpu",
) -> Any:
    """The eval-mode torch module of `part` ("f", "g", "g_unrolled", "fused") of `checkpoint` (None = shipped)."""
    from golf_rt import checkpoint as ckpt
    from golf_rt.export import module_for_part

    torch = require("torch", "the PyTorch runner")
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError("torch has no CUDA device here; use device='cpu'")
    return module_for_part(ckpt.load(checkpoint, iterations), part, iterations).to(device)


class TorchRunner(Runner):
    """One part of the model in PyTorch eager mode."""

    name = "torch"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        iterations: int = DEFAULT_ITERATIONS,
        device: str = "cpu",
        threads: int | None = None,
        precision: str = "fp32",
        part: str = "fused",
    ) -> None:
        if device not in DEVICES:
            raise ConfigurationError(f"torch device must be 'cpu' or 'cuda', got {device!r}")
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be at least 1, got {threads}")
        if part not in PARTS:
            raise ConfigurationError(f"unknown model part {part!r}; choose one of {', '.join(PARTS)}")
        super().__init__(precision, precisions_here().get(device, ()))
        self.checkpoint, self.iterations, self.device, self.threads = checkpoint, iterations, device, threads
        self.part = part
        self._model = None

    def _activate(self) -> None:
        if self.threads is not None:
            require("torch", "the PyTorch runner").set_num_threads(self.threads)
        self._model = module_from_checkpoint(self.checkpoint, self.part, self.iterations, self.device)

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        torch = sys.modules["torch"]
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")  # read, never written
            return self._model(torch.from_numpy(batch).to(self.device)).cpu().numpy()

    def _deactivate(self) -> None:
        self._model = None

    def __repr__(self) -> str:
        return f"TorchRunner(part={self.part!r}, device={self.device!r}, precision={self.precision!r})"


def runner_for_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    precision: str = "fp32",
    **options: Any,
) -> TorchRunner:
    """The runner `create_runner("torch", ...)` makes."""
    return TorchRunner(checkpoint, iterations, precision=precision, part=part, **options)
