"""`golf-rt tune` for real: repositories from the writer, tritonserver on loopback, perf_analyzer, at 64 x 64.

One small sweep (2 configurations x concurrency 1 and 2, 4 requests a point) must choose a point,
write tune.json, a PNG and a `best/` repository that parses as Triton's configs; then, in the same
folder, an impossible budget under a time bound that leaves the second configuration out must end
with exit code 1 naming the lowest p95, still write the JSON and the PNG, and remove the stale `best/`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from golf_rt.contract import MODEL_NAME
from golf_rt.errors import BackendUnavailableError
from golf_rt.triton.config import PythonModelConfig
from golf_rt.triton.parser import read_config
from golf_rt.tuning.load import perf_analyzer

from ..cli_helpers import golf_rt, golf_rt_env

pytestmark = [pytest.mark.triton, pytest.mark.slow]
SWEEP = ("--size", "64", "--quick", "--instances", "1,2", "--requests", "4", "--protocol", "http")


@pytest.fixture(scope="module")
def tools() -> None:
    try:
        perf_analyzer()
    except BackendUnavailableError as exc:
        pytest.skip(f"perf_analyzer is not here and could not be downloaded: {exc}")


def _png(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_a_small_sweep_chooses_a_servable_repository_and_an_impossible_budget_exits_1(tools, tmp_path):
    output = tmp_path / "tune"
    run = golf_rt("tune", "--budget-ms", "60000", "--concurrency", "1,2", *SWEEP, "--output", str(output),
                  env=golf_rt_env())  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((output / "tune.json").read_text())
    points = report["points"]
    assert [(p["config"], p["concurrency"]) for p in points] == [
        ("fused-i1-t0-d0", 1), ("fused-i1-t0-d0", 2), ("fused-i2-t1-d0", 1), ("fused-i2-t1-d0", 2),
    ]  # fmt: skip
    for p in points:
        assert p["error"] is None and p["failed"] == 0 and p["requests"] >= 4, p
        assert p["throughput_per_s"] > 0 and 0 < p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"], p
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"] and report["machine"]["date"]
    assert report["stopped"] is None and report["skipped"] == []
    best_rate = max(p["throughput_per_s"] for p in points)
    chosen = report["chosen"]
    assert chosen in points and chosen["throughput_per_s"] >= best_rate * 0.98
    width, height = _png(output / "tune.png")
    assert width > 600 and height > 400
    configs = {d.name: read_config(d) for d in (output / "best").iterdir() if (d / "config.pbtxt").is_file()}
    assert set(configs) == {MODEL_NAME}  # --quick: the fused layout, one model
    golf = configs[MODEL_NAME]
    assert isinstance(golf, PythonModelConfig) and golf.instance_group.count == chosen["instances"]
    assert (output / "best" / MODEL_NAME / "1" / golf.parameter("model_file")).is_file()
    assert f"golf-rt serve --repository {output / 'best'}" in run.stdout

    impossible = golf_rt("tune", "--budget-ms", "0.001", "--concurrency", "1", "--minutes", "0.05", *SWEEP,
                         "--output", str(output), env=golf_rt_env())  # fmt: skip
    assert impossible.returncode == 1, impossible.stderr[-3000:]
    report = json.loads((output / "tune.json").read_text())
    (measured,) = report["points"]
    assert report["chosen"] is None and report["best_repository"] is None
    assert report["skipped"] == [{"config": "fused-i2-t1-d0", "concurrency": 1}] and "0.05-minute" in report["stopped"]
    assert f"lowest p95 seen was {measured['p95_ms']:.1f} ms" in impossible.stderr
    assert "note: stopped after 1 of 2 points" in impossible.stderr and "Traceback" not in impossible.stderr
    assert not (output / "best").exists()
    _png(output / "tune.png")
