"""`golf-rt info`: the model's facts, this machine's peak rates, and what each backend runs here."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from golf_rt.contract import DEFAULT_ITERATIONS


def info_report(checkpoint: Path | None = None) -> dict:
    """Everything `golf-rt info` prints, as one dictionary (the default iterations of G)."""
    from golf_rt.backends import backends_here
    from golf_rt.machine.environment import describe
    from golf_rt.model.facts import summary
    from golf_rt.version import __version__

    machine = describe()
    machine["backends"] = backends_here(checkpoint, DEFAULT_ITERATIONS)
    return {"version": __version__, **summary(), "machine": machine}


def _print(report: dict) -> None:
    typer.echo(f"golf-rt {report['version']}")
    for net in ("F", "G"):
        typer.echo(f"  {net}: {report['params'][net]:,} parameters, {report['size_mib_fp32'][net]:.2f} MiB fp32")
    typer.echo(f"  total: {report['params']['total']:,} parameters, {report['size_mib_fp32']['total']:.2f} MiB fp32")
    typer.echo(f"  iterations of G at inference: {report['iterations']} ({report['gflop_256']} GFLOP at 256x256)")
    machine = report["machine"]
    cpu = machine["cpu"]
    typer.echo(f"  cpu: {cpu['name']} ({cpu['cores']} cores, native bf16: {cpu['native_bf16']})")
    peaks = ", ".join(f"{name} {value:,.0f}" for name, value in cpu["peak_gflops"].items()) or "unknown"
    typer.echo(f"  cpu peak GFLOP/s: {peaks}  [{cpu['peak_basis']}]")
    typer.echo(f"  cuda devices: {machine['cuda_devices']}")
    for name, backend in machine["backends"].items():
        status = backend["version"] or "not installed"
        devices = "; ".join(f"{d}: {'/'.join(p)}" for d, p in backend["devices"].items()) or "-"
        typer.echo(f"  {name:12s} {status:24s} {devices}")
        if "auto" in backend:
            typer.echo(f"  {'':12s} auto = {backend['auto']['why']}")


def info(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint whose precision table 'auto' reads."),
) -> None:
    """Version, parameter counts and sizes, peak rates, and what each backend runs here ("auto" too)."""
    report = info_report(checkpoint)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)


def register(app: typer.Typer) -> None:
    """Add `info` to the `golf-rt` app."""
    app.command()(info)
