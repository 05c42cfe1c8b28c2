"""Bounded load through Triton's perf_analyzer: a sweep of concurrency levels and a short soak; 0 errors, no leftovers.

Speed is measured by `python -m benchmarks.load` (docs/reliability.md); here only correctness
under load is asserted: every request answered, no failure, memory and leftovers bounded.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.load import input_data, perf_analyzer, soak, sweep

from .conftest import start_server

pytestmark = [pytest.mark.triton, pytest.mark.slow]
SOAK_RSS_GROWTH_MIB = 64
"""Largest growth of the server's resident memory (server and stubs) over the short soak."""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    try:
        perf_analyzer()
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"perf_analyzer is not available here and could not be fetched: {exc}")
    return input_data(tmp_path_factory.mktemp("load"), 32, 32)


def test_sweep_over_http_and_grpc_answers_every_request(fused_server, data) -> None:
    results = sweep(fused_server, data, levels=(1, 2, 4, 8), requests=8)
    assert [(r.protocol, r.concurrency) for r in results] == [(p, c) for p in ("http", "grpc") for c in (1, 2, 4, 8)]
    for result in results:
        assert result.exit_code == 0 and result.failed == 0, result
        assert result.requests >= max(8, 2 * result.concurrency) and result.throughput_per_s > 0
        assert 0 < result.p50_ms <= result.p99_ms


def test_short_soak_has_no_error_bounded_memory_and_leaves_nothing(repository_factory, data) -> None:
    server = start_server(repository_factory(layout="fused"))
    try:
        workdir, report = server.workdir, soak(server, data, minutes=0.25, concurrency=2, chunk=20)
        regions = server.shared_memory_regions()
    finally:
        server.stop()
    assert report["runs"] >= 1 and report["failed"] == 0 and report["perf_analyzer_errors"] == 0, report
    assert report["requests"] >= 20 * report["runs"]
    assert report["rss_end_mib"] - report["rss_start_mib"] < SOAK_RSS_GROWTH_MIB, report
    assert regions and not any(region.exists() for region in regions)
    assert workdir is not None and not workdir.exists()
