"""What `precision="auto"` means: the fastest precision measured within the accuracy budget.

The decision is read from a table measured by `golf-rt verify --write-table` and kept with the
model: `precisions.json` next to the shipped ONNX files in `golf_rt/models/` (other checkpoints:
next to their cached ONNX files). Each row is one backend at one precision on one kind of device
("cpu" or "cuda", `device_kind`) on the held-out pairs: its deblurring-PSNR cost against fp32
PyTorch and its median time per 256x256 crop. The table names the checkpoint's SHA-256; a table
for another checkpoint is not used (and a test keeps the shipped one from going stale).

For a backend on a device, "auto" takes, among the precisions it runs there (`precisions_here()`)
that the table measured within `PSNR_BUDGET_DB` on that kind of device, the fastest; fp32 when
those rows have nothing better (fp32 is the reference: it costs nothing by definition). A row
counts only on the kind of device it was measured on: CPU times say nothing of a GPU. Where the
table has no row of the backend on that kind of device, the backend record's `unmeasured`
precision for the device is taken (`golf_rt.catalog`: fp16 on a GPU, fp32 on a CPU). Rows written
before rows named their kind were measured where `golf-rt verify` ran the backend: on the GPU for
a GPU-only backend, else on the CPU.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from golf_rt.catalog import GPU_ONLY, backend_record, device_kind
from golf_rt.contract import DEFAULT_ITERATIONS, PSNR_BUDGET_DB

logger = logging.getLogger(__name__)

TABLE_NAME = "precisions.json"
SCHEMA = 1


@dataclass(frozen=True)
class Measured:
    """One backend at one precision, as `golf-rt verify` measured it."""

    backend: str
    precision: str
    psnr_delta: float  # dB of deblurring PSNR against the fp32 PyTorch reference
    median_ms: float  # per 256x256 crop, on `device`
    device: str  # its name: "AMD EPYC (2 cores)", "NVIDIA H100 80GB HBM3"
    device_kind: str = ""  # "cpu" or "cuda"; "" (rows before kinds): where verify ran the backend

    def __post_init__(self) -> None:
        if not self.device_kind:
            object.__setattr__(self, "device_kind", "cuda" if self.backend in GPU_ONLY else "cpu")

    @property
    def within_budget(self) -> bool:
        return self.psnr_delta >= -PSNR_BUDGET_DB


@dataclass(frozen=True)
class AutoChoice:
    """The precision "auto" picks for one backend, and why, in one sentence."""

    backend: str
    precision: str
    reason: str


def table_path(checkpoint: str | Path | None = None) -> Path:
    """Where the table of `checkpoint` (None = shipped) lives: next to its ONNX files."""
    from golf_rt.machine.paths import shipped_models_dir

    if checkpoint is None:
        return shipped_models_dir() / TABLE_NAME
    from golf_rt.artifacts.names import cached_models_dir
    from golf_rt.model.checkpoint import file_sha256, resolve

    return cached_models_dir(file_sha256(resolve(checkpoint))) / TABLE_NAME


def _checkpoint_sha(checkpoint: str | Path | None) -> str:
    from golf_rt.model.checkpoint import file_sha256, resolve

    return file_sha256(resolve(checkpoint))


def read_table(checkpoint: str | Path | None = None, iterations: int = DEFAULT_ITERATIONS) -> dict | None:
    """The table of `checkpoint` at `iterations`, or None when there is none or it was measured on other weights."""
    path = table_path(checkpoint)
    if not path.is_file():
        return None
    table = json.loads(path.read_text())
    if table.get("checkpoint_sha256") != _checkpoint_sha(checkpoint) or table.get("iterations") != iterations:
        logger.warning("%s is for another checkpoint or iteration count: rerun golf-rt verify --write-table", path)
        return None
    return table


def measured_rows(table: dict) -> list[Measured]:
    return [Measured(**row) for row in table["rows"]]


def write_table(
    rows: list[Measured], checkpoint: str | Path | None = None, iterations: int = DEFAULT_ITERATIONS
) -> Path:
    """Write (atomically) the table of `checkpoint`, keeping earlier rows of backends and devices not measured now.

    Rows of one backend on one kind of device are always replaced together, so that their times come from one
    machine; a CPU machine's run keeps the rows a GPU machine measured, and the other way round.
    """
    from golf_rt.version import __version__

    path = table_path(checkpoint)
    measured_now = {(row.backend, row.device_kind) for row in rows}
    earlier = read_table(checkpoint, iterations)
    kept = [r for r in measured_rows(earlier) if (r.backend, r.device_kind) not in measured_now] if earlier else []
    table = {
        "schema": SCHEMA,
        "checkpoint_sha256": _checkpoint_sha(checkpoint),
        "iterations": iterations,
        "budget_db": PSNR_BUDGET_DB,
        "golf_rt_version": __version__,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": [asdict(row) for row in sorted([*kept, *rows], key=lambda r: (r.backend, r.device_kind, r.precision))],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{TABLE_NAME}.", dir=path.parent)
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(table, indent=2) + "\n")
    os.replace(temporary, path)
    return path


def auto_precision(
    backend: str,
    checkpoint: str | Path | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    device: str | None = None,
    allowed: tuple[str, ...] | None = None,
) -> AutoChoice:
    """The fastest precision `backend` runs here on `device` (None: its preferred one) within the budget.

    Only rows measured on `device`'s kind count; without any, the record's `unmeasured` precision there.
    `allowed` narrows the choice to what a given model file can run (an fp32 ONNX file cannot run int8).
    """
    record = backend_record(backend)
    by_device = importlib.import_module(backend_record(backend).loader).precisions_here()
    device = device or next(iter(by_device), "")
    runs = tuple(p for p in by_device.get(device, ()) if allowed is None or p in allowed)
    reference = "fp32" if allowed is None or "fp32" in allowed else allowed[0]
    kind = device_kind(device)
    table = read_table(checkpoint, iterations)
    measured = [r for r in measured_rows(table) if r.backend == backend and r.device_kind == kind] if table else []
    if not measured:
        default = record.unmeasured.get(device, reference)
        precision = default if default in runs else reference
        where = f"no {backend} row measured on {kind}" if table else "no measured precision table for this checkpoint"
        return AutoChoice(
            backend, precision, f"{where}: {precision}, {record.label}'s default on {device} until measured"
        )
    rows = [row for row in measured if row.precision in runs]
    good = [row for row in rows if row.within_budget]
    if not good:
        return AutoChoice(
            backend, reference, f"the table has no {backend} precision runnable here within budget: {reference}"
        )
    best = min(good, key=lambda row: row.median_ms)
    others = ", ".join(f"{r.precision} {r.median_ms:.0f} ms ({r.psnr_delta:+.4f} dB)" for r in rows if r is not best)
    reason = (
        f"{best.precision}: fastest within the {PSNR_BUDGET_DB} dB budget, {best.median_ms:.0f} ms and "
        f"{best.psnr_delta:+.4f} dB per 256x256 crop on {best.device}"
        + (f"; vs {others}" if others else "")
        + f" (golf-rt verify, {table['measured_at'][:10]})"
    )
    return AutoChoice(backend, best.precision, reason)
