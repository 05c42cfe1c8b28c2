"""Bounded load through Triton's perf_analyzer: a sweep of concurrency levels and a short soak; 0 errors, no leftovers.

Speed is measured by `python -m benchmarks.load` (docs/reliability.md); here only correctness
under load is asserted: every request answered, no failure, memory and leftovers bounded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.load import soak, sweep
from golf_rt.errors import BackendUnavailableError
from golf_rt.tuning.load import TRITONCLIENT_WITH_PERF_ANALYZER, input_data, perf_analyzer

from .conftest import start_server

pytestmark = pytest.mark.triton
SOAK_RSS_GROWTH_MIB = 64
"""Largest growth of the server's resident memory (server and stubs) over the short soak."""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Valid input for perf_analyzer; skipped only where its wheel cannot be downloaded (anything else fails)."""
    try:
        perf_analyzer()
    except BackendUnavailableError as exc:
        pytest.skip(f"perf_analyzer is not here and could not be downloaded: {exc}")
    return input_data(tmp_path_factory.mktemp("load"), 32, 32)


def test_library_links_left_dangling_by_a_deleted_environment_are_repaired(tmp_path: Path, monkeypatch) -> None:
    from golf_rt.triton.pytriton_wheel import pytriton_distribution

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("GOLF_RT_PERF_ANALYZER", shutil.which("true"))  # a binary is given: nothing is downloaded
    libs = tmp_path / "golf-rt" / "tools" / f"perf_analyzer-{TRITONCLIENT_WITH_PERF_ANALYZER}" / "libs"
    libs.mkdir(parents=True)
    names = ("libb64.so.0d", "libcudart.so.12")
    for name in names:
        (libs / name).symlink_to(tmp_path / "deleted-venv" / "nvidia_pytriton.libs" / name)
    assert not any((libs / name).exists() for name in names)
    _, env = perf_analyzer()
    _, wheel_libs = pytriton_distribution()
    for name in names:
        assert (libs / name).is_file() and (libs / name).resolve().parent == wheel_libs.resolve()
    assert env["LD_LIBRARY_PATH"].split(":")[0] == str(libs)
    assert sorted(p.name for p in libs.iterdir()) == sorted(names)  # no temporary link left


@pytest.mark.slow
def test_sweep_over_http_and_grpc_answers_every_request(fused_server, data) -> None:
    results = sweep(fused_server, data, levels=(1, 2, 4, 8), requests=8)
    assert [(r.protocol, r.concurrency) for r in results] == [(p, c) for p in ("http", "grpc") for c in (1, 2, 4, 8)]
    for result in results:
        assert result.exit_code == 0 and result.failed == 0, result
        assert result.requests >= max(8, 2 * result.concurrency) and result.throughput_per_s > 0
        assert 0 < result.p50_ms <= result.p99_ms


@pytest.mark.slow
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
