"""Kubernetes manifests for Triton replicas, checked offline against the `kubernetes` client's own models.

No cluster runs here: each manifest is deserialized into its model (client-side validation on)
and serialized back, so a misspelt or misplaced field, which the model would drop, shows up as a
difference; then the parts that must agree across files are compared (ports, paths, names, labels).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

yaml = pytest.importorskip("yaml", reason="PyYAML writes the manifests (the serve extra installs it)")
kubernetes = pytest.importorskip("kubernetes", reason="kubernetes is not installed (pip install -e '.[dev]')")
pytest.importorskip("tritonclient", reason="tritonclient is not installed (pip install -e '.[client]')")

from golf_rt.cli import app  # noqa: E402
from golf_rt.contract import API_KEY_ENV, API_KEY_HEADER  # noqa: E402
from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.kubernetes import (  # noqa: E402
    LIVE_PATH,
    QUEUE_METRIC,
    READY_PATH,
    SECRET_KEY,
    TRITON_IMAGE,
    ClusterSpec,
    adapter_values,
    kubernetes_files,
    secret_command,
)
from golf_rt.triton.repository import RepositorySpec  # noqa: E402
from golf_rt.triton.server_config import RESTRICTED_APIS  # noqa: E402

MODELS = {"apps/v1/Deployment": "V1Deployment", "v1/Service": "V1Service", "v1/Secret": "V1Secret",
          "autoscaling/v2/HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler"}  # fmt: skip
TARGETS = {"cpu": RepositorySpec(threads=2), "gpu": RepositorySpec(target="gpu", layout="fused")}


def _validated(manifest: dict[str, Any]) -> Any:
    """The manifest as its kubernetes model; fails if the model rejects it or drops any field of it."""
    api = kubernetes.client.ApiClient()
    kind = MODELS[f"{manifest['apiVersion']}/{manifest['kind']}"]
    model = api.deserialize(json.dumps(manifest), kind, "application/json")
    assert api.sanitize_for_serialization(model) == manifest
    return model


def _written(tmp_path: Path, repository: RepositorySpec, cluster: ClusterSpec) -> dict[str, Any]:
    from golf_rt.triton.kubernetes import write_kubernetes

    paths = write_kubernetes(repository, cluster, tmp_path)
    return {str(p.relative_to(tmp_path)): yaml.safe_load(p.read_text()) if p.suffix == ".yaml" else p.read_text()
            for p in paths}  # fmt: skip


def _option(args: list[str], name: str) -> str:
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    assert len(values) == 1, (name, args)
    return values[0]


@pytest.fixture(params=sorted(TARGETS), ids=lambda target: f"{target}-target")
def written(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[RepositorySpec, ClusterSpec, dict[str, Any]]:
    repository, cluster = TARGETS[request.param], ClusterSpec(name="deblur", namespace="imaging", replicas=3)
    return repository, cluster, _written(tmp_path, repository, cluster)


def test_every_manifest_is_a_valid_kubernetes_object_with_no_field_lost(written) -> None:
    _, _, files = written
    for name in ("deployment", "service", "hpa"):
        model = _validated(files[f"manifests/{name}.yaml"])
        assert model.metadata.namespace == "imaging" and model.metadata.name == "deblur"


def test_probes_ask_the_health_endpoints_on_the_port_tritonserver_is_told(written) -> None:
    _, _, files = written
    container = _validated(files["manifests/deployment.yaml"]).spec.template.spec.containers[0]
    http_port = int(_option(container.args, "http-port"))
    assert _option(container.args, "http-address") == "0.0.0.0"
    assert container.readiness_probe.http_get.path == READY_PATH == "/v2/health/ready"
    assert container.liveness_probe.http_get.path == LIVE_PATH == "/v2/health/live"
    for probe in (container.readiness_probe, container.liveness_probe, container.startup_probe):
        assert probe.http_get.port == http_port
    ports = {p.name: p.container_port for p in container.ports}
    for name in ("http", "grpc", "metrics"):
        assert ports[name] == int(_option(container.args, f"{name}-port"))
    assert "health" not in RESTRICTED_APIS  # the probes carry no key


def test_the_api_key_comes_from_the_secret_into_both_restricted_options(written) -> None:
    _, cluster, files = written
    container = _validated(files["manifests/deployment.yaml"]).spec.template.spec.containers[0]
    (env,) = [e for e in container.env if e.value_from and e.value_from.secret_key_ref]
    assert (env.value_from.secret_key_ref.name, env.value_from.secret_key_ref.key) == (cluster.secret_name, SECRET_KEY)
    assert env.name == API_KEY_ENV
    for option in ("http-restricted-api", "grpc-restricted-protocol"):
        apis, _, header = _option(container.args, option).partition(":")
        assert set(apis.split(",")) == set(RESTRICTED_APIS)
        assert header == f"{API_KEY_HEADER}=$({env.name})"  # Kubernetes puts the env var's value there


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_printed_secret_command_makes_the_secret_the_pods_read(tmp_path: Path) -> None:
    cluster = ClusterSpec(name="deblur", namespace="imaging")
    command = secret_command(cluster) + " --dry-run=client -o yaml"
    environment = {"PATH": "/usr/bin:/bin", API_KEY_ENV: "k3y", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-c", command], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    manifest["metadata"].pop("creationTimestamp", None)
    secret = _validated(manifest)
    assert (secret.metadata.name, secret.metadata.namespace) == (cluster.secret_name, "imaging")
    assert secret.data == {SECRET_KEY: "azN5"}  # base64 of the key


def test_the_autoscaler_scales_the_deployment_on_the_adapters_queue_metric(written) -> None:
    repository, cluster, files = written
    hpa = _validated(files["manifests/hpa.yaml"])
    deployment = files["manifests/deployment.yaml"]
    target = hpa.spec.scale_target_ref
    assert (target.api_version, target.kind, target.name) == (deployment["apiVersion"], "Deployment", "deblur")
    assert hpa.spec.min_replicas == deployment["spec"]["replicas"] == 3 and hpa.spec.max_replicas == 12
    (metric,) = hpa.spec.metrics
    (rule,) = files["monitoring/prometheus-adapter-values.yaml"]["rules"]["custom"]
    assert metric.type == "Pods" and metric.pods.metric.name == rule["name"]["as"] == QUEUE_METRIC
    assert "nv_inference_queue_duration_us" in rule["seriesQuery"] and "<<.LabelMatchers>>" in rule["metricsQuery"]


def test_the_queue_metric_sums_the_models_that_queue_per_request_of_golf() -> None:
    ensemble = adapter_values(RepositorySpec())["rules"]["custom"][0]["metricsQuery"]
    fused = adapter_values(RepositorySpec(layout="fused"))["rules"]["custom"][0]["metricsQuery"]
    assert 'model=~"golf_f|golf_g_x3"' in ensemble  # the ensemble itself does not queue
    assert 'model=~"golf"' in fused and 'nv_inference_request_success{<<.LabelMatchers>>,model="golf"}' in fused


def test_the_service_and_the_pod_monitor_select_the_deployments_pods(written) -> None:
    _, _, files = written
    deployment = _validated(files["manifests/deployment.yaml"])
    service = _validated(files["manifests/service.yaml"])
    pod_labels = deployment.spec.template.metadata.labels
    assert deployment.spec.selector.match_labels == pod_labels
    assert service.spec.selector == pod_labels
    port_names = {p.name for p in deployment.spec.template.spec.containers[0].ports}
    assert {p.target_port for p in service.spec.ports} == {"http", "grpc"} <= port_names
    monitor = files["monitoring/podmonitor.yaml"]["spec"]
    assert monitor["selector"]["matchLabels"] == pod_labels
    assert {e["port"] for e in monitor["podMetricsEndpoints"]} == {"metrics"} <= port_names


def test_gpu_pods_ask_for_a_gpu_on_nvidias_image_and_cpu_pods_do_not(tmp_path: Path) -> None:
    for target, repository in TARGETS.items():
        files = _written(tmp_path / target, repository, ClusterSpec())
        pod = _validated(files["manifests/deployment.yaml"]).spec.template.spec
        limits = pod.containers[0].resources.limits
        if target == "gpu":
            assert limits["nvidia.com/gpu"] == "1" and pod.containers[0].image == TRITON_IMAGE
            assert "image/Dockerfile" not in files
        else:
            assert "nvidia.com/gpu" not in json.dumps(files["manifests/deployment.yaml"])
            assert pod.containers[0].resources.requests["cpu"] == "2"  # the repository's threads
            dockerfile = files["image/Dockerfile"]
            assert f"\nFROM {TRITON_IMAGE}\n" in dockerfile and '[cpu]"' in dockerfile


def test_a_volume_claim_is_mounted_read_only_where_tritonserver_looks(tmp_path: Path) -> None:
    files = _written(tmp_path, RepositorySpec(), ClusterSpec(model_store="pvc://shared-models/golf/v3"))
    pod = _validated(files["manifests/deployment.yaml"]).spec.template.spec
    (claim,) = [v for v in pod.volumes if v.persistent_volume_claim]
    assert claim.persistent_volume_claim.claim_name == "shared-models" and claim.persistent_volume_claim.read_only
    (mount,) = [m for m in pod.containers[0].volume_mounts if m.name == claim.name]
    assert (mount.sub_path, mount.read_only) == ("golf/v3", True)
    assert _option(pod.containers[0].args, "model-repository") == mount.mount_path
    (shm,) = [m for m in pod.containers[0].volume_mounts if m.mount_path == "/dev/shm"]


def test_an_object_store_url_goes_to_tritonserver_with_optional_credentials(tmp_path: Path) -> None:
    url = "s3://bucket/golf-repository"
    files = _written(tmp_path, RepositorySpec(), ClusterSpec(name="deblur", model_store=url))
    pod = _validated(files["manifests/deployment.yaml"]).spec.template.spec
    assert _option(pod.containers[0].args, "model-repository") == url
    assert not [v for v in pod.volumes if v.persistent_volume_claim]
    (credentials,) = pod.containers[0].env_from
    assert credentials.secret_ref.name == "deblur-model-store" and credentials.secret_ref.optional


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"namespace": "Imaging"}, "namespace"),
        ({"name": "golf_rt"}, "name"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": 4, "max_replicas": 2}, "max replicas"),
        ({"model_store": "/mnt/models"}, "pvc://"),
        ({"model_store": "pvc://"}, "pvc://"),
        ({"image": "my image"}, "image"),
    ],
)
def test_bad_cluster_settings_are_configuration_errors_naming_the_setting(settings: dict, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        ClusterSpec(**settings)


def test_repository_command_writes_the_manifests_and_says_how_to_make_the_secret(tmp_path: Path) -> None:
    args = ["repository", "--configs-only", "--threads", "2", "--output", str(tmp_path / "models"),
            "--kubernetes", str(tmp_path / "k8s"), "--replicas", "3", "--namespace", "imaging",
            "--image", "registry.example/golf-rt-triton:1", "--model-store", "s3://bucket/golf"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(tmp_path / "k8s")) for p in (tmp_path / "k8s").rglob("*") if p.is_file())
    assert written == sorted(kubernetes_files(RepositorySpec(threads=2), ClusterSpec()))
    deployment = _validated(yaml.safe_load((tmp_path / "k8s/manifests/deployment.yaml").read_text()))
    assert (deployment.spec.replicas, deployment.metadata.namespace) == (3, "imaging")
    assert deployment.spec.template.spec.containers[0].image == "registry.example/golf-rt-triton:1"
    assert "kubectl create secret generic golf-rt-api-key --namespace imaging" in result.output


def test_cluster_options_without_kubernetes_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    args = ["repository", "--configs-only", "--replicas", "3", "--output", str(tmp_path / "m")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigurationError) and "--replicas" in str(result.exception)
    bad = CliRunner().invoke(app, ["repository", "--configs-only", "--output", str(tmp_path / "m"),
                                   "--kubernetes", str(tmp_path / "k8s"), "--namespace", "Bad_Name"])  # fmt: skip
    assert isinstance(bad.exception, ConfigurationError)
    assert not (tmp_path / "m").exists() and not (tmp_path / "k8s").exists()
