"""Natural photos for training and validation, from Debian's wallpaper packages.

scikit-image ships only a handful of colour photos, so training adds photographs from three
Debian packages (Ubuntu's wallpaper-contest photos and MATE's nature set, CC-BY-SA / GPL).
`python -m training.photos` downloads the packages with apt (no root needed: `apt-get
download` plus `dpkg -x`), shrinks each photo so its long side is 1024 px (Lanczos) and writes
JPEG quality 95 files into one folder, so the list and the pixels are reproducible.

Six photos are kept apart for validation: checkpoints are chosen on photos never trained on,
blurred with a kernel model training never draws from (see `training.validation`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_FOLDER = Path("data/photos")
LONG_SIDE = 1024
PACKAGES = ("lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds")
TRAINING_PHOTOS = (
    "usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg",
    "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
    "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
    "usr/share/backgrounds/Picture_1A_by_freespace.jpg",
    "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
    "usr/share/backgrounds/free_by_Peter_Nerlich.jpg",
    "usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg",
    "usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
    "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
    "usr/share/backgrounds/mate/nature/Aqua.jpg",
    "usr/share/backgrounds/mate/nature/Blinds.jpg",
    "usr/share/backgrounds/mate/nature/Dune.jpg",
    "usr/share/backgrounds/mate/nature/FreshFlower.jpg",
    "usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
    "usr/share/backgrounds/mate/nature/LadyBird.jpg",
    "usr/share/backgrounds/mate/nature/RainDrops.jpg",
    "usr/share/backgrounds/mate/nature/Storm.jpg",
    "usr/share/backgrounds/mate/nature/TwoWings.jpg",
    "usr/share/backgrounds/mate/nature/YellowFlower.jpg",
)
VALIDATION_PHOTOS = (
    "usr/share/backgrounds/Dragonfly_by_Bolly.jpg",
    "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
    "usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
    "usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
    "usr/share/backgrounds/mate/nature/Garden.jpg",
    "usr/share/backgrounds/mate/nature/Wood.jpg",
)


def file_name(package_path: str) -> str:
    return Path(package_path).stem + ".jpg"


def unpack_packages(root: Path) -> Path:
    """Download the wallpaper packages into `root` with apt and unpack them; returns the unpacked tree."""
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=root, check=True, capture_output=True)
    for deb in sorted(root.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root / "tree")], check=True)
    return root / "tree"


def prepare(folder: Path = DEFAULT_FOLDER, long_side: int = LONG_SIDE) -> list[Path]:
    """Download the packages, shrink every listed photo into `folder`; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        tree = unpack_packages(Path(scratch))
        for relative in TRAINING_PHOTOS + VALIDATION_PHOTOS:
            with Image.open(tree / relative) as handle:
                image = handle.convert("RGB")
            scale = long_side / max(image.size)
            size = (round(image.width * scale), round(image.height * scale))
            target = folder / file_name(relative)
            temporary = target.with_suffix(".tmp.jpg")
            image.resize(size, Image.LANCZOS).save(temporary, quality=95)
            temporary.replace(target)
            written.append(target)
    return written


def _load(folder: Path, names: tuple[str, ...]) -> list[np.ndarray]:
    missing = [file_name(n) for n in names if not (folder / file_name(n)).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} photos missing under {folder} (e.g. {missing[0]}); "
                                f"run `python -m training.photos --output {folder}`")  # fmt: skip
    images = []
    for name in names:
        with Image.open(folder / file_name(name)) as handle:
            images.append(np.asarray(handle.convert("RGB"), dtype=np.float32) / 255.0)
    return images


def training_photos(folder: Path = DEFAULT_FOLDER) -> list[np.ndarray]:
    return _load(Path(folder), TRAINING_PHOTOS)


def validation_photos(folder: Path = DEFAULT_FOLDER) -> list[np.ndarray]:
    return _load(Path(folder), VALIDATION_PHOTOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.photos", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--long-side", type=int, default=LONG_SIDE)
    args = parser.parse_args(argv)
    try:
        files = prepare(args.output, args.long_side)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"error: could not fetch the wallpaper packages with apt: {exc}", file=sys.stderr)
        return 1
    print(f"{len(files)} photos in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
