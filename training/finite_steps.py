"""Skip optimiser steps whose loss or gradients are not finite, so one bad batch cannot poison the weights.

Without it, a single NaN gradient turns every weight into NaN, and the run goes on for hours
saving a dead checkpoint and resume state.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

PATIENCE = 25
"""Non-finite steps in a row that end the run: by then the weights or the data are broken."""


class NonFiniteTrainingError(RuntimeError):
    """The loss or the gradients stayed non-finite for PATIENCE steps in a row."""


class FiniteSteps:
    """Call `allows(loss)` after `loss.backward()`: False means drop this step's gradients."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter], patience: int = PATIENCE) -> None:
        self.parameters = [p for p in parameters if p.requires_grad]
        self.patience = patience
        self.skipped = 0
        self.in_a_row = 0

    def allows(self, loss: torch.Tensor, step: int) -> bool:
        gradient_norm = torch.nn.utils.clip_grad_norm_(self.parameters, float("inf"))
        if bool(torch.isfinite(loss.detach()) & torch.isfinite(gradient_norm)):
            self.in_a_row = 0
            return True
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row >= self.patience:
            raise NonFiniteTrainingError(
                f"step {step}: loss or gradients non-finite for {self.in_a_row} steps in a row "
                f"({self.skipped} skipped in all); the last saved checkpoint is the last good one"
            )
        return False
