"""Benchmark results read back from pytest-benchmark JSON files, one `Result` per measured case.

A result is ours when its `extra_info` carries `golf_rt_schema` (written by `benchmarks/conftest.py`);
other benchmarks in the same file (e.g. throughput runs) are counted and left out.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from golf_rt.errors import ConfigurationError

logger = logging.getLogger(__name__)

STATS = ("min", "max", "mean", "median", "stddev", "p95")
DEVICE_YEARS = {
    "GTX 1080 Ti": 2017,
    "GTX 1080": 2016,
    "GT 750M": 2013,
    "H200": 2024,
    "H100": 2022,
    "A100": 2020,
    "L40S": 2023,
    "L4": 2023,
    "A10G": 2021,
    "A10": 2021,
    "T4": 2018,
    "V100": 2017,
    "RTX 4090": 2022,
    "RTX 3090": 2020,
    "RTX 2080 Ti": 2018,
}
"""Release years of GPUs a result may name; Table 4 shows "-" for others (CPUs included)."""


def device_year(name: str) -> int | None:
    """The release year of a known device, matched on whole words of its name."""
    for model, year in sorted(DEVICE_YEARS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"(?<!\w){re.escape(model)}(?!\w)", name, flags=re.IGNORECASE):
            return year
    return None


@dataclass(frozen=True)
class Result:
    """One measured case on one device, times in milliseconds."""

    source: str  # the file it came from
    machine: str  # the machine that ran it: its GPU, else its CPU
    device: str  # the device the case ran on
    label: str
    backend: str
    precision: str
    route: str
    part: str
    shape: tuple[int, ...]
    iterations: int
    ms: dict[str, float]
    rounds: int
    quick: bool = False
    model_file: str | None = None
    model_bytes: int | None = None
    peak_gflops: dict[str, float] | None = (
        None  # the CPU's, by precision (`golf_rt.machine.environment.cpu_peak_gflops`)
    )

    def __post_init__(self) -> None:
        missing = [key for key in STATS if key not in self.ms]
        if missing or self.rounds < 1:
            raise ConfigurationError(f"{self.source}: result {self.label!r} has no {', '.join(missing) or 'rounds'}")

    def peak(self) -> float | None:
        """The peak GFLOP/s of this result's precision on its CPU; None on a GPU or when not recorded.

        fp16 runs on the CPU's fp32 units; a library's "default" precision is what it picks
        itself: bf16 where the CPU has it natively.
        """
        if not self.peak_gflops:
            return None
        fp32 = self.peak_gflops.get("fp32")
        kind = {"fp16": "fp32", "default": "bf16" if "bf16" in self.peak_gflops else "fp32"}.get(self.precision)
        return self.peak_gflops.get(kind or self.precision, fp32 if kind else None)

    @property
    def size(self) -> str:
        """H x W of the input, e.g. "256x256"."""
        return f"{self.shape[-2]}x{self.shape[-1]}"


@dataclass(frozen=True)
class ResultFile:
    """One pytest-benchmark JSON file: its golf-rt results and what it says about its machine."""

    path: Path
    machine: str
    date: str
    results: tuple[Result, ...]
    checkpoint: dict | None
    skipped: int
    note: str = ""


def _machine_name(info: dict) -> str:
    golf = info.get("golf_rt", {})
    if golf.get("gpus"):
        return golf["gpus"][0]["name"]
    if golf.get("cpu"):
        return f"{golf['cpu']['name']} ({golf['cpu']['cores']} cores)"
    return str(info.get("cpu", {}).get("brand_raw") or info.get("processor") or info.get("node") or "unknown")


def _result(source: str, machine: str, extra: dict) -> Result:
    return Result(
        source=source,
        machine=machine,
        device=extra["device"],
        label=extra["label"],
        backend=extra["backend"],
        precision=extra["precision"],
        route=extra["route"],
        part=extra["part"],
        shape=tuple(extra["shape"]),
        iterations=int(extra["iterations"]),
        ms={key: float(extra["ms"][key]) for key in STATS if key in extra.get("ms", {})},
        rounds=int(extra.get("rounds", 0)),
        quick=bool(extra.get("quick", False)),
        model_file=extra.get("model_file"),
        model_bytes=extra.get("model_bytes"),
        peak_gflops=extra.get("cpu", {}).get("peak_gflops") if extra.get("device_kind", "cpu") == "cpu" else None,
    )


def load_result_file(path: str | Path) -> ResultFile:
    """Read one `--benchmark-json` file; ConfigurationError when it is not one."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ConfigurationError(
            f"{path} is not a pytest-benchmark JSON file (no 'benchmarks' list); "
            f"write one with `pytest benchmarks --benchmark-json {path.name}`"
        )
    info = document.get("machine_info", {})
    machine = _machine_name(info)
    results, skipped = [], 0
    for bench in document["benchmarks"]:
        extra = bench.get("extra_info") or {}
        if "golf_rt_schema" not in extra or "ms" not in extra:
            skipped += 1
            continue
        try:
            results.append(_result(path.name, machine, extra))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{path}: benchmark {bench.get('name')!r} has a malformed extra_info: {exc}"
            ) from exc
    if skipped:
        logger.info("%s: %d benchmarks without golf-rt extra_info left out", path, skipped)
    checkpoint = info.get("golf_rt", {}).get("checkpoint")
    date = str(document.get("datetime", ""))[:10]
    return ResultFile(path, machine, date, tuple(results), checkpoint, skipped, str(info.get("note", "")))


def load_result_files(paths: list[str | Path] | tuple[str | Path, ...]) -> list[ResultFile]:
    """Read several files (from one machine or many); ConfigurationError when none holds a golf-rt result."""
    if not paths:
        raise ConfigurationError("no result files given; pass one or more pytest-benchmark JSON files")
    files = [load_result_file(path) for path in paths]
    if not any(file.results for file in files):
        raise ConfigurationError(
            f"none of {', '.join(str(p) for p in paths)} holds a golf-rt benchmark result "
            f"(results need the extra_info written by benchmarks/conftest.py)"
        )
    return files


def latency_summary(milliseconds) -> dict[str, float]:
    """min, max, mean, median, stddev and p95 of latencies in ms: the `ms` block every result carries."""
    import numpy as np

    data = np.asarray(milliseconds, dtype=np.float64)
    return {
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": float(data.mean()),
        "median": float(np.median(data)),
        "stddev": float(data.std(ddof=1)) if len(data) > 1 else 0.0,
        "p95": float(np.percentile(data, 95)),
    }
