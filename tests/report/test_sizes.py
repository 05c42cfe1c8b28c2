import pytest

from golf_rt.contract import F_FILTERS, G_FILTERS
from golf_rt.errors import CheckpointError
from golf_rt.model.facts import parameters
from golf_rt.report.sizes import MIB, checkpoint_sizes

from ..conftest import needs_torch


@needs_torch
def test_checkpoint_sizes_split_f_and_g_by_their_tensors(checkpoint_path):
    sizes = checkpoint_sizes(checkpoint_path)
    assert sizes["F_bytes"] == parameters(F_FILTERS) * 4 and sizes["G_bytes"] == parameters(G_FILTERS) * 4
    assert sizes["bytes"] == checkpoint_path.stat().st_size > sizes["F_bytes"] + sizes["G_bytes"]
    assert round(sizes["F_bytes"] / MIB, 2) == 1.78 and round(sizes["G_bytes"] / MIB, 2) == 0.46  # the paper's MB


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x05\x00")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        checkpoint_sizes(path)
