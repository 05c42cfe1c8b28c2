import numpy as np
import pytest

from golf_rt.backends.base import Runner, validate_batch
from golf_rt.errors import ConfigurationError, InvalidImageError


class Halver(Runner):
    """A real runner with trivial arithmetic, to test what the base class guarantees."""

    name = "halver"

    def __init__(self, precision: str = "fp32") -> None:
        super().__init__(precision)
        self.events: list[str] = []

    def _activate(self) -> None:
        self.events.append("activate")

    def _deblur(self, batch: np.ndarray) -> np.ndarray:
        return batch / 2

    def _deactivate(self) -> None:
        self.events.append("deactivate")


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([[1.0]], "numpy array"),
        (np.zeros((1, 3, 4, 4), np.float64), "float32"),
        (np.zeros((3, 4, 4), np.float32), "N x 3 x H x W"),
        (np.zeros((1, 1, 4, 4), np.float32), "N x 3 x H x W"),
        (np.zeros((0, 3, 4, 4), np.float32), "empty"),
        (np.zeros((1, 3, 1, 4), np.float32), "at least"),
        (np.full((1, 3, 4, 4), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_batches_never_reach_the_backend(batch, message):
    runner = Halver()
    with pytest.raises(InvalidImageError, match=message):
        runner.deblur(batch)
    assert runner.events == []


def test_non_contiguous_batches_are_made_contiguous():
    batch = np.zeros((1, 4, 4, 3), np.float32).transpose(0, 3, 1, 2)
    assert validate_batch(batch).flags.c_contiguous


def test_lifecycle_is_idempotent_and_deblur_activates():
    runner = Halver()
    out = runner.deblur(np.ones((1, 3, 4, 4), np.float32))
    assert (out == 0.5).all() and runner.is_active
    runner.activate()
    with runner:
        pass
    runner.deactivate()
    assert runner.events == ["activate", "deactivate"]


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ConfigurationError, match="choose one of fp32, fp16, bf16, int8"):
        Halver("int4")


def test_a_runner_is_handed_its_model_or_a_loader():
    from golf_rt.backends.base import loaded

    made = []
    assert loaded("model") == "model"
    assert loaded(lambda: made.append(1) or "model") == "model" and made == [1]
    assert loaded(len, kind=type(len)) is len  # a runtime object that is callable itself
