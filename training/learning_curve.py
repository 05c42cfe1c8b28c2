"""Learning curves: validation gains against steps and CPU-hours, from training logs.

    python -m training.learning_curve runs/F/log.jsonl runs/G/log.jsonl --output docs/model/learning_curve.png

Each validation record of `training.train` (step, seconds, val_* gains) is a point; a log of
both stages draws F's and G's curves apart. The picture has one panel by steps and one by hours
of wall clock, so a run's trend and its cost read off the same figure; a dashed line marks zero
gain, the "leave the image alone" level. A run that validated on several blurs (`--val-blur`)
draws each one's blurred-crop gain beside the first's curves, under the blur's name.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CURVES = (("val_blurred_gain", "blurred crops"), ("val_sharp_gain", "sharp crops"), ("val_score", "all crops"))


def curves_of(record: dict) -> list[tuple[str, str]]:
    """(key, name) of every curve a validation record holds: CURVES, then other blurs' blurred crops."""
    others = sorted({key.split(":")[0] for key in record if key.endswith(":val_blurred_gain")})
    return [*CURVES, *((f"{blur}:val_blurred_gain", f"{blur} blurred crops") for blur in others)]


def read_log(path: Path) -> list[dict]:
    """Records with `hours` added: wall clock summed over resumptions (each restarts `seconds`)."""
    records, offset, last = [], 0.0, 0.0
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if record["seconds"] < last:
                offset += last
            last = record["seconds"]
            records.append({**record, "hours": (offset + last) / 3600})
    return records


DEFAULT_TITLE = "Validation: unseen photos, spline kernels 9-23 px, a quarter sharp crops"


def plot(logs: dict[str, list[dict]], output: Path, title: str = DEFAULT_TITLE) -> Path:
    """One PNG: gains (dB) by step and by hour for every log that has unseen-validation gains."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    curves: dict[str, list[dict]] = {}
    for name, records in logs.items():
        startup = next((r for r in records if r.get("kind") == "startup"), {})
        blurs = startup.get("validation_blur", [])
        first = f" {blurs[0]}" if len(blurs) > 1 else ""  # name the first blur where several were validated
        for record in records:
            if "val_score" in record:
                label = f"{name} {record['stage']}" if "stage" in record else name
                curves.setdefault(label + first, []).append(record)
    for label, records in curves.items():
        steps = [r["step"] for r in records]
        hours = [r["hours"] for r in records]
        for key, name in curves_of(records[0]):
            values = [r[key] for r in records]
            for axis, xs in zip(axes, (steps, hours)):
                axis.plot(xs, values, marker=".", label=f"{label}: {name}")
    for axis, xlabel in zip(axes, ("step", "hours (wall clock)")):
        axis.axhline(0.0, color="black", linestyle="--", linewidth=0.8)
        axis.set_xlabel(xlabel)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR gain over the input (dB)")
    axes[1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.learning_curve", description=__doc__.split("\n")[0])
    parser.add_argument(
        "logs",
        type=Path,
        nargs="+",
        help="log.jsonl files, each labelled by its folder (other names: by the file's own name)",
    )
    parser.add_argument("--output", type=Path, default=Path("learning_curve.png"))
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the figure's title: what the validation crops are")
    args = parser.parse_args(argv)
    labels = {p: p.parent.name if p.name == "log.jsonl" else p.stem for p in args.logs}
    print(plot({labels[p]: read_log(p) for p in args.logs}, args.output, args.title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
