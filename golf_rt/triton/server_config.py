"""What a `tritonserver` is started with: repository, addresses, ports, API key, TLS; and its argument list.

`ServerConfig` is checked on construction, so a bad setting is a `ConfigurationError` before
anything is built or started. Nothing leaves this machine in clear by default:

- bound to loopback (the default), the server needs neither an API key nor TLS;
- bound beyond loopback, it needs an API key (every API but health demands the `golf-api-key`
  header: Triton's own `--http-restricted-api` and `--grpc-restricted-protocol`) and either TLS
  on gRPC (`tls_cert` + `tls_key`, Triton's `--grpc-use-ssl`; `tls_client_ca` also demands client
  certificates, `--grpc-use-ssl-mutual`) or `allow_plaintext=True`, for a cluster whose ingress
  terminates TLS. Triton has no TLS on HTTP, so with TLS and without `allow_plaintext` HTTP stays
  on loopback (local clients and the readiness checks use it) and only gRPC listens on `host`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from golf_rt.contract import API_KEY_HEADER, LOOPBACK_HOSTS, MODEL_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.machine.tls_files import CERTIFICATE, PRIVATE_KEY, check_key_pair, readable_pem

MODEL_CONTROL_MODES = ("none", "poll", "explicit")
RESTRICTED_APIS = ("metadata", "inference", "shared-memory", "model-config", "model-repository", "statistics",
                   "trace", "logging")  # fmt: skip
"""What an API key guards: everything but health, so that liveness probes need no secret."""
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def loopback_for(host: str) -> str:
    """The loopback address of `host`'s family."""
    return "::1" if ":" in host else "127.0.0.1"


