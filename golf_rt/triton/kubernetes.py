"""Kubernetes manifests that run N Triton replicas of a golf-rt repository behind one Service.

Plain manifests rather than a KServe InferenceService: they need nothing in the cluster beyond
what any Deployment needs (NVIDIA's device plugin for the gpu target; Prometheus and its adapter
for the autoscaler), and each pod runs tritonserver with the options `golf-rt serve` gives it
(`golf_rt.triton.server_config.ServerConfig.options`), so the API key guards every API but health and the
probes need no secret. `write_kubernetes` writes, under one folder:

- `manifests/`: `deployment.yaml`, `service.yaml`, `hpa.yaml` (`kubectl apply -f manifests/`);
- `monitoring/`: `podmonitor.yaml` (Prometheus Operator: scrape each pod's metrics port) and
  `prometheus-adapter-values.yaml` (the rule that turns Triton's queue-time counter into the
  per-pod metric the autoscaler reads);
- `image/Dockerfile` (cpu target only): NVIDIA's Triton image plus golf-rt and its CPU runtimes,
  which the Python-backend models import.

The API key itself is never written: `secret_command` says how to create the Secret.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golf_rt.backends.gpu.stack import TRITON_RELEASE
from golf_rt.contract import API_KEY_ENV, MODEL_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.machine.atomic_files import write_bytes_atomically
from golf_rt.machine.extras import require
from golf_rt.triton.config import EnsembleConfig
from golf_rt.triton.repository import RepositorySpec, model_configs
from golf_rt.triton.server_config import ServerConfig

LOGGER = logging.getLogger(__name__)

TRITON_IMAGE = f"nvcr.io/nvidia/tritonserver:{TRITON_RELEASE}-py3"
CPU_IMAGE = "golf-rt-triton:latest"
"""What `image/Dockerfile` builds by default; push it to a registry the cluster reads and pass its name."""
LIVE_PATH, READY_PATH = "/v2/health/live", "/v2/health/ready"
MODELS_MOUNT = "/models"
SECRET_KEY = "api-key"
"""The key, inside the Secret, whose value becomes the server's API key."""
QUEUE_METRIC = "golf_queue_us_per_request"
"""The per-pod metric the adapter rule makes: microseconds a request of `golf` waited in queues, lately."""
STORE_SCHEMES = ("pvc", "s3", "gs", "as")
DEFAULT_CPUS = 2
EXIT_TIMEOUT_S = 20
"""How long a stopping pod's server lets requests in flight finish (a large photo on a CPU takes seconds)."""
SHM_SIZE = "1Gi"
"""The Python backend moves tensors through /dev/shm, which Kubernetes otherwise caps at 64 MiB."""
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DOCKERFILE = f"""\
# Triton's image with golf-rt and its CPU runtimes (ONNX Runtime, OpenVINO): the repository's
# Python-backend models import golf_rt. Build it from this folder after putting golf-rt's wheel here:
#   pip wheel --no-deps /path/to/golf-rt -w .   (or: python -m build --wheel -o . /path/to/golf-rt)
#   docker build -t REGISTRY/golf-rt-triton:TAG . && docker push REGISTRY/golf-rt-triton:TAG
# The `cpu` extra, not `serve`: this image already has tritonserver, which `serve` would add again.
FROM {TRITON_IMAGE}
ENV PIP_BREAK_SYSTEM_PACKAGES=1
COPY golf_rt-*.whl /tmp/
RUN python3 -m pip install --no-cache-dir "$(ls /tmp/golf_rt-*.whl)[cpu]" && rm /tmp/golf_rt-*.whl
"""


