"""Inference backends behind one `Runner` interface, and the one factory that composes them: `create_runner`.

Each backend is a package `golf_rt/backends/<name>/` that imports its library only when used, with
the same two modules, which its record in `golf_rt.catalog` names:

- `loader.py` makes the runtime object from a file (`module_from_checkpoint`, `session_from_onnx`,
  `model_from_onnx`, `engine_from_path`; TensorRT's also builds engines, `engine_from_onnx`), and
  says what runs here (`precisions_here()`), what a file runs at (`precisions_of_file`), what the
  runner must know of it before loading (`runner_keywords`), and which loader to hand the runner
  (`loader_of`);
- `runner.py` holds a frozen dataclass of the backend's options (`OpenVinoOptions`, ...) and the
  `Runner` (`RUNNER`), made from a runtime object or a loader: it never knows where a file came from.

`create_runner` composes: record -> `golf_rt.artifacts.supply.model_file` (checkpoint, ONNX or
TensorRT plan) -> loader -> runner, and checks the precision once, here.

What can run here has one source: each loader's `precisions_here()`, a mapping from the devices
that backend can use on this machine to the precisions it runs there ({} where it cannot run).
`available_backends`, `backends_here` (what `golf-rt info` prints), `create_runner`,
`golf-rt verify`, the benchmarks and `precision="auto"` (`golf_rt.artifacts.precision_table`)
all ask it.

Adding a precision (say "int8"): name it in `golf_rt.contract.PRECISIONS` with its tolerance,
return it from `precisions_here()` of the backends that run it, make `golf_rt.artifacts.supply` make its file,
and rerun `golf-rt verify --write-table` so that "auto" may pick it once it is measured.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from golf_rt.backends.base import Runner, validate_batch
from golf_rt.catalog import BACKENDS, backend_record
from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS, TOLERANCE
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.machine.environment import first_package_version, installed
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
    "options_for",
    "precisions_here",
    "validate_batch",
]


def _loader(backend: str) -> ModuleType:
    return importlib.import_module(backend_record(backend).loader)


def _runner_class(backend: str) -> type[Runner]:
    return importlib.import_module(backend_record(backend).runner).RUNNER


def precisions_here(backend: str) -> dict[str, tuple[str, ...]]:
    """Device -> the precisions `backend` runs on it on this machine, preferred device first; {} if none."""
    return _loader(backend).precisions_here()


def options_for(backend: str, **fields: Any) -> Any:
    """`backend`'s options dataclass (`OpenVinoOptions`, ...) with `fields`; a ConfigurationError names its fields."""
    kind = _runner_class(backend).Options
    names = [field.name for field in dataclasses.fields(kind)]
    unknown = sorted(set(fields) - set(names))
    if unknown:
        raise ConfigurationError(
            f"{backend} has no option {', '.join(unknown)}; choose among {', '.join(names) or 'none'}"
        )
    return kind(**fields)


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
        version = first_package_version(backend_record(backend).distributions)
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
    record = backend_record(backend)
    why = f" ({record.label} needs an NVIDIA GPU)" if record.gpu_only else ""
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
    *,
    precision: str = AUTO,
    iterations: int = DEFAULT_ITERATIONS,
    checkpoint: str | Path | None = None,
    part: str = "fused",
    model_file: str | Path | None = None,
    device: str | None = None,
    options: Any = None,
    build: Any = None,
) -> Runner:
    """A runner for `part` of `checkpoint` (None = shipped) on `backend` at `precision`: file -> loader -> runner.

    "auto" takes the precision `golf_rt.artifacts.precision_table.auto_precision` picks for this
    backend here (among those `model_file` runs at, when given). The file comes from
    `golf_rt.artifacts.supply.model_file` for the kind the backend runs, unless `model_file` names
    one (an ONNX file, a TensorRT plan, or a checkpoint for torch). `device`: None for the backend's
    preferred one here. `options`: the backend's options dataclass (`options_for`), None for the
    defaults. `build`: the `golf_rt.artifacts.engines.BuildOptions` of a TensorRT plan made here.
    """
    record = backend_record(backend)
    kind = _runner_class(backend)
    options = kind.Options() if options is None else options
    if not isinstance(options, kind.Options):
        raise ConfigurationError(f"{backend} takes {kind.Options.__name__}, not {type(options).__name__}")
    if device is not None and device not in record.precisions:
        raise ConfigurationError(
            f"unknown {record.label} device {device!r}; choose one of {', '.join(record.precisions)}"
        )
    if precision != AUTO and precision not in PRECISIONS:
        check_precision(backend, precision)
    if backend not in available_backends():
        raise _unavailable(backend)
    loader = _loader(backend)
    device = device or next(iter(loader.precisions_here()))
    if precision == AUTO:
        from golf_rt.artifacts.precision_table import auto_precision

        allowed = loader.precisions_of_file(model_file) if model_file is not None else None
        precision = auto_precision(backend, checkpoint, iterations, device, allowed=allowed).precision
    check_precision(backend, precision, device)
    if model_file is None:
        from golf_rt.artifacts.supply import model_file as supplied

        path = supplied(record.runs, part=part, iterations=iterations, checkpoint=checkpoint, precision=precision,
                        build=build)  # fmt: skip
    else:
        path = Path(model_file)
    runs = loader.precisions_of_file(path)
    if precision not in runs:
        raise ConfigurationError(
            f"{path.name} runs at {', '.join(runs)}, not {precision}"
            + ("; golf-rt quantize makes the *_int8.onnx files" if precision == "int8" else "")
        )
    load = loader.loader_of(path, part=part, iterations=iterations, device=device, options=options)
    return kind(load, precision=precision, device=device, options=options, **loader.runner_keywords(path))
