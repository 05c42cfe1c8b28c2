"""What one measured point of a sweep is, and which point wins under a latency budget (pure functions).

The rule, as Model Analyzer's: among the points whose p95 latency is within the budget and that
failed no request, the highest throughput wins. Throughputs within `TIE_FRACTION` of the highest
count as tied (perf_analyzer's rates move by more than that between two runs of one setting), and a
tie goes to fewer instances (less memory, one model load per model), then to the lower p95.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from golf_rt.tuning.candidates import Candidate

TIE_FRACTION = 0.02
"""Throughputs this close to the highest (relative) are a tie."""


@dataclass(frozen=True)
class Point:
    """One configuration at one concurrency: what perf_analyzer measured, or why it could not."""

    candidate: Candidate
    concurrency: int
    throughput_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    failed: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Measured, and every request answered."""
        return self.error is None and self.failed == 0 and self.requests > 0

    def record(self) -> dict:
        """The point as one flat JSON object: the configuration's knobs, then the measurement."""
        fields = asdict(self)
        return {"config": self.candidate.name, **fields.pop("candidate"), **fields}


def within(points: Iterable[Point], budget_ms: float) -> list[Point]:
    """The points that count: measured without a failure and with p95 latency <= `budget_ms`."""
    return [p for p in points if p.ok and p.p95_ms <= budget_ms]


def choose(points: Iterable[Point], budget_ms: float) -> Point | None:
    """The best point under the budget (the module's rule), or None when no point is within it."""
    eligible = within(points, budget_ms)
    if not eligible:
        return None
    top = max(p.throughput_per_s for p in eligible)
    tied = [p for p in eligible if p.throughput_per_s >= top * (1 - TIE_FRACTION)]
    return min(tied, key=lambda p: (p.candidate.instances, p.p95_ms, -p.throughput_per_s))


def lowest_p95(points: Iterable[Point]) -> Point | None:
    """The measured point with the lowest p95 latency (what to report when none is within the budget)."""
    measured = [p for p in points if p.ok]
    return min(measured, key=lambda p: p.p95_ms) if measured else None
