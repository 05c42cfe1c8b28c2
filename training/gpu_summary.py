"""The GPU run's readable outputs: evaluation.json's content and summary.md's tables.

Kept apart from the run itself so the orchestration reads in one go; nothing here touches torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.evaluate import Report
    from training.gpu_stage import StageResult
    from training.gpu_timing import Timing


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


def _stage_rows(stages: Mapping[str, StageResult]) -> str:
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


def summary_markdown(config: Any, command: str, startup: Mapping[str, Any], stages: Mapping[str, StageResult],
                     evaluation: Mapping[str, Mapping[str, Any]], timings: Sequence[Timing],
                     total_seconds: float) -> str:  # fmt: skip
    """summary.md: the run, its stages, the held-out evaluation and the timing, as tables."""
    from training.gpu_timing import markdown as timing_markdown

    lines = [
        f"# GPU run: F then G in {config.minutes:g} minutes on {startup['device']}",
        "",
        f"`{command}`" if command else "",
        "",
        f"Wall clock: {total_seconds:.0f} s of {config.minutes * 60:.0f} s. Start-up: {startup['seconds']:.0f} s "
        f"({startup['photos']} photos, {startup['dead_leaves']} dead-leaves images, {startup['kernels']} kernels of "
        f"{startup['kernel_size']} px, {startup['device_pixels_mib']:.0f} MiB on the device).",
        "",
        f"Batch {config.batch} of {config.crop}x{config.crop} crops, amp {config.amp}, "
        f"{'channels_last' if startup['channels_last'] else 'contiguous'} memory"
        f"{', torch.compile' if config.compile else ''}; loss {config.loss} + {config.fft_weight:g} x frequency; "
        f"lr {config.lr_f:g} (F) / {config.lr_g:g} (G) decayed to x{config.final_lr_fraction:g} over each stage; "
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
    lines += ["## Timing: F + G x 3 on one image", "", timing_markdown(timings), ""]
    return "\n".join(lines)
