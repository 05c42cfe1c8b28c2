"""After a run with `report` (the `gpu` preset): the held-out evaluation, a figure, the timing and summary.md.

Files, flat in the run folder beside the checkpoint: evaluation.json (the held-out set and its
sharp-with-noise twin, input and F + G x 0..5), heldout.png, benchmark-gpu.json (F + G x 3 timed
on the training device; `golf-rt report` reads it) and summary.md (the run's tables).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from golf_rt.quality.heldout import heldout_pairs, with_heldout_noise
from training.evaluate import Report, evaluate, write_figure
from training.gpu_timing import Timing, result_document, time_model
from training.gpu_timing import markdown as timing_markdown

TIMING_SHARE = 0.125  # of the whole budget at most: a minute of an 8-minute run
WRITE_MARGIN = 5.0  # seconds kept for writing the files at the end
UNTIMED_SECONDS = 10.0  # timing time without a budget
NO_TIMING = "no time was left for the timing: benchmark-gpu.json holds no result"


def write_report(model: torch.nn.Module, config: Any, device: torch.device, stages: Mapping[str, Any],
                 startup: Mapping[str, Any], log: Any, checkpoint: Path, command: str,
                 deadline: float | None) -> dict[str, Path]:  # fmt: skip
    """Evaluate, draw, time and summarise the trained `model`; returns the files written by kind."""
    output = checkpoint.parent
    pairs = heldout_pairs(config.eval_crops, config.eval_size)
    reports = {"heldout": evaluate(model, pairs, 5, device),
               "sharp-noisy": evaluate(model, with_heldout_noise(pairs), 5, device)}  # fmt: skip
    evaluation = evaluation_payload(reports, config.eval_size)
    files = {"evaluation": output / "evaluation.json"}
    files["evaluation"].write_text(json.dumps(evaluation, indent=2))
    log.write("evaluation", **{f"{name}_gain_db_at_3": data["gain_db"]["3"] for name, data in evaluation.items()})
    files["figure"] = write_figure(model, pairs[:: max(1, len(pairs) // 4)][:4], output / "heldout.png", device)

    budget = (config.minutes or 0) * 60
    seconds = min(deadline - time.monotonic() - WRITE_MARGIN, TIMING_SHARE * budget) if deadline else UNTIMED_SECONDS

    def logged(timing: Timing) -> None:  # each case in the log as it is measured: a killed run keeps it
        log.write("timing", size=f"{timing.size[0]}x{timing.size[1]}", precision=timing.precision,
                  cuda_graph=timing.cuda_graph, mean_ms=timing.mean, rounds=len(timing.ms))  # fmt: skip

    timings = time_model(model, device, config.timing_sizes, config.timing_precisions, max(seconds, 0.0),
                         on_timing=logged)  # fmt: skip
    if not timings:
        log.write("note", message=NO_TIMING)
    note = f"training.train: the checkpoint trained in this run ({config.minutes or 0:g} minutes)"
    files["benchmark"] = output / "benchmark-gpu.json"
    files["benchmark"].write_text(json.dumps(result_document(timings, checkpoint, note), indent=2))
    files["summary"] = output / "summary.md"
    total = time.monotonic() - log.started
    files["summary"].write_text(summary_markdown(config, command, startup, stages, evaluation, timings, total))
    return files


def evaluation_payload(reports: Mapping[str, Report], size: int) -> dict[str, dict[str, Any]]:
    """Per data set: mean PSNR/SSIM per stage ('input', '0'..'5'), gains over the input, per-image values."""
    payload = {}
    for name, report in reports.items():
        means = report.mean()
        base = means["input"]["psnr"]
        payload[name] = {
            "pairs": len(report.names),
            "size": size,
            "mean": means,
            "gain_db": {stage: m["psnr"] - base for stage, m in means.items() if stage != "input"},
            "worst_change_db_at_3": -report.worst_loss_db("3") if "3" in means else None,
            "per_image": {"names": report.names, "psnr": report.psnr, "ssim": report.ssim},
            "markdown": report.markdown(),
        }
    return payload


def _stage_rows(stages: Mapping[str, Any]) -> str:
    header = ("stage", "seconds", "steps", "crops", "crops/s", "TFLOP/s", "best val_score (dB)", "at step",
              "blurred gain", "sharp gain", "batch")  # fmt: skip
    rows = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name, s in stages.items():
        gains = [s.best.get(key, float("nan")) for key in ("val_score", "val_blurred_gain", "val_sharp_gain")]
        cells = (name, f"{s.seconds:.0f}", f"{s.steps:,}", f"{s.crops:,}", f"{s.crops_per_second:.1f}",
                 f"{s.tflops:.1f}", f"{gains[0]:+.3f}", f"{s.best_step:,}", f"{gains[1]:+.3f}", f"{gains[2]:+.3f}",
                 str(s.batch))  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def summary_markdown(config: Any, command: str, startup: Mapping[str, Any], stages: Mapping[str, Any],
                     evaluation: Mapping[str, Mapping[str, Any]], timings: Sequence[Timing],
                     total_seconds: float) -> str:  # fmt: skip
    """summary.md: the run, its stages, the held-out evaluation and the timing, as tables."""
    lines = [
        f"# Training run: {' then '.join(config.stages)} in {config.minutes or 0:g} minutes on {startup['device']}",
        "",
        f"`{command}`" if command else "",
        "",
        f"Wall clock: {total_seconds:.0f} s of {(config.minutes or 0) * 60:.0f} s. "
        f"Start-up: {startup['seconds']:.0f} s "
        f"({startup['photos']} photos, {startup['dead_leaves']} dead-leaves images, {startup['kernels']} kernels of "
        f"{startup['kernel_size']} px).",
        "",
        f"Batch {config.batch} of {config.crop[0]}x{config.crop[0]} crops (G: {config.crop[1]}), amp {config.amp}, "
        f"{'channels_last' if startup['channels_last'] else 'contiguous'} memory"
        f"{', torch.compile' if config.compile else ''}; loss {config.loss} + {config.fft_weight:g} x frequency; "
        f"lr {config.lr[0]:g} (F) / {config.lr[1]:g} (G) decayed to x{config.final_lr_fraction:g} over each stage; "
        f"G trained on the mean over {config.train_iterations} iterates. Validation: {startup['validation']} "
        f"({startup['validation_crops']} crops; val_score is the mean PSNR gain, sharp crops included).",
        "",
        "## Stages",
        "",
        _stage_rows(stages),
        "",
        "crops/s and TFLOP/s leave out the first window of each stage (cudnn autotuning, compilation).",
        "",
    ]
    titles = {"heldout": "Held-out set (blurred)", "sharp-noisy": "Held-out set, sharp input with its noise"}
    for name, data in evaluation.items():
        worst = data["worst_change_db_at_3"]
        lines += [f"## {titles.get(name, name)}: {data['pairs']} crops of {data['size']} px", "", data["markdown"], ""]
        if worst is not None:
            lines += [f"Worst per-image change at 3 iterations: {worst:+.2f} dB.", ""]
    lines += ["## Timing: F + G x 3 on one image", "", timing_markdown(timings) if timings else NO_TIMING + ".", ""]
    return "\n".join(lines)
