"""Accuracy of every backend and precision against the fp32 PyTorch reference, on held-out pairs.

Two questions per backend/precision: how far is its output from the reference (PSNR of output
vs reference, largest absolute error), and what does that cost in deblurring quality (PSNR and
SSIM against the ground truth, and the PSNR change from the reference). Reduced precision may
cost at most `PSNR_BUDGET_DB` of deblurring PSNR, and must stay within `HARD_TOLERANCE` on the
hard inputs (`golf_rt.quality.hard_inputs`: checkerboard, text, flat, ramps), which photos never test.
Each path is also timed (median per crop): with the PSNR cost, that is what `precision="auto"`
decides from (`rows_to_measured`, written by `golf-rt verify --write-table` into
`golf_rt.artifacts.precision_table`).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from golf_rt.artifacts.precision_table import Measured
from golf_rt.backends import available_backends, create_runner
from golf_rt.catalog import device_kind
from golf_rt.contract import DEFAULT_ITERATIONS, HARD_TOLERANCE, PSNR_BUDGET_DB
from golf_rt.machine.extras import require
from golf_rt.quality.hard_inputs import hard_inputs


@dataclass(frozen=True)
class VerifyRow:
    """One backend at one precision, averaged over the validation pairs."""

    backend: str
    precision: str
    psnr_vs_reference: float  # dB, float images, data range 1; inf when identical
    max_error: float
    psnr: float  # dB against the ground truth, 8-bit images
    ssim: float
    psnr_delta: float  # psnr minus the reference's psnr
    median_ms: float  # median time per pair (one crop) on this machine
    hard_max_error: float = 0.0  # worst absolute error on the hard inputs (golf_rt.quality.hard_inputs)
    hard_case: str = ""  # the hard input it was on
    device: str = "cpu"  # the runner's device ("cpu", "cuda", ONNX Runtime's "tensorrt")

    @property
    def within_budget(self) -> bool:
        """Costs at most PSNR_BUDGET_DB on the photos, and stays within HARD_TOLERANCE on the hard inputs."""
        return self.psnr_delta >= -PSNR_BUDGET_DB and self.hard_max_error <= HARD_TOLERANCE[self.precision]


def _psnr_float(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def verify_backends(
    checkpoint: str | Path | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    crops_per_photo: int = 1,
    size: int = 256,
    cases: list[tuple[str, str]] | None = None,
) -> list[VerifyRow]:
    """Rows for `cases` (default: every available backend/precision), reference first."""
    require("skimage", "verifying backends (held-out photos, PSNR and SSIM)")
    require("torch", "verifying backends against the PyTorch reference")
    from golf_rt.quality.heldout import heldout_pairs
    from golf_rt.quality.metrics import psnr, ssim, to_uint8

    pairs = heldout_pairs(crops_per_photo=crops_per_photo, size=size)
    batches = [np.ascontiguousarray(p.blurry.transpose(2, 0, 1)[None]) for p in pairs]
    sharp = [to_uint8(p.sharp) for p in pairs]
    if cases is None:
        cases = [
            (b, p) for b, precisions in available_backends().items() for p in precisions if (b, p) != ("torch", "fp32")
        ]
    rows: list[VerifyRow] = []
    outputs: dict[tuple[str, str], list[np.ndarray]] = {}
    hard: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    times: dict[tuple[str, str], float] = {}
    devices: dict[tuple[str, str], str] = {}
    hard_batches = {name: np.ascontiguousarray(image.transpose(2, 0, 1)[None]) for name, image in hard_inputs().items()}
    for backend, precision in [("torch", "fp32"), *cases]:
        with create_runner(backend, precision=precision, iterations=iterations, checkpoint=checkpoint) as runner:
            runner.deblur(batches[0])  # first-call compilation and allocations are not timed
            outputs[backend, precision], ms = [], []
            for batch in batches:
                started = time.perf_counter()
                outputs[backend, precision].append(runner.deblur(batch)[0].transpose(1, 2, 0))
                ms.append((time.perf_counter() - started) * 1000)
            times[backend, precision], devices[backend, precision] = statistics.median(ms), runner.device
            hard[backend, precision] = {name: runner.deblur(batch) for name, batch in hard_batches.items()}
    reference = outputs["torch", "fp32"]
    reference_psnr = float(np.mean([psnr(to_uint8(o), s) for o, s in zip(reference, sharp, strict=True)]))
    for (backend, precision), outs in outputs.items():
        scores = [psnr(to_uint8(o), s) for o, s in zip(outs, sharp, strict=True)]
        hard_reference = hard["torch", "fp32"]
        hard_errors = {n: float(np.abs(o - hard_reference[n]).max()) for n, o in hard[backend, precision].items()}
        hard_case = max(hard_errors, key=hard_errors.get)
        rows.append(
            VerifyRow(
                backend,
                precision,
                psnr_vs_reference=float(np.mean([_psnr_float(o, r) for o, r in zip(outs, reference, strict=True)])),
                max_error=float(max(np.abs(o - r).max() for o, r in zip(outs, reference, strict=True))),
                psnr=float(np.mean(scores)),
                ssim=float(np.mean([ssim(to_uint8(o), s) for o, s in zip(outs, sharp, strict=True)])),
                psnr_delta=float(np.mean(scores)) - reference_psnr,
                median_ms=times[backend, precision],
                hard_max_error=hard_errors[hard_case],
                hard_case=hard_case,
                device=devices[backend, precision],
            )  # fmt: skip
        )
    return rows


_HEADER = (
    "backend", "precision", "PSNR vs ref (dB)", "max error", "PSNR (dB)", "SSIM", "delta PSNR (dB)", "hard inputs",
    "budget", "ms",
)  # fmt: skip


def _cells(row: VerifyRow) -> tuple[str, ...]:
    return (
        row.backend, row.precision, f"{row.psnr_vs_reference:.2f}", f"{row.max_error:.2e}", f"{row.psnr:.3f}",
        f"{row.ssim:.4f}", f"{row.psnr_delta:+.4f}", f"{row.hard_max_error:.3f} ({row.hard_case or '-'})",
        "ok" if row.within_budget else "over",
        f"{row.median_ms:.0f}",
    )  # fmt: skip


def rows_to_table(rows: list[VerifyRow]) -> str:
    """A plain-text table for the terminal."""
    cells = [_HEADER, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEADER))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(c))).rstrip() for c in cells)


def rows_to_markdown(rows: list[VerifyRow]) -> str:
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def rows_to_json(rows: list[VerifyRow]) -> str:
    data = [{**asdict(r), "within_budget": r.within_budget} for r in rows]
    for item in data:  # JSON has no infinity: identical outputs get null
        item["psnr_vs_reference"] = None if math.isinf(item["psnr_vs_reference"]) else item["psnr_vs_reference"]
    return json.dumps(data, indent=2)


def rows_to_measured(rows: list[VerifyRow]) -> list[Measured]:
    """The rows as the precision table keeps them (`golf_rt.artifacts.precision_table`), with their device.

    Each names the device it ran on and its kind: a row decides "auto" only on its own kind of device.
    """
    from golf_rt.machine.environment import device_name

    measured = []
    for row in rows:
        kind = device_kind(row.device)
        delta, device = round(row.psnr_delta, 5) + 0.0, device_name(on_gpu=kind == "cuda")  # no -0.0
        measured.append(Measured(row.backend, row.precision, delta, round(row.median_ms, 1), device, kind))
    return measured
