"""The choice rule over point records: within budget, no failure, highest throughput, ties to fewer instances."""

from __future__ import annotations

from golf_rt.tuning.candidates import Candidate
from golf_rt.tuning.choice import TIE_FRACTION, Point, choose, lowest_p95, within

ONE = Candidate("fused", 1, 0, 0)
TWO = Candidate("fused", 2, 1, 0)
ENSEMBLE = Candidate("ensemble", 1, 0, 2000)


def point(candidate: Candidate, concurrency: int, rate: float, p95: float, **fields) -> Point:
    values = {"requests": 10, "p50_ms": p95 / 2, "p99_ms": p95 * 1.1, **fields}
    return Point(candidate, concurrency, throughput_per_s=rate, p95_ms=p95, **values)


def test_the_highest_throughput_within_the_budget_wins_and_faster_points_over_it_do_not():
    points = [point(ONE, 1, 3.0, 300), point(ONE, 2, 5.0, 450), point(TWO, 4, 9.0, 900), point(ENSEMBLE, 2, 4.0, 420)]
    assert choose(points, 500) == points[1]
    assert choose(points, 1000) == points[2]
    assert choose(points, 450) == points[1]  # p95 equal to the budget is within it


def test_points_with_failed_requests_or_errors_or_no_requests_do_not_count():
    failed = point(TWO, 2, 8.0, 200, failed=1)
    broken = Point(TWO, 4, error="perf_analyzer hung")
    empty = point(ENSEMBLE, 1, 7.0, 100, requests=0)
    good = point(ONE, 1, 3.0, 300)
    assert within([failed, broken, empty, good], 500) == [good]
    assert choose([failed, broken, empty, good], 500) == good


def test_a_tie_goes_to_fewer_instances_and_a_clear_win_to_the_faster():
    two = point(TWO, 2, 10.0, 200)
    tied_one = point(ONE, 2, 10.0 * (1 - TIE_FRACTION / 2), 250)
    assert choose([two, tied_one], 500) == tied_one
    slower_one = point(ONE, 2, 10.0 * (1 - 2 * TIE_FRACTION), 250)
    assert choose([two, slower_one], 500) == two


def test_among_tied_points_of_equal_instances_the_lower_p95_wins():
    a, b = point(ONE, 2, 5.0, 400), point(ENSEMBLE, 2, 5.0, 350)
    assert choose([a, b], 500) == b


def test_nothing_within_the_budget_is_none_and_the_lowest_p95_is_reported():
    points = [point(ONE, 1, 3.0, 300), point(TWO, 1, 2.0, 280), point(TWO, 2, 1.0, 100, failed=2)]
    assert choose(points, 250) is None
    assert lowest_p95(points) == points[1]
    assert lowest_p95([Point(ONE, 1, error="no server")]) is None
    assert choose([], 250) is None


def test_a_record_is_one_flat_object_with_the_configuration_and_the_measurement():
    record = point(TWO, 2, 4.5, 300).record()
    assert record["config"] == "fused-i2-t1-d0"
    assert {k: record[k] for k in ("layout", "instances", "threads", "max_queue_delay_us")} == {
        "layout": "fused", "instances": 2, "threads": 1, "max_queue_delay_us": 0,
    }  # fmt: skip
    assert (record["concurrency"], record["throughput_per_s"], record["p95_ms"], record["error"]) == (2, 4.5, 300, None)
    assert "candidate" not in record
