"""What a training run writes in its folder: log.jsonl, best.safetensors and state.safetensors.

`state.safetensors` is the run's one checkpoint dict: F and G weights and Adam's moments as
tensors; step, stage, finished stages, schedule progress, best score, config and Adam's settings
as JSON in its header. It is a golf-rt checkpoint (`golf_rt.model.checkpoint.load` reads its networks),
written whole or not at all, and reading it never unpickles anything. `best.safetensors` holds
the best validated networks with how they were made.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from golf_rt.errors import CheckpointError
from golf_rt.model import checkpoint
from golf_rt.model.networks import GolfOptimizer

STATE, BEST, LOG = "state.safetensors", "best.safetensors", "log.jsonl"
logger = logging.getLogger(__name__)


class RunLog:
    """log.jsonl: one JSON object per record, `seconds` counted from the run's start; a line to the log too.

    Only one process of a data-parallel run writes (`enabled`); a resumed run appends.
    """

    def __init__(self, path: Path, started: float, append: bool = False, enabled: bool = True) -> None:
        self.path, self.started, self.enabled = path, started, enabled
        if enabled and not append:
            path.write_text("")

    def write(self, kind: str, **fields: Any) -> dict:
        record = {"kind": kind, "seconds": round(time.monotonic() - self.started, 2), **fields}
        if self.enabled:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            brief = {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in record.items() if not isinstance(v, dict)}
            logger.info(" ".join(f"{k}={v}" for k, v in brief.items()))
        return record


def save_state(path: Path, model: GolfOptimizer, optimizer: torch.optim.Optimizer, resume: dict[str, Any],
               metadata: dict[str, Any]) -> Path:  # fmt: skip
    """The checkpoint dict: the networks, Adam's moments (tensors) and `resume` (step, stage, ...) in the header."""
    state = optimizer.state_dict()
    tensors = {f"adam.{index}.{name}": value for index, values in state["state"].items()
               for name, value in values.items()}  # fmt: skip
    resume = {**resume, "param_groups": state["param_groups"]}
    return checkpoint.save(model, path, {**metadata, "resume": resume}, extra_tensors=tensors)


def read_state(path: Path) -> dict[str, Any]:
    """The `resume` part of a state file: step, stage, done, progress, best, best_step, param_groups."""
    metadata = checkpoint.read_metadata(path)
    if "resume" not in metadata:
        raise CheckpointError(f"{path} is a checkpoint but not a training run's state (no resume record)")
    return metadata["resume"]


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer) -> None:
    """Adam's moments and settings from a state file into `optimizer` (made for the same network)."""
    from safetensors.torch import load_file

    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_file(str(path)).items():
        if key.startswith("adam."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": read_state(path)["param_groups"]})
