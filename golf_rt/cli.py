"""The `golf-rt` command: a thin layer over the library. Our errors become one line and exit 1."""

from __future__ import annotations

import json
import sys

import typer

from golf_rt import __version__
from golf_rt.commands import engines, report, serving
from golf_rt.errors import GolfError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Deploy the Golf Optimizer deblurring network.",
)  # fmt: skip


@app.callback()
def _root() -> None:
    """Deploy the Golf Optimizer deblurring network."""


@app.command()
def info(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Version, parameter counts and sizes, default iterations, and the backends this machine has."""
    from golf_rt.environment import describe
    from golf_rt.model_facts import summary

    report = {"version": __version__, **summary(), "machine": describe()}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"golf-rt {report['version']}")
    for net in ("F", "G"):
        typer.echo(f"  {net}: {report['params'][net]:,} parameters, {report['size_mib_fp32'][net]:.2f} MiB fp32")
    typer.echo(f"  total: {report['params']['total']:,} parameters, {report['size_mib_fp32']['total']:.2f} MiB fp32")
    typer.echo(f"  iterations of G at inference: {report['iterations']} ({report['gflop_256']} GFLOP at 256x256)")
    machine = report["machine"]
    cpu = machine["cpu"]
    typer.echo(f"  cpu: {cpu['name']} ({cpu['cores']} cores, native bf16: {cpu['native_bf16']})")
    typer.echo(f"  cuda devices: {machine['cuda_devices']}")
    for name, backend in machine["backends"].items():
        status = backend["version"] or "not installed"
        devices = ", ".join(backend["devices"]) or "-"
        typer.echo(f"  {name:12s} {status:24s} {devices}")


engines.register(app)
serving.register(app)
report.register(app)


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
