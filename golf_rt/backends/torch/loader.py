"""PyTorch's loader: the eval-mode module of one part of a checkpoint (F, one step of G, G unrolled, fused).

The checkpoint's own modules are the reference every other backend is checked against; they run
fp32 on the CPU and fp32, fp16 or bf16 on a CUDA GPU (`precisions_here()`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golf_rt.catalog import backend_record
from golf_rt.contract import DEFAULT_ITERATIONS
from golf_rt.errors import BackendUnavailableError
from golf_rt.machine.environment import cuda_device_count, installed
from golf_rt.machine.extras import require

if TYPE_CHECKING:
    from golf_rt.backends.torch.runner import TorchOptions


def precisions_here() -> dict[str, tuple[str, ...]]:
    """fp32, fp16 and, on GPUs that compute it, bf16 on CUDA (first) where torch.cuda.is_available(); fp32 on the CPU.

    torch is imported only on a machine with a GPU, to tell a CUDA build from a CPU one.
    """
    if not installed("torch"):
        return {}
    if cuda_device_count() and require("torch", "the PyTorch runner").cuda.is_available():
        capability = sys.modules["torch"].cuda.get_device_capability()
        return {"cuda": cuda_precisions(capability), "cpu": _CAN_RUN["cpu"]}
    return {"cpu": _CAN_RUN["cpu"]}


_CAN_RUN = backend_record("torch").precisions


def cuda_precisions(capability: tuple[int, int]) -> tuple[str, ...]:
    """What PyTorch runs on a CUDA GPU of this compute capability: bf16 only where it computes it (8.0, Ampere, on).

    `torch.cuda.is_bf16_supported()` also says yes where bf16 is only emulated (Turing and older: slower than
    fp32); this is its answer with `including_emulation=False` on CUDA, which older torch cannot be asked.
    """
    native = tuple(capability) >= (8, 0)
    return tuple(p for p in _CAN_RUN["cuda"] if p != "bf16" or native)


def module_from_checkpoint(
    checkpoint: str | Path | None = None,
    part: str = "fused",
    iterations: int = DEFAULT_ITERATIONS,
    device: str = "cpu",
) -> Any:
    """The eval-mode torch module of `part` ("f", "g", "g_unrolled", "fused") of `checkpoint` (None = shipped)."""
    import golf_rt.model.checkpoint as ckpt
    from golf_rt.artifacts.export import module_for_part

    torch = require("torch", "the PyTorch runner")
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError("torch has no CUDA device here; use device='cpu'")
    return module_for_part(ckpt.load(checkpoint, iterations), part, iterations).to(device)


def precisions_of_file(checkpoint: str | Path) -> tuple[str, ...]:
    """A checkpoint runs at every precision PyTorch runs (the module is cast when it is loaded)."""
    return backend_record("torch").all_precisions


def runner_keywords(checkpoint: str | Path) -> dict[str, Any]:
    """What the runner must know of the file before it is loaded: nothing beyond its precision."""
    return {}


def loader_of(
    checkpoint: str | Path, *, part: str, iterations: int, device: str, options: TorchOptions
) -> Callable[[], Any]:
    """The loader `create_runner` hands the runner: the module of `part` of `checkpoint`, on `device`."""
    return partial(module_from_checkpoint, checkpoint, part, iterations, device)
