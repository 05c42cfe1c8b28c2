"""The `golf-rt` command as a user runs it: a fresh interpreter, its output and exit code.

`golf_rt(*args)` runs `python -m golf_rt.cli ARGS` and waits; `golf_rt_command(*args)` is that
command line, for a test that starts it with `subprocess.Popen` and signals it. Tests that need
no fresh process (help pages, say) use `typer.testing.CliRunner` on `golf_rt.cli.app` instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RUN_AFTER_SETUP = "import sys; {setup}; from golf_rt.cli import main; sys.argv = ['golf-rt', *sys.argv[1:]]; main()"


def golf_rt_command(*args: str, setup: str | None = None) -> list[str]:
    """The command line of `golf-rt ARGS`; with `setup`, Python code run first (it simulates the machine)."""
    if setup is None:
        return [sys.executable, "-m", "golf_rt.cli", *args]
    return [sys.executable, "-c", _RUN_AFTER_SETUP.format(setup=setup), *args]


def golf_rt_env(*before: str | Path) -> dict[str, str]:
    """This environment with this checkout (after the folders in `before`) first on PYTHONPATH, for child servers."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, before), str(ROOT)])}


def golf_rt(
    *args: str,
    setup: str | None = None,
    prefix: tuple[str, ...] = (),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run `golf-rt ARGS` to the end (after `prefix`, a wrapper command) and capture its output as text."""
    command = [*prefix, *golf_rt_command(*args, setup=setup)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
