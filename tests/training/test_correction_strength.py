import numpy as np
import pytest

from golf_rt.model.networks import build_f, seeded_random_model
from golf_rt.quality.heldout import heldout_pairs
from training.correction_strength import INPUTS, main, markdown, measure


@pytest.fixture(scope="module")
def pairs():
    return heldout_pairs(crops_per_photo=1)[:1]


def test_an_untrained_f_corrects_nothing_yet_the_needed_correction_is_measured(pairs):
    (row,) = measure(build_f().eval(), pairs)
    assert all(row[kind] == 0.0 for kind in INPUTS)
    expected = np.sqrt(np.mean((pairs[0].sharp.astype(np.float64) - pairs[0].blurry) ** 2))
    assert row["needed"] == pytest.approx(expected) and row["needed"] > 0.01


def test_a_nonzero_f_reports_a_correction_for_every_input(pairs):
    (row,) = measure(seeded_random_model(0).f, pairs)
    assert all(row[kind] > 0.0 for kind in INPUTS)
    assert pairs[0].name in markdown([row])


@pytest.mark.slow
def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "strength.json"
    assert main(["--output", str(out)]) == 0
    assert "| crop | needed |" in capsys.readouterr().out
    assert out.is_file()
