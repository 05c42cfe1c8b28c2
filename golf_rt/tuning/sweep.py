"""The sweep: each candidate written as a real repository, served on loopback, loaded at each concurrency.

`run_sweep(TuneSpec(budget_ms=250, candidates=...), work)` writes every candidate with golf-rt's
repository writer, starts a `TritonServer` on it on free loopback ports, warms it up (two requests,
whose time bounds how long a run may take before it counts as hung; then every batch size the
dynamic batcher may form compiles once), runs perf_analyzer once per concurrency level and stops
it. The whole sweep is bounded in time: before each point it estimates, from the points so far,
how long the next one takes (with its server start when it is the first of its configuration),
and stops starting points when that would end past the bound, saying which were left.

The CPU only: the pip-installed tritonserver has no TensorRT backend, so a GPU repository
(`target="gpu"`) is refused with what to run instead.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from golf_rt.contract import MIN_SIDE, SERVED_MAX_PIXELS
from golf_rt.errors import BackendUnavailableError, ConfigurationError, ServerError
from golf_rt.triton.repository import RepositorySpec, write_repository
from golf_rt.tuning.candidates import Candidate
from golf_rt.tuning.choice import Point, choose
from golf_rt.tuning.load import (
    PERF_ANALYZER_TIMEOUT_S,
    PROTOCOLS,
    LoadGeneratorError,
    input_data,
    loopback_server,
    perf_analyzer,
    run_load,
)

logger = logging.getLogger(__name__)

GPU_REFUSAL = (
    "golf-rt tune serves each candidate with the tritonserver of the nvidia-pytriton wheel, which has no TensorRT "
    "backend, so it sweeps cpu repositories only. On a GPU server, write the gpu repository (golf-rt repository "
    "--target gpu --models plans/) and sweep its instances, max batch size and profiles with NVIDIA's Model "
    "Analyzer inside the tritonserver container (model-analyzer profile --model-repository /models "
    "--profile-models golf)"
)


@dataclass(frozen=True)
class TuneSpec:
    """What to sweep and under which budget; checked on construction, before anything starts.

    `budget_ms`: the p95 latency a chosen point must keep; `size`: the image side; `concurrency`:
    requests in flight per level; `requests`: perf_analyzer requests per level (at least 2 x the
    concurrency); `minutes`: the bound on the whole sweep; `repository`: what the candidates share
    (runtime, precision, iterations); `checkpoint`, `models`: where the model files come from, as
    for `golf-rt repository`.
    """

    budget_ms: float
    candidates: tuple[Candidate, ...]
    size: int = 256
    concurrency: tuple[int, ...] = (1, 2, 4)
    requests: int = 30
    minutes: float = 10.0
    protocol: str = "grpc"
    target: str = "cpu"
    repository: RepositorySpec = field(default_factory=RepositorySpec)
    checkpoint: Path | None = None
    models: Path | None = None

    def __post_init__(self) -> None:
        if not self.budget_ms > 0:
            raise ConfigurationError(f"the latency budget must be > 0 ms, got {self.budget_ms}")
        if self.protocol not in PROTOCOLS:
            raise ConfigurationError(f"protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.target == "gpu":
            raise BackendUnavailableError(GPU_REFUSAL)
        if self.target != "cpu":
            raise ConfigurationError(f"target {self.target!r} is not one of cpu, gpu")
        if not self.candidates:
            raise ConfigurationError("no candidate configuration to sweep")
        if len({c.name for c in self.candidates}) != len(self.candidates):
            raise ConfigurationError(f"a candidate is listed twice: {[c.name for c in self.candidates]}")
        if not self.concurrency or min(self.concurrency) < 1:
            raise ConfigurationError(f"concurrency levels must be >= 1, got {self.concurrency}")
        if not (MIN_SIDE <= self.size and self.size * self.size <= SERVED_MAX_PIXELS):
            raise ConfigurationError(
                f"size must be {MIN_SIDE}..{int(SERVED_MAX_PIXELS**0.5)} (a request the server takes), got {self.size}"
            )
        if self.requests < 1 or not self.minutes > 0:
            raise ConfigurationError(f"requests must be >= 1 and minutes > 0, got {self.requests}, {self.minutes}")
        object.__setattr__(self, "concurrency", tuple(sorted(set(self.concurrency))))

    @property
    def points(self) -> int:
        """How many points the whole sweep has."""
        return len(self.candidates) * len(self.concurrency)


@dataclass(frozen=True)
class SweepResult:
    """The measured points (in sweep order), the chosen one, and what was left when the time bound hit."""

    spec: TuneSpec
    points: tuple[Point, ...]
    chosen: Point | None
    repositories: dict[str, Path]
    """Candidate name -> its written repository (in a temporary folder that `run_sweep`'s caller removes)."""
    machine: dict
    stopped: str | None = None
    skipped: tuple[tuple[str, int], ...] = ()
    elapsed_s: float = 0.0


def machine_record() -> dict:
    """The machine a sweep ran on: CPU name, usable cores, date (UTC), load average (at the start, then the end)."""
    from golf_rt.machine.environment import cpu_cores, cpu_name, software_versions

    return {
        "cpu": cpu_name(),
        "cores": cpu_cores(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_1m": [round(os.getloadavg()[0], 2)],
        "software": software_versions(),
    }


class _Clock:
    """How long the next point should take, from the points so far; and whether it fits before the deadline."""

    def __init__(self, minutes: float) -> None:
        self.began = time.monotonic()
        self.deadline = self.began + minutes * 60
        self.starts: list[float] = []
        self.levels: dict[int, list[float]] = {}

    def estimate(self, concurrency: int, with_start: bool) -> float:
        measured = self.levels.get(concurrency) or [t for ts in self.levels.values() for t in ts]
        level = sum(measured) / len(measured) if measured else 0.0
        start = sum(self.starts) / len(self.starts) if with_start and self.starts else 0.0
        return level + start

    def fits(self, seconds: float) -> bool:
        return time.monotonic() + seconds <= self.deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.began


class _Serving:
    """The server of the configuration being measured: one at a time, started before its first point."""

    def __init__(self, spec: TuneSpec, work: Path, data: Path, clock: _Clock, log_dir: Path | None) -> None:
        self.spec, self.work, self.data, self.clock, self.log_dir = spec, work, data, clock, log_dir
        self.candidate: Candidate | None = None
        self.server = None
        self.error: str | None = None
        self.request_s = 0.0

    def switch(self, candidate: Candidate) -> Path:
        """Stop the last server; write `candidate`'s repository, serve it and warm it up. Its folder."""
        self.close()
        self.candidate, began = candidate, time.monotonic()
        folder = self.work / candidate.name
        write_repository(candidate.spec(self.spec.repository), folder, self.spec.checkpoint, self.spec.models)
        log = self.log_dir / f"{candidate.name}.log" if self.log_dir is not None else None
        try:
            self.server = loopback_server(folder, log_file=log)
            probe = run_load(self.server.config, self.spec.protocol, 1, 2, self.data)
            self.request_s = probe.p99_ms / 1000  # the slower of two requests: a bound for the timeouts
            top = self.spec.concurrency[-1]  # every batch size the batcher may form compiles now, not in a point
            run_load(self.server.config, self.spec.protocol, top, 2 * top, self.data, self._timeout(2 * top))
        except (ServerError, LoadGeneratorError) as exc:
            self.error = f"{candidate.name} did not start or warm up: {exc}"
            logger.warning("%s", self.error)
        self.clock.starts.append(time.monotonic() - began)
        return folder

    def _timeout(self, requests: int) -> float:
        """How long `requests` may take before perf_analyzer counts as hung: 3 x as long as one after another."""
        return max(PERF_ANALYZER_TIMEOUT_S, 3 * requests * self.request_s)

    def measure(self, level: int) -> Point:
        """perf_analyzer at `level` requests in flight, as a point (with the error, when it fails)."""
        if self.error is not None or self.server is None:
            return Point(self.candidate, level, error=self.error)
        began = time.monotonic()
        try:
            requests = max(self.spec.requests, 2 * level)
            result = run_load(
                self.server.config, self.spec.protocol, level, requests, self.data, self._timeout(requests)
            )
        except LoadGeneratorError as exc:
            return Point(self.candidate, level, error=str(exc))
        self.clock.levels.setdefault(level, []).append(time.monotonic() - began)
        return Point(
            self.candidate, level, throughput_per_s=result.throughput_per_s, p50_ms=result.p50_ms,
            p95_ms=result.p95_ms, p99_ms=result.p99_ms, requests=result.requests, failed=result.failed,
        )  # fmt: skip

    def close(self) -> None:
        """Stop the server, if one runs."""
        if self.server is not None:
            self.server.stop()
        self.server, self.error = None, None


def run_sweep(
    spec: TuneSpec, work: Path, *, log_dir: Path | None = None, on_point: Callable[[Point], None] | None = None
) -> SweepResult:
    """Measure every point of `spec` that fits its time bound; repositories are written under `work`.

    `on_point` is called after each point (a progress bar). A configuration whose server does not
    start, or a level perf_analyzer fails, becomes points with an `error`, and the sweep goes on.
    """
    perf_analyzer()  # found or fetched before the first server starts
    machine, clock = machine_record(), _Clock(spec.minutes)
    data = input_data(work, spec.size, spec.size)
    todo = [(candidate, level) for candidate in spec.candidates for level in spec.concurrency]
    points: list[Point] = []
    repositories: dict[str, Path] = {}
    stopped, skipped = None, ()
    serving = _Serving(spec, work, data, clock, log_dir)
    try:
        for i, (candidate, level) in enumerate(todo):
            starting = serving.candidate != candidate
            if points and not clock.fits(need := clock.estimate(level, with_start=starting)):
                stopped = (
                    f"stopped after {len(points)} of {len(todo)} points: the next ({candidate.name} at concurrency "
                    f"{level}{', with its server start' if starting else ''}) needs about {need:.0f} s and would end "
                    f"past the {spec.minutes:g}-minute bound ({clock.elapsed():.0f} s gone); raise --minutes or "
                    f"sweep fewer candidates"
                )
                skipped = tuple((c.name, c_level) for c, c_level in todo[i:])
                logger.warning("%s", stopped)
                break
            if starting:
                repositories[candidate.name] = serving.switch(candidate)
            points.append(serving.measure(level))
            if on_point is not None:
                on_point(points[-1])
    finally:
        serving.close()
    machine["load_average_1m"].append(round(os.getloadavg()[0], 2))
    return SweepResult(
        spec=spec, points=tuple(points), chosen=choose(points, spec.budget_ms), repositories=repositories,
        machine=machine, stopped=stopped, skipped=skipped, elapsed_s=round(clock.elapsed(), 1),
    )  # fmt: skip
