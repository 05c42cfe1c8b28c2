"""The examples shown to users, as code to run: the README's Python blocks and the docstring examples.

A module with a `>>>` line is found from its source text, without importing it, so a new example
cannot go untested and a module that imports TensorRT is never imported on a CPU machine.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE_URL = "http://127.0.0.1:8000"
"""The server address the examples show; tests point it at their own server."""
EXAMPLE_IMAGE = "blurry.png"
"""The file the examples deblur, written by `write_example_image` into the folder they run in."""
IN_PROCESS = ("golf_rt.deblur.deblurrer",)
THROUGH_A_SERVER = ("golf_rt.client", "golf_rt.client.golf_client")
"""Every module with docstring examples, by what its examples need: tests/test_examples.py runs the
first, tests/triton/test_examples.py the second against a real server."""


def readme_python_blocks() -> list[str]:
    """The ```python blocks of README.md, in order."""
    tokens = MarkdownIt().parse(README.read_text(encoding="utf-8"))
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "python"]


def modules_with_examples() -> set[str]:
    """The golf_rt modules whose source has a doctest example line."""
    found = set()
    for path in sorted((ROOT / "golf_rt").rglob("*.py")):
        if any(line.lstrip().startswith(">>> ") for line in path.read_text(encoding="utf-8").splitlines()):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def write_example_image(folder: Path, height: int = 64, width: int = 80) -> np.ndarray:
    """A blurred, noisy, 8-bit dead-leaves picture saved as `folder/blurry.png`; returns its pixels."""
    from golf_rt.images import save_image
    from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade

    rng = np.random.default_rng(11)
    blurry, _ = degrade(dead_leaves(rng, max(height, width), shapes=150), rng, BlurSpec(extent=(7, 15), quantize=True))
    pixels = np.round(np.clip(blurry[:height, :width], 0, 1) * 255).astype(np.uint8)
    save_image(folder / EXAMPLE_IMAGE, pixels)
    return pixels


def run_docstring_examples(module_name: str, globs: dict | None = None, url: str | None = None) -> dict:
    """Run every docstring example of the module; fail with doctest's report; return the names they bound.

    `url` replaces `EXAMPLE_URL` in the examples, so they reach the server the test started.
    """
    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module, extraglobs=globs) if t.examples]
    if not tests:
        pytest.fail(f"{module_name} has no docstring examples")
    bound: dict = {}
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = [example for test in tests for example in test.examples]
    if any(example.options.get(doctest.SKIP) for example in examples):
        pytest.fail(f"{module_name} skips an example: every example here runs")
    if url is not None:
        if not any(EXAMPLE_URL in example.source for example in examples):
            pytest.fail(f"no example of {module_name} calls {EXAMPLE_URL}, the address a server is given for")
        for example in examples:
            example.source = example.source.replace(EXAMPLE_URL, url)
    for test in tests:
        runner.run(test, out=report.append, clear_globs=False)
        bound.update(test.globs)
    if runner.failures:
        pytest.fail("".join(report), pytrace=False)
    return bound
