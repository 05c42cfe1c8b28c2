"""One load level against a `golf` server on loopback, through Triton's own load generator, perf_analyzer.

perf_analyzer comes from the tritonclient wheel of the server's release (2.51.0, the last that
ships it): `GOLF_RT_PERF_ANALYZER`, else `perf_analyzer` on PATH, else it is fetched once with
`pip download` into ~/.cache/golf-rt/tools. Its two shared libraries come from the nvidia-pytriton
wheel, under their plain names: links in that folder, pointed again at this environment's wheel on
every call (the environment that made them may be gone, leaving them dangling).

It is fed valid images (uniform values in [0, 1]: its default random FP32 data holds NaN, which
the server rightly refuses), and the model's failure count is read from Triton's statistics API
before and after a run: the server's count is the truth.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golf_rt.contract import INPUT_NAME, MODEL_NAME
from golf_rt.errors import BackendUnavailableError
from golf_rt.triton.ports import free_ports
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_config import ServerConfig

logger = logging.getLogger(__name__)

TRITONCLIENT_WITH_PERF_ANALYZER = "2.51.0"
PROTOCOLS = ("grpc", "http")
_LIBRARIES = {"libb64.so.0d": "libb64-", "libcudart.so.12": "libcudart-"}


class LoadGeneratorError(RuntimeError):
    """perf_analyzer hung or wrote no result, or the server stopped answering (it died, refused every request...)."""


def perf_analyzer() -> tuple[Path, dict[str, str]]:
    """The perf_analyzer binary and the environment it runs in (the pytriton wheel's libraries).

    BackendUnavailableError when it is not here and its wheel cannot be downloaded.
    """
    from golf_rt.triton.pytriton_wheel import pytriton_distribution

    given = os.environ.get("GOLF_RT_PERF_ANALYZER") or shutil.which("perf_analyzer")
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")  # a tool: not per GOLF_RT_CACHE
    folder = user_cache / "golf-rt" / "tools" / f"perf_analyzer-{TRITONCLIENT_WITH_PERF_ANALYZER}"
    binary = Path(given) if given else folder / "perf_analyzer"
    if not binary.is_file():
        _fetch(folder)
    _, wheel_libs = pytriton_distribution()
    libs = folder / "libs"
    libs.mkdir(parents=True, exist_ok=True)
    for name, prefix in _LIBRARIES.items():
        found = sorted(wheel_libs.glob(f"{prefix}*"))
        if not found:
            raise FileNotFoundError(f"the nvidia-pytriton wheel has no {prefix}* library in {wheel_libs}")
        _link(libs / name, found[0])
    env = {
        **os.environ,
        "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(libs), os.environ.get("LD_LIBRARY_PATH")])),
    }
    return binary, env


def _link(link: Path, target: Path) -> None:
    """Make `link` point at `target`, replacing whatever is there (a dangling or stale link), atomically."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)


def _fetch(folder: Path) -> None:
    """Extract perf_analyzer from the tritonclient wheel that still ships it (pip download, no install)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        fetched = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", download,
             f"tritonclient=={TRITONCLIENT_WITH_PERF_ANALYZER}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if fetched.returncode != 0:
            raise BackendUnavailableError(
                f"perf_analyzer is not here and pip download tritonclient=={TRITONCLIENT_WITH_PERF_ANALYZER} "
                f"failed: {fetched.stderr.strip()[-500:]}; set GOLF_RT_PERF_ANALYZER to a perf_analyzer binary"
            )
        (wheel,) = Path(download).glob("tritonclient-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/bin/perf_analyzer"))
            partial = folder / "perf_analyzer.part"
            partial.write_bytes(archive.read(member))
    partial.chmod(0o755)
    partial.rename(folder / "perf_analyzer")


def input_data(folder: Path, height: int, width: int, seed: int = 0) -> Path:
    """perf_analyzer's --input-data JSON: one valid 3 x H x W image (uniform in [0, 1]; the batch dim is -b)."""
    image = np.random.default_rng(seed).random((3, height, width), dtype=np.float32)
    path = folder / f"input-{height}x{width}.json"
    payload = {"data": [{INPUT_NAME: {"content": image.round(4).ravel().tolist(), "shape": [3, height, width]}}]}
    path.write_text(json.dumps(payload))
    return path


@dataclass(frozen=True)
class LoadResult:
    """One perf_analyzer run: what was sent, what came back, and how fast."""

    protocol: str
    concurrency: int
    requests: int
    failed: int
    throughput_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    exit_code: int


def failures(config: ServerConfig) -> tuple[int, int]:
    """(successful, failed) requests of the `golf` model so far, from Triton's statistics API.

    LoadGeneratorError when the server does not answer (it died).
    """
    url = f"{config.http_url}/v2/models/{MODEL_NAME}/stats"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL we built
            stats = json.load(response)["model_stats"][0]["inference_stats"]
    except OSError as exc:
        raise LoadGeneratorError(f"the server's statistics API at {url} did not answer: {exc}") from exc
    return int(stats["success"]["count"]), int(stats["fail"]["count"])


PERF_ANALYZER_TIMEOUT_S = 120.0
"""One bounded perf_analyzer run takes seconds here; 2.51 now and then never exits after its last
request (seen at concurrency 8 on a loaded machine), so a run past this is killed and run again."""
ATTEMPTS = 2


def run_load(
    config: ServerConfig,
    protocol: str,
    concurrency: int,
    requests: int,
    data: Path,
    timeout_s: float = PERF_ANALYZER_TIMEOUT_S,
) -> LoadResult:
    """`requests` requests at `concurrency` through perf_analyzer; the server's own failure count is the truth.

    A run that hangs is killed after `timeout_s` and run again, `ATTEMPTS` times in all; then, or
    when perf_analyzer writes no result, LoadGeneratorError.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _run_load_once(config, protocol, concurrency, requests, data, timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("perf_analyzer hung (%s, c=%d), attempt %d of %d", protocol, concurrency, attempt, ATTEMPTS)
    raise LoadGeneratorError(f"perf_analyzer hung {ATTEMPTS} times over {protocol} at concurrency {concurrency}")


def _run_load_once(
    config: ServerConfig, protocol: str, concurrency: int, requests: int, data: Path, timeout_s: float
) -> LoadResult:
    binary, env = perf_analyzer()
    port = config.http_port if protocol == "http" else config.grpc_port
    with tempfile.TemporaryDirectory(prefix="golf-rt-load-") as scratch:
        table = Path(scratch) / "result.csv"
        command = [
            str(binary), "-m", MODEL_NAME, "-u", f"{config.client_host}:{port}", "-i", protocol, "-b", "1",
            "--input-data", str(data), "--concurrency-range", f"{concurrency}:{concurrency}",
            "--request-count", str(requests), "--percentile", "95", "-f", str(table),
        ]  # fmt: skip
        before = failures(config)
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        after = failures(config)
        rows = list(csv.DictReader(table.open())) if table.is_file() else []
    if not rows:
        raise LoadGeneratorError(
            f"perf_analyzer wrote no result (exit {finished.returncode}): {finished.stdout[-2000:]}"
        )
    row = rows[0]
    return LoadResult(
        protocol=protocol, concurrency=concurrency, requests=(after[0] - before[0]) + (after[1] - before[1]),
        failed=after[1] - before[1], throughput_per_s=float(row["Inferences/Second"]),
        p50_ms=int(row["p50 latency"]) / 1000, p90_ms=int(row["p90 latency"]) / 1000,
        p95_ms=int(row["p95 latency"]) / 1000, p99_ms=int(row["p99 latency"]) / 1000, exit_code=finished.returncode,
    )  # fmt: skip


def loopback_server(repository: Path, *, log_file: Path | None = None, timeout_s: float = 300) -> TritonServer:
    """A started server on `repository`, on free loopback ports (stop it when done)."""
    http, grpc, metrics = free_ports(3)
    config = ServerConfig(
        repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics, exit_timeout_s=1,
        log_file=log_file,
    )  # fmt: skip
    return TritonServer(config).start(timeout_s=timeout_s)
