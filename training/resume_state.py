"""A training run's resume state: Adam's moments, the step and the best score, as safetensors."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def save_state(path: Path, optimizer: torch.optim.Optimizer, step: int, best: float) -> None:
    """Adam's moments as safetensors, so resuming never unpickles anything."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors = {f"{i}.{k}": v for i, s in state["state"].items() for k, v in s.items()}
    meta = {"step": step, "best": best, "param_groups": state["param_groups"]}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"state": json.dumps(meta)})


def load_state(path: Path, optimizer: torch.optim.Optimizer) -> tuple[int, float]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["state"])
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_file(str(path)).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return int(meta["step"]), float(meta["best"])
