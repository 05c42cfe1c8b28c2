"""`golf-rt tune`: which serving configuration is fastest under a latency budget, measured on this machine.

A CPU Model Analyzer: every candidate (`candidates`) is a real repository from golf-rt's writer,
served by a real tritonserver on loopback and loaded with perf_analyzer at each concurrency level
(`sweep`, over `load`); the choice is a pure rule over the points (`choice`); `results` writes
`tune.json`, `tune.png` and `best/`.

    from golf_rt.tuning import TuneSpec, candidate_grid, tune
    spec = TuneSpec(budget_ms=250, candidates=candidate_grid(cores=2))
    result = tune(spec, "tune")        # tune/tune.json, tune/tune.png, tune/best/ when a point met the budget
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from golf_rt.tuning.candidates import Candidate, candidate_grid
from golf_rt.tuning.choice import Point, choose
from golf_rt.tuning.sweep import SweepResult, TuneSpec, run_sweep

__all__ = ["Candidate", "Point", "SweepResult", "TuneSpec", "candidate_grid", "choose", "tune"]


def tune(
    spec: TuneSpec, output: str | Path, *, on_point: Callable[[Point], None] | None = None
) -> tuple[SweepResult, dict[str, Path]]:
    """Run the sweep and write its results into `output`: the result and the written paths by name.

    The output folder, tritonserver and matplotlib are checked before the first server starts;
    server logs go to `output/logs/`.
    """
    from golf_rt.machine.atomic_files import writable_folder
    from golf_rt.machine.extras import require
    from golf_rt.tuning.results import write_results

    output = writable_folder(output)
    require("pytriton", "golf-rt tune (it serves every candidate with tritonserver)")
    require("matplotlib", "golf-rt tune's chart")
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".golf-rt-tune-", dir=output) as work:
        result = run_sweep(spec, Path(work), log_dir=output / "logs", on_point=on_point)
        written = write_results(result, output)
    return result, written
