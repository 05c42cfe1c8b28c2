"""Model sizes measured from the files (Table 3): the checkpoint, split into F and G, and each model file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from golf_rt.errors import CheckpointError

MIB = 2**20
"""The paper's "MB" are 2^20 bytes: 466,348 fp32 parameters of F are its 1.78 MB."""


def checkpoint_sizes(path: str | Path) -> dict:
    """The checkpoint's file size and the bytes of its F.* and G.* tensors, read from the safetensors header."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
    except (OSError, struct.error, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc
    parts = {"F": 0, "G": 0}
    for key, tensor in header.items():
        if key != "__metadata__" and key[:2] in ("F.", "G."):
            start, end = tensor["data_offsets"]
            parts[key[0]] += end - start
    return {"file": path.name, "bytes": path.stat().st_size, "F_bytes": parts["F"], "G_bytes": parts["G"]}
