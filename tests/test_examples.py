"""The docstring examples that run in this process; the ones that call a server run in tests/triton."""

import numpy as np
import pytest

from .examples import (
    IN_PROCESS,
    THROUGH_A_SERVER,
    modules_with_examples,
    readme_python_blocks,
    run_docstring_examples,
    write_example_image,
)


def test_every_module_with_examples_has_its_test():
    assert modules_with_examples() == {*IN_PROCESS, *THROUGH_A_SERVER}
    assert readme_python_blocks(), "README.md shows Python code"


@pytest.mark.parametrize("module", IN_PROCESS)
def test_docstring_examples_run_in_process(module, tmp_path, monkeypatch):
    pixels = write_example_image(tmp_path)
    monkeypatch.chdir(tmp_path)
    bound = run_docstring_examples(module)
    sharp = bound["sharp"]
    assert isinstance(sharp, np.ndarray) and sharp.dtype == np.uint8 and sharp.shape == pixels.shape
    assert not np.array_equal(sharp, pixels), "the shipped model changes a blurry picture"