@dataclass(frozen=True)
class ServerConfig:
    """Where the repository is and where the server listens; loopback only unless `host` says otherwise.

    `exit_timeout_s` bounds how long a stopping server waits for requests in flight and for idle
    client connections to close (Triton waits on both). `api_key`: the value every request but
    health must carry in the `golf-api-key` header; required when `host` is not loopback.
    `tls_cert`, `tls_key`: PEM server certificate and key for gRPC over TLS; `tls_client_ca`: PEM
    CA whose certificates clients must present. `allow_plaintext`: serve HTTP and gRPC in clear
    beyond loopback (behind a TLS-terminating ingress).
    """

    repository: Path
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    log_file: Path | None = None
    model_control_mode: str = "none"
    exit_on_error: bool = True
    ready_models: tuple[str, ...] = (MODEL_NAME,)
    log_verbose: int = 0
    exit_timeout_s: int = 5
    api_key: str | None = field(default=None, repr=False)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    allow_plaintext: bool = False
    extra_args: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "repository", Path(self.repository))
        if self.log_file is not None:
            object.__setattr__(self, "log_file", Path(self.log_file))
        ports = (self.http_port, self.grpc_port, self.metrics_port)
        if any(not 1 <= p <= 65535 for p in ports):
            raise ConfigurationError(f"ports must be 1..65535, got http={ports[0]} grpc={ports[1]} metrics={ports[2]}")
        if len(set(ports)) != 3:
            raise ConfigurationError(f"http, grpc and metrics ports must differ, got {ports}")
        if self.exit_timeout_s < 0:
            raise ConfigurationError(f"exit timeout must be >= 0 seconds, got {self.exit_timeout_s}")
        if self.model_control_mode not in MODEL_CONTROL_MODES:
            raise ConfigurationError(
                f"model control mode {self.model_control_mode!r} is not one of {MODEL_CONTROL_MODES}"
            )
        if self.api_key is not None and (not self.api_key or any(c in self.api_key for c in ",:= \n")):
            raise ConfigurationError("the API key must be non-empty, without spaces, commas, colons or '='")
        self._check_tls()
        if self.api_key is None and self.beyond_loopback:
            raise ConfigurationError(
                f"binding {self.host!r} exposes the server beyond this machine: give it an API key "
                "(--api-key or GOLF_RT_API_KEY), or bind 127.0.0.1"
            )
        if self.beyond_loopback and not self.tls and not self.allow_plaintext:
            raise ConfigurationError(
                f"binding {self.host!r} would send the API key and the photos in clear: give gRPC a certificate "
                "(--tls-cert and --tls-key), or pass --allow-plaintext when a TLS ingress of the cluster sits in "
                "front of the server, or bind 127.0.0.1"
            )

    def _check_tls(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigurationError("TLS needs both a certificate and its key (--tls-cert and --tls-key)")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigurationError("--tls-client-ca needs TLS: give --tls-cert and --tls-key too")
        for name, setting, holds in (("tls_cert", "--tls-cert", CERTIFICATE), ("tls_key", "--tls-key", PRIVATE_KEY),
                                     ("tls_client_ca", "--tls-client-ca", CERTIFICATE)):  # fmt: skip
            object.__setattr__(self, name, readable_pem(getattr(self, name), setting, holds))
        if self.tls_cert is not None and self.tls_key is not None:
            check_key_pair(self.tls_cert, self.tls_key, ("--tls-cert", "--tls-key"))

    @property
    def tls(self) -> bool:
        """Whether gRPC speaks TLS."""
        return self.tls_cert is not None

    @property
    def beyond_loopback(self) -> bool:
        """Whether `host` lets other machines in."""
        return self.host not in LOOPBACK_HOSTS

    @property
    def http_host(self) -> str:
        """Where HTTP binds: `host`, or loopback when it would otherwise carry requests in clear off this machine."""
        if self.beyond_loopback and not self.allow_plaintext:
            return loopback_for(self.host)
        return self.host

    @property
    def client_host(self) -> str:
        """The address a local client dials: a wildcard bind is reached through loopback."""
        return loopback_for(self.host) if self.host in WILDCARD_HOSTS else self.host

    @property
    def http_url(self) -> str:
        """URL for `GolfClient` over HTTP (loopback when HTTP is kept there)."""
        host = self.client_host if self.http_host == self.host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """URL for `GolfClient` over gRPC (with `tls=ClientTLS(...)` when `tls`)."""
        return f"grpc://{self.client_host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        """Prometheus metrics endpoint."""
        return f"http://{self.client_host}:{self.metrics_port}/metrics"

    def arguments(self, binary: Path, backends: Path, shm_prefix: str = "") -> list[str]:
        """The `tritonserver` command line here: `binary`, its backend folder, this config's options."""
        shm = [f"--backend-config=python,shm-region-prefix-name={shm_prefix}"] if shm_prefix else []
        return [str(binary), f"--backend-directory={backends}", *shm, *self.options()]

    def options(self, repository: str | None = None) -> list[str]:
        """The `tritonserver` options of this config; `repository` replaces the folder (a pod's mount, a URL)."""
        args = [
            f"--model-repository={repository if repository is not None else self.repository.resolve()}",
            f"--http-address={self.http_host}",
            f"--grpc-address={self.host}",
            f"--metrics-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            f"--model-control-mode={self.model_control_mode}",
            f"--exit-on-error={'true' if self.exit_on_error else 'false'}",
            f"--log-verbose={self.log_verbose}",
            f"--exit-timeout-secs={self.exit_timeout_s}",
        ]
        if self.model_control_mode == "explicit":
            args.append("--load-model=*")
        if self.api_key is not None:
            apis = ",".join(RESTRICTED_APIS)
            args.append(f"--http-restricted-api={apis}:{API_KEY_HEADER}={self.api_key}")
            args.append(f"--grpc-restricted-protocol={apis}:{API_KEY_HEADER}={self.api_key}")
        if self.tls:
            args += ["--grpc-use-ssl=true", f"--grpc-server-cert={self.tls_cert}", f"--grpc-server-key={self.tls_key}"]
            if self.tls_client_ca is not None:
                args += ["--grpc-use-ssl-mutual=true", f"--grpc-root-cert={self.tls_client_ca}"]
        return [*args, *self.extra_args]

    def shown(self, args: list[str]) -> str:
        """`args` as one line for a log, the API key masked."""
        return " ".join(a.replace(self.api_key, "***") if self.api_key else a for a in args)
