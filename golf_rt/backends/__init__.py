"""Inference backends behind one `Runner` interface, and a factory that makes them by name.

Each backend lives in its own module and imports its library only when used (`torch_runner`,
`onnxruntime_runner`, `openvino_runner`, `tensorrt_runner`), and every module has the same three
parts: a loader that makes the runtime object (`module_from_checkpoint`, `session_from_onnx`,
`compiled_model_from_onnx`, `engine_from_onnx`), a runner that runs what was loaded (F, G, G
unrolled or the fused model), and `precisions_here()`.

What can run here has one source: each module's `precisions_here()`, a mapping from the devices
that backend can use on this machine to the precisions it runs there ({} where it cannot run).
`available_backends`, `backends_here` (what `golf-rt info` prints), `create_runner`,
`golf-rt verify`, the benchmarks and `precision="auto"` (`golf_rt.artifacts.precision_table`)
all ask it.

Adding a precision (say "int8"): name it in `golf_rt.contract.PRECISIONS` with its tolerance,
return it from `precisions_here()` of the backends that run it, make their loader build it,
and rerun `golf-rt verify --write-table` so that "auto" may pick it once it is measured.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from golf_rt.backends.base import Runner, validate_batch
from golf_rt.catalog import BACKENDS, backend_record
from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS, TOLERANCE
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.machine.environment import installed, package_version
from golf_rt.machine.extras import missing_package_error

AUTO = "auto"
"""The precision that means: the fastest one measured within the accuracy budget for this backend here."""

__all__ = [
    "AUTO",
    "BACKENDS",
    "PRECISIONS",
    "TOLERANCE",
    "Runner",
    "available_backends",
    "backends_here",
    "create_runner",
    "precisions_here",
    "validate_batch",
]


def _module(backend: str) -> Any:
    return importlib.import_module(backend_record(backend).module)


def precisions_here(backend: str) -> dict[str, tuple[str, ...]]:
    """Device -> the precisions `backend` runs on it on this machine, preferred device first; {} if none."""
    return _module(backend).precisions_here()


def available_backends() -> dict[str, tuple[str, ...]]:
    """The backends that can run here, each with the precisions it runs on any of its devices."""
    found: dict[str, tuple[str, ...]] = {}
    for backend in BACKENDS:
        by_device = precisions_here(backend)
        precisions = tuple(p for p in PRECISIONS if any(p in runs for runs in by_device.values()))
        if precisions:
            found[backend] = precisions
    return found


def backends_here(checkpoint: str | Path | None = None, iterations: int = DEFAULT_ITERATIONS) -> dict[str, dict]:
    """Each backend golf-rt knows: installed version, devices with their precisions, and what "auto" picks."""
    from golf_rt.artifacts.precision_table import auto_precision

    report: dict[str, dict] = {}
    for backend in BACKENDS:
        version = next(filter(None, map(package_version, backend_record(backend).distributions)), None)
        entry: dict[str, Any] = {"version": version, "devices": {}}
        if version:
            entry["devices"] = {device: list(runs) for device, runs in precisions_here(backend).items()}
        if entry["devices"]:
            choice = auto_precision(backend, checkpoint, iterations)
            entry["auto"] = {"precision": choice.precision, "why": choice.reason}
        report[backend] = entry
    return report


def _unavailable(backend: str) -> BackendUnavailableError:
    """Why `backend` cannot run here: its package is missing, or (TensorRT) there is no NVIDIA GPU."""
    if not installed(backend):
        return missing_package_error(backend, f"the {backend} backend")
    why = " (TensorRT needs an NVIDIA GPU)" if backend == "tensorrt" else ""
    offered = ", ".join(f"{b} ({'/'.join(p)})" for b, p in available_backends().items()) or "none"
    return BackendUnavailableError(f"backend {backend!r} is not available here{why}; available: {offered}")


def check_precision(backend: str, precision: str, device: str | None = None) -> str:
    """`precision` if `backend` runs it here on `device` (None: its preferred one), else an error with the choices."""
    if precision not in PRECISIONS:
        raise ConfigurationError(f"unknown precision {precision!r}; choose one of {', '.join((*PRECISIONS, AUTO))}")
    by_device = precisions_here(backend)
    if not by_device:
        raise _unavailable(backend)
    device = device or next(iter(by_device))
    runs = by_device.get(device, ())
    if precision not in runs:
        offered = "; ".join(f"{d}: {', '.join(p)}" for d, p in by_device.items())
        raise BackendUnavailableError(
            f"{backend} cannot run {precision} on {device} here; this machine offers {offered}"
        )
    return precision


def create_runner(
    backend: str,
    precision: str = AUTO,
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    part: str = "fused",
    **options: Any,
) -> Runner:
    """A runner for `part` of `checkpoint` (None = shipped) on `backend` at `precision`.

    "auto" takes the precision `golf_rt.artifacts.precision_table.auto_precision` picks for this
    backend here. `options` go to the backend's runner: `onnx_path` replaces the ONNX lookup,
    `threads`, `device` (torch, onnxruntime), `hint`/`streams`/`shape_cache` (OpenVINO),
    `engine_path` (TensorRT).
    """
    module = _module(backend)
    if precision != AUTO and precision not in PRECISIONS:
        check_precision(backend, precision)
    if backend not in available_backends():
        raise _unavailable(backend)
    if precision == AUTO:
        from golf_rt.artifacts.precision_table import auto_precision

        of_file = getattr(module, "precisions_of_file", None)  # a given file may run only some precisions
        allowed = of_file(options["onnx_path"]) if of_file and options.get("onnx_path") else None
        precision = auto_precision(backend, checkpoint, iterations, allowed=allowed).precision
    check_precision(backend, precision, options.get("device"))
    return module.runner_for_checkpoint(checkpoint, part, iterations, precision, **options)
