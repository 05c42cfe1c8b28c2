"""The README's Python code and the client's docstring examples, run against a real server.

The examples say `http://127.0.0.1:8000`; here that address is replaced by the session server's
(free ports, the tiny checkpoint), and `blurry.png` is a real blurred picture in the folder they run in.
"""

from __future__ import annotations

import numpy as np
import pytest

from ..examples import EXAMPLE_URL, THROUGH_A_SERVER, readme_python_blocks, run_docstring_examples, write_example_image

pytestmark = pytest.mark.triton


def test_readme_python_runs(ensemble_server, tmp_path, monkeypatch):
    pixels = write_example_image(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = "\n".join(readme_python_blocks())
    assert EXAMPLE_URL in code
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code.replace(EXAMPLE_URL, ensemble_server.config.http_url), "README.md", "exec"), namespace)  # noqa: S102
    sharp = namespace["sharp"]  # the server's answer, the last one bound
    assert isinstance(sharp, np.ndarray) and sharp.dtype == np.uint8 and sharp.shape == pixels.shape
    assert not np.array_equal(sharp, pixels), "the tiny model is not the identity"


@pytest.mark.parametrize("module", THROUGH_A_SERVER)
def test_client_docstring_examples_run(module, ensemble_server, tmp_path, monkeypatch):
    pixels = write_example_image(tmp_path)  # as a file, and as the array `blurry` some examples name
    monkeypatch.chdir(tmp_path)
    sharp = run_docstring_examples(module, {"blurry": pixels}, url=ensemble_server.config.http_url)["sharp"]
    assert isinstance(sharp, np.ndarray) and sharp.dtype == np.uint8 and sharp.shape == pixels.shape
    assert not np.array_equal(sharp, pixels), "the tiny model is not the identity"
