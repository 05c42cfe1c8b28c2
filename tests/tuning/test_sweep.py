"""A sweep's settings are checked before anything starts: one typed error, the valid choices named."""

from __future__ import annotations

import pytest

from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.tuning.candidates import Candidate
from golf_rt.tuning.sweep import TuneSpec

from ..cli_helpers import golf_rt

ONE = (Candidate(),)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"budget_ms": 0}, "budget must be > 0"),
        ({"budget_ms": -5}, "budget must be > 0"),
        ({"protocol": "udp"}, "not one of grpc, http"),
        ({"concurrency": (0, 1)}, "concurrency levels must be >= 1"),
        ({"size": 2}, "size must be 4.."),
        ({"candidates": ()}, "no candidate"),
        ({"candidates": (Candidate(), Candidate())}, "listed twice"),
        ({"minutes": 0}, "minutes > 0"),
    ],
)
def test_bad_settings_are_a_configuration_error(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        TuneSpec(**{"budget_ms": 100, "candidates": ONE, **settings})


def test_a_gpu_sweep_is_refused_with_what_to_run_instead():
    with pytest.raises(BackendUnavailableError, match="no TensorRT backend") as caught:
        TuneSpec(budget_ms=100, candidates=ONE, target="gpu")
    assert "Model Analyzer" in str(caught.value) and "--target gpu" in str(caught.value)


def test_levels_are_sorted_once_each():
    assert TuneSpec(budget_ms=1, candidates=ONE, concurrency=(4, 1, 2, 1)).concurrency == (1, 2, 4)


def test_the_command_reports_a_bad_budget_in_one_line_before_writing_anything(tmp_path):
    result = golf_rt("tune", "--budget-ms", "0", "--output", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: the latency budget must be > 0 ms, got 0.0"]
    assert not (tmp_path / "out").exists()