@dataclass(frozen=True)
class ClusterSpec:
    """Where the replicas run and how many; every choice has a default, the image one per target.

    `model_store`: `pvc://CLAIM[/SUBPATH]` (a volume every replica mounts read-only: ReadOnlyMany
    or ReadWriteMany storage when pods land on several nodes) or an object-store URL that
    tritonserver reads itself (`s3://`, `gs://`, `as://`; credentials from the optional Secret
    `<name>-model-store`). `max_replicas` defaults to four times `replicas`.
    """

    name: str = "golf-rt"
    namespace: str = "default"
    replicas: int = 2
    max_replicas: int | None = None
    image: str | None = None
    model_store: str = "pvc://golf-rt-models"
    queue_target_us: int = 100_000

    def __post_init__(self) -> None:
        for what, value in (("name", self.name), ("namespace", self.namespace)):
            if not _DNS_LABEL.match(value):
                raise ConfigurationError(
                    f"Kubernetes {what} {value!r} must be lower-case letters, digits and '-', starting and ending"
                    " with a letter or digit (63 characters at most)"
                )
        if self.max_replicas is None:
            object.__setattr__(self, "max_replicas", 4 * self.replicas)
        if self.replicas < 1 or self.max_replicas < self.replicas:
            raise ConfigurationError(
                f"replicas must be >= 1 and max replicas >= replicas, got {self.replicas} and {self.max_replicas}"
            )
        if self.image is not None and (not self.image or any(c.isspace() for c in self.image)):
            raise ConfigurationError(f"image {self.image!r} must be a non-empty name without spaces")
        scheme, _, rest = self.model_store.partition("://")
        if scheme not in STORE_SCHEMES or not rest.strip("/"):
            raise ConfigurationError(
                f"model store {self.model_store!r} must be pvc://CLAIM[/SUBPATH] or an s3://, gs:// or as:// URL"
            )
        if self.queue_target_us < 1:
            raise ConfigurationError(f"queue target must be >= 1 microsecond, got {self.queue_target_us}")

    @property
    def labels(self) -> dict[str, str]:
        """The pods' labels: what the Service, the autoscaler's pods and the PodMonitor select."""
        return {"app.kubernetes.io/name": "golf-rt", "app.kubernetes.io/instance": self.name}

    @property
    def secret_name(self) -> str:
        """The Secret holding the API key under `SECRET_KEY`."""
        return f"{self.name}-api-key"

    @property
    def claim(self) -> tuple[str, str] | None:
        """(claim name, sub-path) of a `pvc://` store, else None."""
        scheme, _, rest = self.model_store.partition("://")
        if scheme != "pvc":
            return None
        claim, _, sub_path = rest.strip("/").partition("/")
        return claim, sub_path


def image_for(repository: RepositorySpec, cluster: ClusterSpec) -> str:
    """The container image: the one given, else NVIDIA's Triton (gpu) or the image the Dockerfile builds (cpu)."""
    if cluster.image is not None:
        return cluster.image
    return TRITON_IMAGE if repository.target == "gpu" else CPU_IMAGE


def server_config() -> ServerConfig:
    """The settings of tritonserver in a pod: every address, the API key read from the Secret's env var."""
    return ServerConfig(  # in clear inside the cluster: TLS ends at the cluster's ingress (docs/serving.md)
        repository=Path(MODELS_MOUNT),
        host="0.0.0.0",
        api_key=f"$({API_KEY_ENV})",
        exit_timeout_s=EXIT_TIMEOUT_S,
        allow_plaintext=True,
    )


def _metadata(cluster: ClusterSpec, name: str | None = None) -> dict[str, Any]:
    return {"name": name or cluster.name, "namespace": cluster.namespace, "labels": dict(cluster.labels)}


def _probe(path: str, port: int, period_s: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period_s, "failureThreshold": failures}


def _resources(repository: RepositorySpec) -> dict[str, Any]:
    cpus = repository.threads or DEFAULT_CPUS
    if repository.target == "cpu" and not repository.threads:
        LOGGER.warning(
            "threads 0 lets each model use every core of the node; write the repository with --threads %d to"
            " match the pod's %d CPUs",
            cpus, cpus,
        )  # fmt: skip
    resources: dict[str, Any] = {"requests": {"cpu": str(cpus), "memory": "2Gi"}, "limits": {"memory": "8Gi"}}
    if repository.target == "gpu":
        resources["limits"]["nvidia.com/gpu"] = "1"
    return resources


