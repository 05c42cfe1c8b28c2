"""The serving configurations `golf-rt tune` tries: the knobs a CPU repository has, and their grid.

A candidate sets what the repository writer (`golf_rt.triton.repository.RepositorySpec`) lets a
CPU repository vary for speed: the layout (`fused`, one model; `ensemble`, F then G unrolled, so
that one request's G can run while the next one's F does), Triton instances per model, the
runtime's threads per instance (the cores shared out: `cores // instances`) and the dynamic
batcher's queue delay. OpenVINO streams and its THROUGHPUT hint are not knobs: each instance runs
one synchronous inference at a time, so a second stream would idle; instances are the streams here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from golf_rt.errors import ConfigurationError
from golf_rt.triton.repository import LAYOUTS, RepositorySpec

DEFAULT_LAYOUTS = ("fused", "ensemble")
DEFAULT_INSTANCES = (1, 2)
DEFAULT_DELAYS_US = (0, 2000)
QUICK_LAYOUTS = ("fused",)
QUICK_DELAYS_US = (0,)
"""`--quick`: the fused layout without a queue delay, over the instance counts (2 configurations by default)."""


@dataclass(frozen=True)
class Candidate:
    """One serving configuration: layout, Triton instances per model, threads per instance, queue delay."""

    layout: str = "fused"
    instances: int = 1
    threads: int = 0
    max_queue_delay_us: int = 0

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ConfigurationError(f"layout {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        if self.instances < 1 or self.threads < 0 or self.max_queue_delay_us < 0:
            raise ConfigurationError(
                f"instances must be >= 1, threads >= 0 (0 = all cores) and the queue delay >= 0 us; got "
                f"{self.instances}, {self.threads}, {self.max_queue_delay_us}"
            )

    @property
    def name(self) -> str:
        """A short unique label, e.g. `fused-i2-t1-d2000` (instances, threads, queue delay in us)."""
        return f"{self.layout}-i{self.instances}-t{self.threads}-d{self.max_queue_delay_us}"

    def spec(self, base: RepositorySpec) -> RepositorySpec:
        """`base` (runtime, precision, iterations...) with this candidate's knobs."""
        return replace(
            base,
            layout=self.layout,
            instances=self.instances,
            threads=self.threads,
            max_queue_delay_us=self.max_queue_delay_us,
        )


def candidate_grid(
    *,
    layouts: tuple[str, ...] = DEFAULT_LAYOUTS,
    instances: tuple[int, ...] = DEFAULT_INSTANCES,
    delays_us: tuple[int, ...] = DEFAULT_DELAYS_US,
    cores: int,
) -> tuple[Candidate, ...]:
    """Every combination, fewest instances first; each instance gets `cores // instances` threads (at least 1).

    One instance keeps threads 0 (the runtime's own choice: every core), what `golf-rt repository` writes.
    """
    if not layouts or not instances or not delays_us:
        raise ConfigurationError("the candidate grid needs at least one layout, instance count and queue delay")
    if cores < 1 or min(instances) < 1:
        raise ConfigurationError(f"cores and instances must be >= 1, got {cores} cores and instances {instances}")
    grid = [
        Candidate(layout, count, 0 if count == 1 else max(1, cores // count), delay)
        for count in sorted(set(instances))
        for layout in dict.fromkeys(layouts)
        for delay in sorted(set(delays_us))
    ]
    return tuple(grid)
