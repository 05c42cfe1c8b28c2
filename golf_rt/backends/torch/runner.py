"""PyTorch's runner: an eval-mode module it is handed (`golf_rt.backends.torch.loader`), on the CPU or CUDA.

On CUDA (the GPU path where TensorRT is not installed; `Deblurrer` then puts it ahead of the CPU
backends): the model in channels_last at the runner's precision, input and output through pinned
host memory, cuDNN's autotuner on, and TF32 off for fp32 (PyTorch lets cuDNN use TF32 by
default), all scoped to the runner's calls and restored after. `cuda_graph=True` captures one
CUDA graph per input shape on first use and replays it (fewer launches for small images); the
graphs of the last four shapes are kept (`GraphCache`), which with tiles is one shape.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from golf_rt.backends.base import Runner, loaded, positive_threads
from golf_rt.catalog import backend_record
from golf_rt.contract import GPU_TILE_BATCH
from golf_rt.errors import ConfigurationError
from golf_rt.machine.extras import require

DEVICES = tuple(backend_record("torch").precisions)
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class TorchOptions:
    """`threads`: torch's intra-op threads on the CPU (None: torch's default); `cuda_graph`: replay CUDA graphs."""

    threads: int | None = None
    cuda_graph: bool = False

    def __post_init__(self) -> None:
        positive_threads(self.threads)


_SETTINGS_LOCK = threading.Lock()
"""The backend flags are process-wide: one lock for every runner, so that two threads cannot interleave
their save and restore and leave an fp32 call with TF32 on, or the caller's TF32 off."""


def _tf32_switches(torch) -> tuple[tuple[Any, str, Any], ...]:
    """(flags, attribute, value that turns TF32 off) for matrix products and cuDNN convolutions.

    torch >= 2.9 has `fp32_precision` ("ieee" / "tf32"); once anything has set it, reading the
    legacy `allow_tf32` raises, so only the new API is used where it exists.
    """
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(matmul, "fp32_precision"):
        return (matmul, "fp32_precision", "ieee"), (cudnn.conv, "fp32_precision", "ieee")
    return (matmul, "allow_tf32", False), (cudnn, "allow_tf32", False)


@contextlib.contextmanager
def tf32_off(torch) -> Iterator[None]:
    """Matrix products and cuDNN convolutions in true fp32 (no TF32) inside the block; the caller's settings after."""
    switches = _tf32_switches(torch)
    saved = [getattr(flags, name) for flags, name, _ in switches]
    try:
        for flags, name, off in switches:
            setattr(flags, name, off)
        yield
    finally:
        for (flags, name, _), value in zip(switches, saved):
            setattr(flags, name, value)


@contextlib.contextmanager
def cuda_settings(torch, precision: str) -> Iterator[None]:
    """The cuDNN autotuner on and, for fp32, TF32 off, inside the block only; the caller's settings after it."""
    with _SETTINGS_LOCK, tf32_off(torch) if precision == "fp32" else contextlib.nullcontext():
        saved = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = True
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = saved


class GraphCache:
    """The CUDA graphs of the last `size` input shapes: older ones are dropped, so their memory returns.

    With tiles most calls share one shape; a folder of photos in varied sizes would otherwise keep
    a graph, and its memory, for every size it met.
    """

    def __init__(self, size: int = 4) -> None:
        if size < 1:
            raise ConfigurationError(f"graph cache size must be at least 1, got {size}")
        self.size = size
        self._graphs: OrderedDict[tuple[int, ...], tuple] = OrderedDict()

    def get(self, shape: tuple[int, ...], capture: Callable[[], tuple]) -> tuple:
        """The graph of `shape`, captured by `capture()` on first use."""
        if shape not in self._graphs:
            self._graphs[shape] = capture()
            while len(self._graphs) > self.size:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(shape)
        return self._graphs[shape]

    def shapes(self) -> list[tuple[int, ...]]:
        return list(self._graphs)

    def clear(self) -> None:
        self._graphs.clear()


class TorchRunner(Runner):
    """One part of the model in PyTorch eager mode (with CUDA graphs on request)."""

    name = "torch"
    Options = TorchOptions

    def __init__(
        self, module: Any, *, precision: str = "fp32", device: str = "cpu", options: TorchOptions | None = None
    ) -> None:
        """`module`: a `torch.nn.Module`, or a callable that returns one (moved to `device` on activation)."""
        options = options or TorchOptions()
        if device not in DEVICES:
            raise ConfigurationError(f"torch device must be 'cpu' or 'cuda', got {device!r}")
        if options.cuda_graph and device != "cuda":
            raise ConfigurationError("cuda_graph=True needs device='cuda'")
        super().__init__(precision)
        self.tile_batch = GPU_TILE_BATCH if device == "cuda" else 1
        self.fixed_tile_shape = device == "cuda"  # one CUDA graph for every photo
        self.device, self.options = device, options
        self._load, self._model = module, None
        self._graphs = GraphCache()

    def _activate(self) -> None:
        torch = require("torch", "the PyTorch runner")
        if self.options.threads is not None:
            torch.set_num_threads(self.options.threads)
        model = loaded(self._load, torch.nn.Module).to(self.device)
        if self.device == "cuda":
            model = model.to(dtype=getattr(torch, DTYPES[self.precision]), memory_format=torch.channels_last)
        self._model = model

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        torch = sys.modules["torch"]
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")  # read, never written
            source = torch.from_numpy(batch)
            if self.device == "cpu":
                return self._model(source).numpy()
            with cuda_settings(torch, self.precision):
                return self._deblur_cuda(torch, source)

    def _deblur_cuda(self, torch, source) -> np.ndarray:
        dtype = getattr(torch, DTYPES[self.precision])
        x = source.pin_memory().to("cuda", non_blocking=True).to(dtype).contiguous(memory_format=torch.channels_last)
        if self.options.cuda_graph:
            static_in, static_out, graph = self._graph_for(torch, x)
            static_in.copy_(x)
            graph.replay()
            output = static_out
        else:
            output = self._model(x)
        host = torch.empty(source.shape, dtype=torch.float32, pin_memory=True)
        host.copy_(output.float(), non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return host.numpy()

    def _graph_for(self, torch, x) -> tuple:
        """The captured (input, output, graph) of this shape: warmed up on a side stream, then captured once."""

        def capture() -> tuple:
            static_in = x.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self._model(static_in)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self._model(static_in)
            return static_in, static_out, graph

        return self._graphs.get(tuple(x.shape), capture)

    def _deactivate(self) -> None:
        self._model = None
        self._graphs.clear()

    def __repr__(self) -> str:
        return f"TorchRunner(device={self.device!r}, precision={self.precision!r})"


RUNNER = TorchRunner
