"""Where golf-rt keeps files: the ONNX models shipped in the package and the per-user cache.

The cache holds what is derived from a checkpoint on this machine (ONNX exports of non-default
checkpoints, TensorRT timing caches). `GOLF_RT_CACHE` overrides its location, then
`XDG_CACHE_HOME`, then `~/.cache/golf-rt`.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def shipped_models_dir() -> Path:
    """The ONNX files of the shipped checkpoint, written by `golf-rt export --output golf_rt/models`."""
    return Path(str(resources.files("golf_rt") / "models"))


def cache_dir() -> Path:
    """The per-user cache folder (not created here)."""
    if os.environ.get("GOLF_RT_CACHE"):
        return Path(os.environ["GOLF_RT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "golf-rt"
