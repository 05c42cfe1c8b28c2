"""The `golf-rt` entry point: our errors as one line and exit code 1, anything else with its traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from golf_rt.cli import one_line
from golf_rt.errors import ExportError
from golf_rt.images import save_image

_RUN_CLI = "import sys; {setup}; from golf_rt.cli import main; sys.argv = ['golf-rt', *sys.argv[1:]]; main()"


def golf_rt(setup: str, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter after `setup` (which simulates the machine)."""
    code = _RUN_CLI.format(setup=setup)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_a_golf_error_is_one_line_without_a_traceback():
    result = golf_rt("sys.modules['skimage'] = None", "verify")  # as on a machine without scikit-image
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: verifying backends")
    assert 'pip install scikit-image (part of the "eval" extra' in result.stderr


def test_a_configuration_error_is_one_line_too(tmp_path):
    image = save_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    result = golf_rt("pass", "deblur", str(image), "-o", str(tmp_path / "out"), "--precision", "int4")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unknown precision 'int4'; choose one of fp32, fp16, bf16")


def test_an_unexpected_exception_keeps_its_traceback():
    result = golf_rt("import golf_rt.model.facts as facts; facts.summary = lambda: 1 / 0", "info")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_a_message_over_several_lines_is_printed_on_one():
    assert one_line(ExportError("f.onnx fails onnx.checker:\n  bad node\n\n  bad edge")) == (
        "error: f.onnx fails onnx.checker: bad node bad edge"
    )


def test_version_prints_the_installed_version():
    from golf_rt import __version__

    result = golf_rt("pass", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"golf-rt {__version__}\n"


def test_every_precision_option_names_every_precision():
    import typer.main

    from golf_rt.cli import app
    from golf_rt.contract import PRECISIONS

    commands = typer.main.get_command(app).commands
    for name in ("deblur", "serve", "repository"):
        (option,) = [param for param in commands[name].params if param.name == "precision"]
        assert all(precision in option.help for precision in ("auto", *PRECISIONS)), (name, option.help)
