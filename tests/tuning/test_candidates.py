"""The candidate grid: every combination of layout, instances and queue delay, the cores shared out."""

from __future__ import annotations

import pytest

from golf_rt.errors import ConfigurationError
from golf_rt.triton.repository import RepositorySpec
from golf_rt.tuning.candidates import QUICK_DELAYS_US, QUICK_LAYOUTS, Candidate, candidate_grid


def test_the_default_grid_is_every_combination_fewest_instances_first():
    grid = candidate_grid(cores=2)
    assert [c.name for c in grid] == [
        "fused-i1-t0-d0", "fused-i1-t0-d2000", "ensemble-i1-t0-d0", "ensemble-i1-t0-d2000",
        "fused-i2-t1-d0", "fused-i2-t1-d2000", "ensemble-i2-t1-d0", "ensemble-i2-t1-d2000",
    ]  # fmt: skip


def test_instances_share_the_cores_and_one_instance_keeps_every_core():
    grid = candidate_grid(layouts=("fused",), instances=(1, 2, 4, 16), delays_us=(0,), cores=8)
    assert [(c.instances, c.threads) for c in grid] == [(1, 0), (2, 4), (4, 2), (16, 1)]


def test_quick_is_two_configurations_on_the_default_instances():
    assert len(candidate_grid(layouts=QUICK_LAYOUTS, delays_us=QUICK_DELAYS_US, cores=2)) == 2


def test_a_candidate_sets_only_its_knobs_on_the_shared_spec():
    base = RepositorySpec(runtime="onnxruntime", precision="fp32", max_pixels=4096)
    spec = Candidate("ensemble", 2, 1, 500).spec(base)
    assert (spec.layout, spec.instances, spec.threads, spec.max_queue_delay_us) == ("ensemble", 2, 1, 500)
    assert (spec.runtime, spec.precision, spec.max_pixels) == ("onnxruntime", "fp32", 4096)


@pytest.mark.parametrize(
    "settings",
    [{"layouts": ("stacked",)}, {"instances": (0,)}, {"delays_us": (-1,)}, {"instances": ()}, {"cores": 0}],
)
def test_a_bad_grid_is_a_configuration_error(settings):
    with pytest.raises(ConfigurationError):
        candidate_grid(**{"cores": 2, **settings})
