"""`golf-rt repository`, `golf-rt serve` and `golf-rt demo`: thin wrappers over golf_rt.triton and golf_rt.demo."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from golf_rt.catalog import TRITON_RUNTIMES, precision_help
from golf_rt.contract import DEFAULT_ITERATIONS, MODEL_NAME
from golf_rt.errors import ConfigurationError

if TYPE_CHECKING:
    from golf_rt.triton.server_config import ServerConfig


def repository(
    target: str = typer.Option("cpu", help="cpu (Python backend) or gpu (TensorRT plans)."),
    iterations: int = typer.Option(DEFAULT_ITERATIONS, help="G iterations after F."),
    layout: str = typer.Option("ensemble", help="ensemble (F then G) or fused (one model)."),
    ensemble_style: str = typer.Option("unrolled", help="steps (G model called N times) or unrolled (G x N in one)."),
    runtime: str = typer.Option(TRITON_RUNTIMES[0], help=f"CPU runtime inside Triton: {' or '.join(TRITON_RUNTIMES)}."),
    precision: str = typer.Option("auto", help=f"CPU runtime precision: {precision_help(TRITON_RUNTIMES)}."),
    threads: int = typer.Option(0, help="CPU threads per model instance (0 = all cores)."),
    max_batch_size: int | None = typer.Option(None, help=r"Largest batch Triton may form \[cpu 8, gpu 4]."),
    instances: int = typer.Option(
        1, help="Copies of each model a server runs (instance_group count); each holds its own memory."
    ),
    output: Path = typer.Option(Path("model_repository"), help="Folder to write."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (default: the shipped model)."),
    models: Path | None = typer.Option(None, help="Folder of ONNX files (cpu) or plans (gpu, from build-engine)."),
    configs_only: bool = typer.Option(False, "--configs-only", help="Write configs and model.py, no model files."),
    kubernetes: Path | None = typer.Option(None, help="Also write Kubernetes manifests for Triton replicas here."),
    replicas: int | None = typer.Option(None, help="With --kubernetes: replicas (the autoscaler's minimum) [2]."),
    namespace: str | None = typer.Option(None, help=r"With --kubernetes: namespace \[default]."),
    image: str | None = typer.Option(
        None, help=r"With --kubernetes: image \[gpu: NVIDIA's Triton, cpu: golf-rt-triton]"
    ),
    model_store: str | None = typer.Option(
        None, help=r"With --kubernetes: pvc://CLAIM\[/SUBPATH] or s3:// gs:// as:// URL \[pvc://golf-rt-models]."
    ),
) -> None:
    """Write a Triton model repository whose public model `golf` takes BLURRY and returns SHARP."""
    from golf_rt.machine.atomic_files import writable_folder
    from golf_rt.triton.repository import RepositorySpec, write_configs, write_repository

    writable_folder(output)
    spec = RepositorySpec(
        target=target, iterations=iterations, layout=layout, ensemble_style=ensemble_style,
        runtime=runtime, precision=precision, threads=threads, max_batch_size=max_batch_size, instances=instances,
    )  # fmt: skip
    given = {k: v for k, v in dict(replicas=replicas, namespace=namespace, image=image, model_store=model_store).items()
             if v is not None}  # fmt: skip
    cluster = None
    if kubernetes is not None:
        from golf_rt.triton.kubernetes import ClusterSpec

        writable_folder(kubernetes)
        cluster = ClusterSpec(**given)  # bad settings are reported before the repository is written
    elif given:
        raise ConfigurationError(f"--{', --'.join(given).replace('_', '-')} only apply with --kubernetes DIR")
    if configs_only:
        write_configs(spec, output)
    else:
        write_repository(spec, output, checkpoint=checkpoint, models=models)
    typer.echo(f"wrote {target} {layout} repository to {output}")
    if cluster is not None:
        from golf_rt.triton.kubernetes import secret_command, write_kubernetes

        write_kubernetes(spec, cluster, kubernetes)
        typer.echo(f"wrote Kubernetes manifests to {kubernetes}; create the API key's Secret with:")
        typer.echo(f"  {secret_command(cluster)}")


def serve(
    repository_dir: Path | None = typer.Option(None, "--repository", help="Model repository (default: CPU, cached)."),
    host: str = typer.Option("127.0.0.1", help="Address to bind; 0.0.0.0 exposes the server to the network."),
    http_port: int = typer.Option(8000, help="HTTP port."),
    grpc_port: int = typer.Option(8001, help="gRPC port."),
    metrics_port: int = typer.Option(8002, help="Prometheus metrics port."),
    log_file: Path | None = typer.Option(None, help="Server log (default: logs/ in the golf-rt cache folder)."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint for the default repository."),
    precision: str = typer.Option(
        "auto", help=f"Precision of the default repository: {precision_help(TRITON_RUNTIMES)}."
    ),
    timeout: float = typer.Option(180.0, help="Seconds to wait for the model to be ready."),
    api_key: str | None = typer.Option(
        None,
        envvar="GOLF_RT_API_KEY",
        show_default=False,
        help="Key every request but health must send (golf-api-key header); required with a --host beyond loopback.",
    ),  # fmt: skip
    restart: bool = typer.Option(
        True, help="Start the server again when it dies (at once; with backoff while restarts fail)."
    ),
    max_restarts: int | None = typer.Option(None, help=r"Give up after this many restarts \[default: never]."),
    tls_cert: Path | None = typer.Option(None, help="PEM certificate: gRPC speaks TLS (Triton has none on HTTP)."),
    tls_key: Path | None = typer.Option(None, help="PEM private key of --tls-cert."),
    tls_client_ca: Path | None = typer.Option(
        None, help="PEM CA: gRPC clients must present a certificate it signed (mutual TLS)."
    ),
    allow_plaintext: bool = typer.Option(
        False,
        "--allow-plaintext",
        help="Serve HTTP (and gRPC without --tls-cert) in clear beyond loopback: only behind a TLS ingress.",
    ),
) -> None:
    """Run Triton Inference Server on a golf-rt repository until Ctrl-C or SIGTERM, restarting it if it dies."""
    from golf_rt.triton.repository import RepositorySpec, cached_repository
    from golf_rt.triton.server import TritonServer
    from golf_rt.triton.server_config import ServerConfig
    from golf_rt.triton.supervisor import RestartPolicy, Supervisor

    config = ServerConfig(
        repository=repository_dir or Path(), host=host, http_port=http_port, grpc_port=grpc_port,
        metrics_port=metrics_port, log_file=log_file, api_key=api_key, tls_cert=tls_cert, tls_key=tls_key,
        tls_client_ca=tls_client_ca, allow_plaintext=allow_plaintext,
    )  # fmt: skip
    if repository_dir is None:  # built only once the settings are known to be good
        built = cached_repository(RepositorySpec(precision=precision), checkpoint=checkpoint)
        config = replace(config, repository=built)
    server = TritonServer(config)
    supervisor = Supervisor(
        server,
        RestartPolicy(max_restarts=max_restarts if restart else 0),
        on_restart=lambda restarts: typer.echo(f"tritonserver died and was restarted (restarts: {restarts})"),
    )
    supervisor.run_until_signal(
        timeout_s=timeout,
        on_ready=lambda: _print_ready(config, server.log_path, restart),
        on_stopping=lambda restarts: typer.echo(f"stopping (restarts: {restarts})"),
    )


def _print_ready(c: ServerConfig, log_path: Path, restart: bool) -> None:
    grpc = f"{c.grpc_url} (TLS{', client certificates' if c.tls_client_ca else ''})" if c.tls else c.grpc_url
    typer.echo(f"{MODEL_NAME} is ready\n  http:    {c.http_url}\n  grpc:    {grpc}")
    typer.echo(f"  metrics: {c.metrics_url}\n  log:     {log_path}")
    typer.echo(f"  api key: {'required (golf-api-key header)' if c.api_key else 'none (loopback only)'}")
    typer.echo(f"  restart: {'on' if restart else 'off'}\nCtrl-C to stop.")


def demo(
    output: Path = typer.Option(Path("demo"), help="Folder for comparison.png."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint (default: the shipped model)."),
    size: int = typer.Option(256, help="Side of the sample image."),
) -> None:
    """Serve the model, deblur a synthetic sample through GolfClient, print PSNR and latency, stop."""
    from golf_rt.demo import run_demo

    result = run_demo(output, checkpoint=checkpoint, size=size)
    typer.echo(f"served at {result.url} (log: {result.log})")
    typer.echo(f"PSNR input  {result.psnr_input:.2f} dB\nPSNR output {result.psnr_output:.2f} dB")
    typer.echo(f"latency     {result.latency_ms:.1f} ms (median, {size}x{size}, HTTP)")
    typer.echo(f"comparison  {result.comparison} (input | output | ground truth)")


def register(app: typer.Typer) -> None:
    """Add the serving commands to the `golf-rt` app."""
    app.command()(repository)
    app.command()(serve)
    app.command()(demo)
