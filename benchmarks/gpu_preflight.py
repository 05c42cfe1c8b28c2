"""What a lent GPU machine lacks for `training.gpu_run` and `benchmarks/gpu_check.sh`, found before using it.

    PYTHONPATH=. python3 benchmarks/gpu_preflight.py --output $OUT [--photos data/photos | --no-photos]

Checks, without running anything on the GPU but one small tensor: a CUDA build of torch that sees
a GPU, every Python module the two import (golf-rt is not installed there; the repository must be
importable through PYTHONPATH), nvidia-smi, the photo folder `training.photos` makes (every file
it lists), and that the output folder can be written. Prints one line per problem on stderr and
exits 1 when there is any; otherwise one line saying what it found, and exit 0. Warnings (a
missing optional module that changes what the run measures) never fail it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

MODULES = {
    "torch": "torch, a CUDA build (training, timing, the GPU tests)",
    "numpy": "numpy",
    "PIL": "Pillow (image files)",
    "skimage": "scikit-image (training photos, held-out photos, PSNR and SSIM)",
    "safetensors": "safetensors (checkpoints)",
    "tqdm": "tqdm (training.evaluate's progress)",
    "png": "pypng (golf_rt.images.files reads scikit-image's 16-bit chessboard_RGB.png with it; where it is not "
    "installed, carry its wheel: MODEL_CARD.md, GPU run)",
    "typer": "typer (the golf-rt command line: `golf-rt report`)",
    "pytest": "pytest (the GPU tests)",
    "markdown_it": "markdown-it-py (tests/examples.py, collected with the GPU tests; typer's rich brings it)",
    "rich": "rich (typer brings it; tests/test_cli.py reads each command's help as rich renders it)",
    "packaging": "packaging (pytest brings it; tests/test_gpu_bindings.py reads the gpu extra's pins with it)",
}
"""Every third-party module that gpu_run and gpu_check import, and what needs it."""
OPTIONAL = {
    "matplotlib": "matplotlib: without it the held-out set loses grace_hopper and the report its chart",
    "sklearn": "scikit-learn: without it the held-out set loses china and flower (12 crops instead of 20 at "
    "--eval-crops 4), so the evaluation is not comparable with MODEL_CARD.md's table",
}
"""Modules whose absence changes what is measured or drawn, but breaks nothing."""
OWN = ("golf_rt", "training")


def missing_modules() -> list[str]:
    """One problem per required module that cannot be found, naming what needs it."""
    return [f"missing Python module {name!r}: {why}" for name, why in MODULES.items() if not _found(name)]


def missing_optional() -> list[str]:
    return [f"warning: missing {why}" for name, why in OPTIONAL.items() if not _found(name)]


def repository_problems() -> list[str]:
    missing = [name for name in OWN if not _found(name)]
    if missing:
        return [f"{' and '.join(missing)} cannot be imported: run from the repository root with PYTHONPATH=."]
    return []


def _found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def cuda_problems(facts: list[str]) -> list[str]:
    """'no CUDA GPU' when torch is a CPU build or finds no device, or when a tensor cannot be made on it."""
    if not _found("torch"):
        return []  # reported as a missing module
    import torch

    if torch.version.cuda is None:
        return [f"no CUDA GPU: this torch ({torch.__version__}) is a CPU build"]
    if not torch.cuda.is_available():
        return [f"no CUDA GPU: torch {torch.__version__} (CUDA {torch.version.cuda}) finds no device"]
    try:
        value = (torch.ones(1, device="cuda") + 1).item()
        name = torch.cuda.get_device_name(0)
        memory = torch.cuda.get_device_properties(0).total_memory / 2**30
    except RuntimeError as exc:
        return [f"no usable CUDA GPU: a tensor on it fails: {str(exc).splitlines()[0]}"]
    if value != 2.0:
        return [f"no usable CUDA GPU: 1 + 1 gave {value} on it"]
    facts.append(f"{name} ({memory:.0f} GiB), torch {torch.__version__} with CUDA {torch.version.cuda}")
    return []


def photo_problems(folder: Path | None, facts: list[str]) -> list[str]:
    """Every photo `training.photos` lists, present and not empty in `folder` (None: gpu_run's default)."""
    try:
        from training import photos
    except ImportError as exc:
        return [f"cannot check the photos: training.photos does not import ({exc})"]
    folder = photos.DEFAULT_FOLDER if folder is None else folder
    how = f"make it with `python -m training.photos --output {folder}` and carry it to the GPU machine"
    if not folder.is_dir():
        return [f"no photo folder {folder}: {how}"]
    names = [photos.file_name(path) for path in photos.TRAINING_PHOTOS + photos.VALIDATION_PHOTOS]
    missing = [name for name in names if not (folder / name).is_file() or (folder / name).stat().st_size == 0]
    if missing:
        return [f"{len(missing)} of {len(names)} photos missing or empty in {folder} (e.g. {missing[0]}): {how}"]
    facts.append(f"{len(names)} photos in {folder}")
    return []


def output_problems(folder: str | None, facts: list[str]) -> list[str]:
    if not folder:
        return ["no output folder: pass --output or set OUT"]
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".preflight-"):
            pass
    except OSError as exc:
        return [f"output folder {path} cannot be written: {exc.strerror or exc}"]
    facts.append(f"{path} writable")
    return []


def nvidia_smi_problems() -> list[str]:
    return [] if shutil.which("nvidia-smi") else ["nvidia-smi is not on PATH (benchmarks/gpu_check.sh records the GPU)"]


def preflight(output: str | None, check_photos: bool = True,
              photos: Path | None = None) -> tuple[list[str], list[str], list[str]]:  # fmt: skip
    """(problems, warnings, facts) of this machine for the GPU run; `photos` None: gpu_run's default folder."""
    facts: list[str] = []
    problems = [f"Python {sys.version.split()[0]} is older than 3.10"] if sys.version_info < (3, 10) else []
    problems += repository_problems() + missing_modules() + cuda_problems(facts) + nvidia_smi_problems()
    if check_photos and not repository_problems():
        problems += photo_problems(photos, facts)
    problems += output_problems(output, facts)
    return problems, missing_optional(), facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_preflight.py", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.environ.get("OUT"), help="Folder for the results (default: $OUT).")
    parser.add_argument("--photos", type=Path, help="The photo folder gpu_run reads (default: data/photos).")
    parser.add_argument("--no-photos", action="store_true", help="Do not check the photo folder (gpu_check alone).")
    args = parser.parse_args(argv)
    problems, warnings, facts = preflight(args.output, not args.no_photos, args.photos)
    for line in warnings + problems:
        print(f"preflight: {line}", file=sys.stderr)
    if problems:
        print(f"preflight: {len(problems)} problem{'s' if len(problems) > 1 else ''}", file=sys.stderr)
        return 1
    print(f"preflight: ok: {'; '.join(facts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
