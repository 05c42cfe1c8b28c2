"""The `golf-rt` entry point: our errors as one line and exit code 1, anything else with its traceback."""

from __future__ import annotations

import numpy as np
import pytest
import typer.main
from rich.text import Text
from typer.testing import CliRunner

from golf_rt.cli import app, one_line
from golf_rt.errors import ExportError
from golf_rt.images import save_image

from .cli_helpers import golf_rt


def test_a_golf_error_is_one_line_without_a_traceback():
    result = golf_rt("verify", setup="sys.modules['skimage'] = None")  # as on a machine without scikit-image
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: verifying backends")
    assert 'pip install scikit-image (part of the "eval" extra' in result.stderr


def test_a_configuration_error_is_one_line_too(tmp_path):
    image = save_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    result = golf_rt("deblur", str(image), "-o", str(tmp_path / "out"), "--precision", "int4")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unknown precision 'int4'; choose one of fp32, fp16, bf16")


def test_an_unexpected_exception_keeps_its_traceback():
    result = golf_rt("info", setup="import golf_rt.model.facts as facts; facts.summary = lambda: 1 / 0")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_a_message_over_several_lines_is_printed_on_one():
    assert one_line(ExportError("f.onnx fails onnx.checker:\n  bad node\n\n  bad edge")) == (
        "error: f.onnx fails onnx.checker: bad node bad edge"
    )


def test_version_prints_the_installed_version():
    from golf_rt import __version__

    result = golf_rt("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"golf-rt {__version__}\n"


def _command_paths(command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of the click command made from the app, as the words that call it."""
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _command_paths(sub, (*path, name))
    return found


def _command_at(path: tuple[str, ...]):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


COMMANDS = _command_paths(typer.main.get_command(app))


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(("golf-rt", *p)) for p in COMMANDS])
def test_every_command_help_renders_every_word_of_its_text(path: tuple[str, ...]):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output or repr(result.exception)
    assert "Usage:" in result.output
    command = _command_at(path)
    for text in [command.help or "", *(getattr(param, "help", None) or "" for param in command.params)]:
        # rich reads [word] as markup and drops it: brackets in help are written \[ to be shown
        assert Text.from_markup(text).plain == text.replace("\\[", "["), f"help text loses its brackets: {text!r}"


def test_every_precision_option_names_every_precision():
    from golf_rt.contract import PRECISIONS

    commands = typer.main.get_command(app).commands
    for name in ("deblur", "serve", "repository"):
        (option,) = [param for param in commands[name].params if param.name == "precision"]
        assert all(precision in option.help for precision in ("auto", *PRECISIONS)), (name, option.help)
