"""Faults of a real server under a real client: a backend stub killed mid-request, a server killed under
running clients, shared memory the server cannot map; and what a stopped server leaves behind."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from golf_rt.client import GolfClient, RetryPolicy, ServerSideError
from golf_rt.triton.ports import free_ports
from golf_rt.triton.server import KEPT_LOGS, TritonServer
from golf_rt.triton.server_config import ServerConfig
from golf_rt.triton.supervisor import RestartPolicy, Supervisor
from golf_rt.triton.workdirs import SHM_DIR

pytestmark = [pytest.mark.triton, pytest.mark.slow]


@pytest.fixture(scope="module")
def supervised(repository_factory) -> Iterator[Supervisor]:
    """A supervised fused-layout server logging into the (private) cache, where old logs wait to be pruned."""
    from golf_rt.machine.paths import cache_dir

    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for i in range(KEPT_LOGS + 3):
        old = logs / f"tritonserver-{60000 + i}.log"
        old.write_text("old\n")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    http, grpc, metrics = free_ports(3)
    config = ServerConfig(
        repository=repository_factory(layout="fused"), http_port=http, grpc_port=grpc, metrics_port=metrics,
        exit_timeout_s=1,
    )  # fmt: skip
    supervisor = Supervisor(TritonServer(config), RestartPolicy(first_delay_s=0.2, ready_timeout_s=120))
    supervisor.start(timeout_s=180)
    yield supervisor
    supervisor.stop()


def _stubs(server: TritonServer) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(server.pid), "-f", "triton_python_backend_stub"], capture_output=True)
    return [int(pid) for pid in found.stdout.split()]


def test_the_cache_keeps_the_newest_logs_only(supervised) -> None:
    logs = sorted(supervised.server.log_path.parent.glob("tritonserver-*.log"))
    assert supervised.server.log_path in logs and len(logs) == KEPT_LOGS
    assert not (supervised.server.log_path.parent / "tritonserver-60000.log").exists()  # the oldest went


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_stub_killed_mid_request_is_a_typed_error_then_the_supervisor_restarts(supervised, blurry_batch, protocol):
    """Triton 2.51 never starts a dead stub again (its model fails every request): the supervisor restarts it."""
    server, restarts = supervised.server, supervised.restarts
    url = server.config.http_url if protocol == "http" else server.config.grpc_url
    (stub,) = _stubs(server)
    outcome: list[object] = []
    with GolfClient(url, timeout=60) as client:
        client.deblur_batch(blurry_batch)
        os.kill(stub, signal.SIGSTOP)  # the request below waits in the stub ...
        caller = threading.Thread(target=lambda: outcome.append(_try(client.deblur_batch, blurry_batch)))
        caller.start()
        time.sleep(1.0)
        os.kill(stub, signal.SIGKILL)  # ... which dies with it in hand
        caller.join(timeout=60)
        assert not caller.is_alive(), "the client hung"
        (error,) = outcome
        assert isinstance(error, ServerSideError) and "Stub process" in str(error), error
    with GolfClient(url, timeout=60, retries=RetryPolicy.patient()) as client:
        served = _wait_for(lambda: _try(client.deblur_batch, blurry_batch), timeout_s=120)
    assert isinstance(served, np.ndarray) and served.shape == blurry_batch.shape
    assert supervised.restarts == restarts + 1 and _stubs(server) and stub not in _stubs(server)


def _try(call, *args):
    try:
        return call(*args)
    except Exception as exc:  # noqa: BLE001 - the test inspects what came back
        return exc


def _poll(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.05)


def _wait_for(attempt, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    result = attempt()
    while isinstance(result, Exception) and time.monotonic() < deadline:
        time.sleep(0.5)
        result = attempt()
    return result


def test_clients_ride_out_a_server_killed_under_them(supervised, blurry_batch) -> None:
    server, restarts = supervised.server, supervised.restarts
    results: dict[str, list[object]] = {"http": [], "grpc": []}
    stop = threading.Event()

    def loop(protocol: str) -> None:
        url = server.config.http_url if protocol == "http" else server.config.grpc_url
        with GolfClient(url, timeout=60, retries=RetryPolicy.patient()) as client:
            while not stop.is_set() and len(results[protocol]) < 200:
                results[protocol].append(_try(client.deblur_batch, blurry_batch))

    def served_since(counts: dict[str, int], more: int) -> bool:  # every client got `more` answers after `counts`
        return all(len(results[p]) >= min(200, counts[p] + more) for p in results)

    threads = [threading.Thread(target=loop, args=(p,)) for p in results]
    for thread in threads:
        thread.start()
    try:
        _poll(lambda: served_since(dict.fromkeys(results, 0), 1), 120, "a first answer to each client")
        os.kill(server.pid, signal.SIGKILL)
        assert supervised.wait_serving(timeout_s=120)
        counts = {p: len(results[p]) for p in results}  # a request cut by the kill may still be retrying
        _poll(lambda: served_since(counts, 2), 120, "answers from the restarted server")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert supervised.restarts == restarts + 1
    for protocol, outcomes in results.items():
        errors = [o for o in outcomes if isinstance(o, Exception)]
        assert not errors, f"{protocol}: {errors[:3]}"
        assert len(outcomes) >= 2


def test_shared_memory_the_server_refuses_falls_back_to_plain_transport(repository_factory, blurry_batch, caplog):
    http, grpc, metrics = free_ports(3)
    refuse = tuple(
        f"--{flag}=shared-memory:golf-api-key=other" for flag in ("http-restricted-api", "grpc-restricted-protocol")
    )
    config = ServerConfig(
        repository=repository_factory(layout="fused"), http_port=http, grpc_port=grpc, metrics_port=metrics,
        exit_timeout_s=1, extra_args=refuse,
    )  # fmt: skip
    with TritonServer(config) as server:
        for url in (server.config.http_url, server.config.grpc_url):
            with GolfClient(url, shared_memory=True) as client, caplog.at_level(logging.WARNING):
                caplog.clear()
                first, second = client.deblur_batch(blurry_batch), client.deblur_batch(blurry_batch)
                np.testing.assert_array_equal(first, second)
                warnings = [r for r in caplog.records if "sending tensors in the requests" in r.getMessage()]
                assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert not list(SHM_DIR.glob(f"golf_{os.getpid()}_*")), "the client's regions are released"


def test_a_stopped_server_leaves_no_shared_memory(supervised) -> None:
    server = supervised.server
    assert server.shared_memory_regions()
    before = {p.name for p in SHM_DIR.glob("triton_python_backend_shm_region_*")}
    supervised.stop()
    assert not server.is_alive() and server.shared_memory_regions() == []
    assert {p.name for p in SHM_DIR.glob("triton_python_backend_shm_region_*")} <= before
    assert Path(server.log_path).is_file(), "the log stays for reading (the cache keeps the newest)"


def test_serve_restarts_a_killed_server_and_reports_the_count(repository_factory, tmp_path: Path) -> None:
    import sys

    http, grpc, metrics = (str(p) for p in free_ports(3))
    command = [sys.executable, "-m", "golf_rt.cli", "serve", "--repository", str(repository_factory(layout="fused")),
               "--http-port", http, "--grpc-port", grpc, "--metrics-port", metrics,
               "--log-file", str(tmp_path / "server.log")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        lines = [_read_until(process, "Ctrl-C")]
        assert "restart: on" in lines[0]
        (server_pid,) = (
            int(p) for p in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True).stdout.split()
        )
        os.kill(server_pid, signal.SIGKILL)
        lines.append(_read_until(process, "restarts: 1"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "stopping (restarts: 1)" in process.stdout.read()
    finally:
        process.kill()


def _read_until(process: subprocess.Popen, marker: str, timeout_s: float = 180) -> str:
    lines, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline and marker not in "".join(lines):
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
    text = "".join(lines)
    assert marker in text, text
    return text


def test_a_server_that_served_comes_back_at_once_and_only_failing_starts_back_off(repository_factory, caplog):
    import re

    repository = repository_factory(layout="fused")
    http, grpc, metrics = free_ports(3)
    config = ServerConfig(repository=repository, http_port=http, grpc_port=grpc, metrics_port=metrics, exit_timeout_s=1)
    policy = RestartPolicy(max_restarts=5, first_delay_s=0.5, max_delay_s=10, ready_timeout_s=120)
    supervisor = Supervisor(TritonServer(config), policy)
    with caplog.at_level(logging.WARNING, logger="golf_rt.triton.supervisor"):
        supervisor.start(timeout_s=180)
        try:
            for restarts in (1, 2):  # it served, then died: started again at once, every time
                os.kill(supervisor.server.pid, signal.SIGKILL)
                deadline = time.monotonic() + 120  # until the supervisor itself has seen the restart ready
                while f"serving again (restart {restarts}," not in caplog.text and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert supervisor.restarts == restarts, caplog.text
            (repository / "golf" / "config.pbtxt").write_text('name: "golf"\ninput [ { dims: [3, ] } ]\n')
            os.kill(supervisor.server.pid, signal.SIGKILL)  # from now on every start fails before it is ready
            deadline = time.monotonic() + 120
            while supervisor.running() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            supervisor.stop()
    delays = [float(d) for d in re.findall(r"restart \d+ in ([0-9.]+) s", caplog.text)]
    assert delays == [0.0, 0.0, 0.0, 0.5, 1.0], caplog.text
    assert supervisor.failure and "after 5 restarts; giving up" in supervisor.failure
