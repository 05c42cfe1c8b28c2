"""Checkpoints: F and G weights in one safetensors file, their metadata as JSON in its header.

Loading never unpickles anything. The metadata carries what built the model (filters,
iterations) and how it was trained, so a checkpoint is self-describing.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golf_rt.errors import CheckpointError

if TYPE_CHECKING:
    from golf_rt.model.networks import GolfOptimizer

FORMAT = "golf-rt-checkpoint/1"
METADATA_KEY = "golf_rt"


def default_checkpoint_path() -> Path:
    """The trained weights shipped inside the package."""
    return Path(str(resources.files("golf_rt") / "weights" / "golf_default.safetensors"))


def resolve(path: str | Path | None) -> Path:
    """None means the shipped checkpoint; anything else must exist."""
    resolved = default_checkpoint_path() if path is None else Path(path)
    if not resolved.is_file():
        raise CheckpointError(f"checkpoint not found: {resolved}")
    return resolved


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(path: str | Path | None = None) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, without torch."""
    from safetensors import safe_open

    resolved = resolve(path)
    try:
        with safe_open(str(resolved), framework="numpy") as handle:
            header = handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own untyped errors
        raise CheckpointError(f"{resolved} is not a readable safetensors file: {exc}") from exc
    if METADATA_KEY not in header:
        raise CheckpointError(f"{resolved} is a safetensors file but not a golf-rt checkpoint")
    metadata = json.loads(header[METADATA_KEY])
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{resolved}: unknown checkpoint format {metadata.get('format')!r}")
    return metadata


def save(model: GolfOptimizer, path: str | Path, metadata: dict[str, Any], extra_tensors: dict | None = None) -> Path:
    """Write F and G (prefixed 'F.' and 'G.') with the metadata, whole or not at all; returns the path.

    `extra_tensors` (names without the F./G. prefixes) travel in the same file, e.g. a training
    run's optimizer state; `load` ignores them.
    """
    from safetensors.torch import save_file

    from golf_rt.machine.atomic_files import atomic_path

    tensors = {f"F.{k}": v.detach().cpu().contiguous() for k, v in model.f.state_dict().items()}
    tensors.update({f"G.{k}": v.detach().cpu().contiguous() for k, v in model.g.state_dict().items()})
    for name, value in (extra_tensors or {}).items():
        if name[:2] in ("F.", "G."):
            raise ValueError(f"extra tensor {name!r} would shadow the networks' weights")
        tensors[name] = value.detach().cpu().contiguous()
    full = {
        "format": FORMAT,
        "architecture": "golf-optimizer",
        "filters": {"F": model.f.filters, "G": model.g.filters},
        "residual_scale": {"F": model.f.residual_scale, "G": model.g.residual_scale},
        "padding": {"F": model.f.padding, "G": model.g.padding},
        "iterations": model.iterations,
        **metadata,
    }
    path = Path(path)
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={METADATA_KEY: json.dumps(full, sort_keys=True)})
    return path


def load(path: str | Path | None = None, iterations: int | None = None) -> GolfOptimizer:
    """Rebuild the full model from a checkpoint; None means the shipped one."""
    from safetensors.torch import load_file

    from golf_rt.model.networks import GolfNet, GolfOptimizer

    metadata = read_metadata(path)
    tensors = load_file(str(resolve(path)))
    scales = metadata.get("residual_scale", {"F": "none", "G": "none"})  # older files: the paper's network
    paddings = metadata.get("padding", {"F": "zeros", "G": "zeros"})  # older files: zero padding
    try:
        f = GolfNet(int(metadata["filters"]["F"]), scales["F"], paddings["F"])
        g = GolfNet(int(metadata["filters"]["G"]), scales["G"], paddings["G"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: unusable architecture metadata: {exc}") from exc
    for prefix, net in (("F.", f), ("G.", g)):
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights of {prefix[0]} do not fit the network: {exc}") from exc
    n = int(metadata.get("iterations", 3)) if iterations is None else iterations
    return GolfOptimizer(f, g, n).eval()
