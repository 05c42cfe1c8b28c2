"""The PyTorch reference: the checkpoint's own modules, fp32, on the CPU or a CUDA GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golf_rt.backends.base import Runner
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.extras import require


class TorchRunner(Runner):
    """F then G x iterations in PyTorch eager mode: the reference every other backend is checked against."""

    name = "torch"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        iterations: int = DEFAULT_ITERATIONS,
        device: str = "cpu",
        threads: int | None = None,
        precision: str = "fp32",
    ) -> None:
        super().__init__(precision)
        if device not in ("cpu", "cuda"):
            raise ConfigurationError(f"torch device must be 'cpu' or 'cuda', got {device!r}")
        self.checkpoint, self.iterations, self.device, self.threads = checkpoint, iterations, device, threads
        self._model = None

    def _activate(self) -> None:
        from golf_rt import checkpoint

        torch = require("torch", "the PyTorch runner")

        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("torch has no CUDA device here; use device='cpu'")
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        self._model = checkpoint.load(self.checkpoint, self.iterations).to(self.device)

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self._model(torch.from_numpy(batch).to(self.device)).cpu().numpy()

    def _deactivate(self) -> None:
        self._model = None
