"""The one record of every backend golf-rt knows: the single place a backend is named.

Everything that lists backends or their precisions reads it: `golf_rt.backends` (`BACKENDS`,
versions for `golf-rt info`, the loader and runner modules `create_runner` composes), `Deblurrer`'s
"auto" order on a CPU machine and on a GPU machine, `golf_rt.machine.extras` (the extra that installs
each), the Triton Python-backend runtimes, the TensorRT engine precisions, the benchmark paths and
the CLI help.

A record says what a backend can ever run (`precisions`, by device); what it runs on *this*
machine is narrower and asked of its loader module (`precisions_here()`: no GPU, no native bf16...).
Adding a backend is one record here and one package `golf_rt/backends/<name>/` (`loader.py`,
`runner.py`); `tests/test_architecture.py` checks that every module a record names exists.
This module imports only `golf_rt.contract` and `golf_rt.errors`, so that any layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from golf_rt.contract import PRECISIONS
from golf_rt.errors import ConfigurationError


@dataclass(frozen=True)
class BackendRecord:
    """One backend: its packages, what it can run, and its place in "auto".

    `cpu_rank` / `gpu_rank`: the place in "auto" on a machine without / with a CUDA GPU (lower is
    tried first; None: never chosen automatically there), from measurements (see `golf_rt.deblur.deblurrer`).
    `in_triton`: the backend runs inside Triton's Python backend on the CPU (`golf-rt repository`).
    `loader` / `runner`: the modules that make its runtime object from a file and run it.
    `runs`: the kind of file its loader reads, which `golf_rt.artifacts.supply.model_file` supplies:
    "checkpoint", "onnx" (fp32, fp16 or int8 by precision) or "plan" (a TensorRT engine).
    `gpu_only`: it runs on an NVIDIA GPU only, so its results are GPU results.
    `unmeasured`: device -> the precision "auto" takes there while the precision table has no row of this
    backend measured on that kind of device (`device_kind`): fp16 on a GPU, the precision TensorRT's
    engines are built at and the served GPU path runs (fp16 keeps Instance Norm's statistics in fp32;
    it costs no more than two fp32 runtimes disagree); fp32 on a CPU.
    """

    name: str
    label: str
    distributions: tuple[str, ...]  # pip distributions that provide it, the one to install first
    extra: str  # the golf-rt extra that installs it
    precisions: dict[str, tuple[str, ...]]  # device -> every precision it can run there
    unmeasured: dict[str, str]  # device -> the precision "auto" takes there until the table has a row of it
    cpu_rank: int | None
    gpu_rank: int | None
    loader: str
    runner: str
    runs: str
    in_triton: bool = False
    gpu_only: bool = False
    peer: str | None = None  # the plain library run with its defaults, as `benchmarks/test_peers.py` measures it

    def __post_init__(self) -> None:
        wrong = [f"{p} on {d}" for d, p in self.unmeasured.items() if p not in self.precisions.get(d, ())]
        if set(self.unmeasured) != set(self.precisions) or wrong:
            raise ConfigurationError(
                f"{self.name}: every device needs one precision it runs until measured; not {', '.join(wrong)} "
                f"(devices {', '.join(self.precisions)})"
            )

    @property
    def all_precisions(self) -> tuple[str, ...]:
        """Every precision it runs on some device, in `contract.PRECISIONS` order."""
        return tuple(p for p in PRECISIONS if any(p in runs for runs in self.precisions.values()))


RECORDS = (
    BackendRecord("tensorrt", "TensorRT", ("tensorrt-cu13", "tensorrt", "tensorrt-cu12"), "gpu",
                  {"cuda": ("fp32", "fp16")}, {"cuda": "fp16"}, cpu_rank=0, gpu_rank=0,
                  loader="golf_rt.backends.tensorrt.loader", runner="golf_rt.backends.tensorrt.runner",
                  runs="plan", gpu_only=True),
    BackendRecord("openvino", "OpenVINO", ("openvino",), "cpu",
                  {"cpu": ("fp32", "bf16", "int8")}, {"cpu": "fp32"}, cpu_rank=1, gpu_rank=2,
                  loader="golf_rt.backends.openvino.loader", runner="golf_rt.backends.openvino.runner",
                  runs="onnx", in_triton=True, peer="OpenVINO defaults"),
    BackendRecord("onnxruntime", "ONNX Runtime", ("onnxruntime", "onnxruntime-gpu"), "cpu",
                  {"cuda": ("fp32", "fp16"), "tensorrt": ("fp32", "fp16"), "cpu": ("fp32", "fp16")},
                  {"cuda": "fp16", "tensorrt": "fp16", "cpu": "fp32"}, cpu_rank=2, gpu_rank=3,
                  loader="golf_rt.backends.onnxruntime.loader", runner="golf_rt.backends.onnxruntime.runner",
                  runs="onnx", in_triton=True, peer="ORT defaults"),
    BackendRecord("torch", "PyTorch", ("torch",), "torch",
                  {"cuda": ("fp32", "fp16", "bf16"), "cpu": ("fp32",)}, {"cuda": "fp16", "cpu": "fp32"},
                  cpu_rank=3, gpu_rank=1,
                  loader="golf_rt.backends.torch.loader", runner="golf_rt.backends.torch.runner",
                  runs="checkpoint", peer="torch eager"),
)  # fmt: skip
"""Every backend, fastest first on a CPU machine (TensorRT only runs where there is a GPU)."""

BACKENDS = tuple(record.name for record in RECORDS)
_BY_NAME = {record.name: record for record in RECORDS}


def device_kind(device: str) -> str:
    """The kind of a backend's device, "cpu" or "cuda" (ONNX Runtime's "tensorrt" provider runs on CUDA too)."""
    return "cpu" if device == "cpu" else "cuda"


def backend_record(name: str) -> BackendRecord:
    """The record of backend `name`, or a ConfigurationError listing the backends."""
    if name not in _BY_NAME:
        raise ConfigurationError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return _BY_NAME[name]


def auto_order(gpu: bool) -> tuple[str, ...]:
    """The backends "auto" tries, first to last, on a machine with (`gpu`) or without a CUDA GPU."""
    ranked = [(r.gpu_rank if gpu else r.cpu_rank, r.name) for r in RECORDS]
    return tuple(name for rank, name in sorted((rank, name) for rank, name in ranked if rank is not None))


CPU_ORDER = auto_order(gpu=False)
GPU_ORDER = auto_order(gpu=True)
GPU_ONLY = tuple(record.name for record in RECORDS if record.gpu_only)
"""The backends that run on an NVIDIA GPU only: their results are GPU results."""
TRITON_RUNTIMES = tuple(record.name for record in RECORDS if record.in_triton)
"""The runtimes a CPU Triton repository's Python-backend models run on, the default first."""
ENGINE_PRECISIONS = next(record for record in RECORDS if record.runs == "plan").precisions["cuda"]
"""The precisions a TensorRT engine is built at."""
MODULES = tuple(module for record in RECORDS for module in (record.loader, record.runner))
"""Every module a record names, which `golf_rt.backends` imports by name."""
PEERS = tuple((record.name, record.peer) for record in reversed(RECORDS) if record.peer)
"""(backend, label) of each plain library golf-rt is compared with, slowest first."""
DISTRIBUTIONS = tuple(d for record in RECORDS for d in record.distributions)
"""Every pip distribution that provides a backend (the versions `golf-rt info` reports)."""


def paths(device: str | None = None) -> list[tuple[str, str, str]]:
    """Every (backend, device, precision) golf-rt can run anywhere, or on `device`: the benchmark paths."""
    return [(r.name, d, p) for r in RECORDS for d, runs in r.precisions.items() for p in runs if device in (None, d)]


def backend_help(auto: bool = True) -> str:
    """The CLI help listing the backends: "auto, tensorrt, openvino, onnxruntime or torch"."""
    names = ("auto", *BACKENDS) if auto else BACKENDS
    return f"{', '.join(names[:-1])} or {names[-1]}"


def precision_help(backends: tuple[str, ...] = BACKENDS) -> str:
    """The CLI help listing each backend's precisions: "auto, or openvino: fp32/bf16/int8; ..."."""
    listed = "; ".join(f"{name} {'/'.join(backend_record(name).all_precisions)}" for name in backends)
    return f"auto (the fastest measured within the accuracy budget; see `golf-rt info`), or per backend: {listed}"