def _storage(cluster: ClusterSpec) -> tuple[str, list[dict], list[dict], list[dict]]:
    """(--model-repository value, volumes, volume mounts, envFrom) for the cluster's model store."""
    volumes = [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}}]
    mounts: list[dict[str, Any]] = [{"name": "shm", "mountPath": "/dev/shm"}]
    if cluster.claim is None:
        credentials = [{"secretRef": {"name": f"{cluster.name}-model-store", "optional": True}}]
        return cluster.model_store, volumes, mounts, credentials
    claim, sub_path = cluster.claim
    volumes.append({"name": "models", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
    mount = {"name": "models", "mountPath": MODELS_MOUNT, "readOnly": True}
    mounts.append({**mount, "subPath": sub_path} if sub_path else mount)
    return MODELS_MOUNT, volumes, mounts, []


def deployment(repository: RepositorySpec, cluster: ClusterSpec) -> dict[str, Any]:
    """N pods of tritonserver on the repository, probed on Triton's health endpoints."""
    config = server_config()
    store, volumes, mounts, credentials = _storage(cluster)
    container: dict[str, Any] = {
        "name": "tritonserver",
        "image": image_for(repository, cluster),
        "command": ["tritonserver"],
        "args": config.options(repository=store),
        "env": [{"name": API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": cluster.secret_name, "key": SECRET_KEY}}}],
        "ports": [
            {"name": "http", "containerPort": config.http_port},
            {"name": "grpc", "containerPort": config.grpc_port},
            {"name": "metrics", "containerPort": config.metrics_port},
        ],
        "startupProbe": _probe(LIVE_PATH, config.http_port, period_s=5, failures=120),  # 10 min to load models
        "readinessProbe": _probe(READY_PATH, config.http_port, period_s=5, failures=3),
        "livenessProbe": _probe(LIVE_PATH, config.http_port, period_s=10, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},  # leave the Service before stopping
        "resources": _resources(repository),
        "volumeMounts": mounts,
    }
    if credentials:
        container["envFrom"] = credentials
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": volumes,
        "terminationGracePeriodSeconds": EXIT_TIMEOUT_S + 10,
    }
    if repository.target == "gpu":
        pod_spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(config.metrics_port)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(cluster),
        "spec": {
            "replicas": cluster.replicas,
            "selector": {"matchLabels": dict(cluster.labels)},
            "template": {"metadata": {"labels": dict(cluster.labels), "annotations": annotations}, "spec": pod_spec},
        },
    }


def service(cluster: ClusterSpec) -> dict[str, Any]:
    """One address for all replicas: HTTP and gRPC (metrics are scraped from each pod, not through it)."""
    config = server_config()
    ports = [{"name": name, "port": port, "targetPort": name}
             for name, port in (("http", config.http_port), ("grpc", config.grpc_port))]  # fmt: skip
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(cluster),
            "spec": {"selector": dict(cluster.labels), "ports": ports}}  # fmt: skip


def autoscaler(cluster: ClusterSpec) -> dict[str, Any]:
    """More replicas while requests wait in Triton's queues longer than `queue_target_us` on average."""
    target = {"type": "AverageValue", "averageValue": str(cluster.queue_target_us)}
    metric = {"metric": {"name": QUEUE_METRIC}, "target": target}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(cluster),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": cluster.name},
            "minReplicas": cluster.replicas,
            "maxReplicas": cluster.max_replicas,
            "metrics": [{"type": "Pods", "pods": metric}],
        },
    }


def pod_monitor(cluster: ClusterSpec) -> dict[str, Any]:
    """Prometheus Operator's scrape of every pod's metrics port, with the pod and namespace labels the adapter needs."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _metadata(cluster),
        "spec": {
            "selector": {"matchLabels": dict(cluster.labels)},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s"}],
        },
    }


def adapter_values(repository: RepositorySpec) -> dict[str, Any]:
    """prometheus-adapter Helm values: queue time of the models that queue, per request of `golf`, per pod."""
    queued = "|".join(c.name for c in model_configs(repository) if not isinstance(c, EnsembleConfig))
    waited = f'sum(rate(nv_inference_queue_duration_us{{<<.LabelMatchers>>,model=~"{queued}"}}[1m])) by (<<.GroupBy>>)'
    served = f'sum(rate(nv_inference_request_success{{<<.LabelMatchers>>,model="{MODEL_NAME}"}}[1m])) by (<<.GroupBy>>)'
    rule = {
        "seriesQuery": 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^nv_inference_queue_duration_us$", "as": QUEUE_METRIC},
        "metricsQuery": f"{waited} / clamp_min({served}, 0.001)",
    }
    return {"rules": {"custom": [rule]}}


def secret_command(cluster: ClusterSpec) -> str:
    """The kubectl line that creates the Secret the pods read their API key from."""
    return (
        f"kubectl create secret generic {cluster.secret_name} --namespace {cluster.namespace}"
        f' --from-literal={SECRET_KEY}="${API_KEY_ENV}"'
    )


def kubernetes_files(repository: RepositorySpec, cluster: ClusterSpec) -> dict[str, dict[str, Any] | str]:
    """Relative path -> manifest (a dict, written as YAML) or text, for everything `write_kubernetes` writes."""
    files: dict[str, dict[str, Any] | str] = {
        "manifests/deployment.yaml": deployment(repository, cluster),
        "manifests/service.yaml": service(cluster),
        "manifests/hpa.yaml": autoscaler(cluster),
        "monitoring/podmonitor.yaml": pod_monitor(cluster),
        "monitoring/prometheus-adapter-values.yaml": adapter_values(repository),
    }
    if repository.target == "cpu":
        files["image/Dockerfile"] = _DOCKERFILE
    return files


def write_kubernetes(repository: RepositorySpec, cluster: ClusterSpec, folder: str | Path) -> list[Path]:
    """Write what a cluster needs to run `cluster.replicas` replicas of `repository`; each file whole or not at all."""
    yaml = require("yaml", "golf-rt repository --kubernetes")
    written = []
    for relative, content in kubernetes_files(repository, cluster).items():
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        written.append(write_bytes_atomically(Path(folder) / relative, text.encode()))
    return written
