"""The `golf-rt` command: a thin layer over the library. Our errors become one line and exit 1."""

from __future__ import annotations

import sys

import typer

from golf_rt.commands import deblur, engines, info, quantize, report, serving, tune, verify
from golf_rt.errors import GolfError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Deploy the Golf Optimizer deblurring network.",
)  # fmt: skip


def _print_version(value: bool) -> None:
    if value:
        from golf_rt.version import __version__

        typer.echo(f"golf-rt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deploy the Golf Optimizer deblurring network."""


info.register(app)
engines.register(app)
verify.register(app)
quantize.register(app)
deblur.register(app)
serving.register(app)
report.register(app)
tune.register(app)


def one_line(error: GolfError) -> str:
    """The error as one `error: ...` line; a message that spans lines (a quoted log) is joined."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"error: {text or type(error).__name__}"


def main() -> None:
    """Entry point: our errors as one line on stderr and exit code 1; anything else keeps its traceback."""
    try:
        app()
    except GolfError as exc:
        typer.echo(one_line(exc), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
