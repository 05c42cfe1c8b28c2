"""Deblur image files on a Ray cluster with Ray Data: one `Deblurrer` per worker, many workers, one summary.

The driver sends paths, not pixels: a dataset of the file jobs of a `FolderPlan` (made by
`golf_rt.deblur.folder.plan_folder` before anything runs) goes through `map_batches` with
`_DeblurWorker`, a callable class, so each Ray actor makes its `Deblurrer` once and is fed batches
of jobs. A worker reads, deblurs and writes its files itself with the same code as `golf-rt deblur`
(`deblur_files`: metadata kept, atomic writes, a bad file recorded and skipped) and sends back one
small row per file: written, kept (already in place) or failed with the reason. Inputs and outputs
must therefore be on a file system every node sees.

A worker that dies is restarted by Ray and its unfinished batches are retried. A file that the
dead worker had already written is not written again: a retried worker counts a result written
since the run started as done (`deblur_files.is_finished`). A killed writer leaves at most a
temporary dot-file beside its target, never a half-written result; the driver removes those at
the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS
from golf_rt.deblur.folder import FileJob, FolderPlan, RunSummary, deblur_files, is_finished
from golf_rt.errors import BackendUnavailableError, ConfigurationError
from golf_rt.machine.atomic_files import remove_temporaries
from golf_rt.machine.extras import require

logger = logging.getLogger(__name__)

LOCAL = "local"
"""The address that starts a Ray cluster on this machine for the run (and stops it after)."""
DEFAULT_BATCH_SIZE = 16
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20  # rows of paths and statuses: the store never holds pixels
MAX_BLOCKS = 10_000
RETRIES = 3
"""Retries of a batch whose worker died (killed, out of memory, a crash in a runtime) before it is given up."""
GIVEN_UP = f"no result: a worker died on each of {RETRIES + 1} tries of its batch; a second run retries it"


@dataclass(frozen=True)
class FileResult:
    """What a worker did with one file: `written`, `kept` (already in place) or `failed` (with `reason`)."""

    source: Path
    target: Path
    status: str
    reason: str
    worker_pid: int
    node: str
    engine: str  # the backend and precision the worker's Deblurrer runs


@dataclass(frozen=True)
class WorkerSettings:
    """What each worker needs to build its `Deblurrer` and write like `golf-rt deblur`."""

    backend: str = "auto"
    precision: str = "auto"
    iterations: int = DEFAULT_ITERATIONS
    checkpoint: Path | None = None
    tile: int | None = None
    quality: int | None = None
    io_threads: int = 2

    def __post_init__(self) -> None:
        from golf_rt.backends import AUTO, BACKENDS

        if self.backend not in (AUTO, *BACKENDS) or self.precision not in (AUTO, *PRECISIONS):
            raise ConfigurationError(
                f"unknown backend {self.backend!r} or precision {self.precision!r}; choose a backend of "
                f"{AUTO}, {', '.join(BACKENDS)} and a precision of {AUTO}, {', '.join(PRECISIONS)}"
            )
        if self.iterations < 1 or self.io_threads < 1:
            raise ConfigurationError(
                f"iterations and I/O threads must be >= 1, got {self.iterations}, {self.io_threads}"
            )
        if self.checkpoint is not None and not Path(self.checkpoint).is_file():
            raise ConfigurationError(f"{self.checkpoint}: no such checkpoint file")
        if self.checkpoint is not None:  # as the driver means it, whatever a worker's working folder
            object.__setattr__(self, "checkpoint", Path(self.checkpoint).absolute())


def deblur_files_on_ray(
    plan: FolderPlan,
    address: str = LOCAL,
    workers: int = 2,
    settings: WorkerSettings | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    gpus_per_worker: float = 0.0,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunSummary:
    """Run the plan's jobs on `workers` Ray actors at `address`; failures are recorded, not raised.

    `address` is `"local"` (a cluster on this machine, with `workers` CPUs, stopped after the run),
    or any Ray address (`ray://host:10001`, `auto`); where Ray is already initialised in this
    process, that connection is used and left open. A job whose results are in place when a worker
    reaches it is kept unless `plan.overwrite` (those in place before the run are `plan.kept`, not
    sent). `on_result` is called on the driver for each file as it is done.
    """
    settings, jobs = settings or WorkerSettings(), plan.jobs
    if workers < 1 or batch_size < 1 or gpus_per_worker < 0:
        raise ConfigurationError(
            f"workers and batch size must be >= 1 and GPUs per worker >= 0, got {workers}, {batch_size}, "
            f"{gpus_per_worker}"
        )
    ray = require("ray", "deblurring on Ray")
    require("ray.data", "deblurring on Ray")
    summary, started = RunSummary(), time.perf_counter()
    rows = [  # absolute: a worker's working folder is not the driver's
        {
            "source": str(job.source.absolute()),
            "target": str(job.target.absolute()),
            "compare": str(job.compare.absolute() if job.compare else ""),
        }
        for job in jobs
    ]
    unreported = {row["source"]: job for row, job in zip(rows, jobs)}
    try:
        with _connected(ray, address, workers):
            worker = {"settings": settings, "run_started": time.time(), "overwrite": plan.overwrite}
            for result in _results(ray, rows, workers, worker, batch_size, gpus_per_worker):
                job = unreported.pop(str(result.source), None)
                if job is None:  # a second row for one file: Ray Data delivers each once, but count it once if not
                    continue
                result = replace(result, source=job.source, target=job.target)  # as the caller named them
                _record(result, summary)
                if on_result is not None:
                    on_result(result)
        summary.failed.extend((job.source, GIVEN_UP) for job in unreported.values())
    except KeyboardInterrupt:
        summary.interrupted = True
    except ray.exceptions.ActorDiedError as exc:
        if not exc.actor_init_failed:
            raise
        raise BackendUnavailableError(f"the Ray workers could not start their model: {_golf_error_in(exc)}") from None
    finally:
        removed = remove_temporaries(path for job in jobs for path in (job.target, job.compare) if path)
        if removed:
            logger.warning("removed %d temporary files left by workers killed mid-write", removed)
        summary.seconds = time.perf_counter() - started
    return summary


def _golf_error_in(exc: Exception) -> str:
    """The message of the golf-rt error a worker raised, read from Ray's text of it (Ray keeps only the text)."""
    found = re.findall(r"golf_rt\.errors\.\w+: (.+)", str(exc))
    return found[-1] if found else str(exc).strip().splitlines()[-1]


@contextlib.contextmanager
def _connected(ray: Any, address: str, workers: int) -> Iterator[None]:
    """Ray initialised for the run: reused if it already is, else started or joined and shut down after."""
    if ray.is_initialized():
        yield
        return
    session = tempfile.mkdtemp(prefix="golf-rt-ray-") if address == LOCAL else None  # its logs: workers' go to stderr
    if session is not None:
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            _temp_dir=session,
            logging_level=logging.WARNING,
        )
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()
        if session is not None:
            shutil.rmtree(session, ignore_errors=True)


def _results(
    ray: Any,
    rows: list[dict[str, str]],
    workers: int,
    worker: dict[str, Any],
    batch_size: int,
    gpus_per_worker: float,
) -> Iterator[FileResult]:
    """The rows of the run, as workers made with `worker` (`_DeblurWorker`'s arguments) finish them."""
    run = {"enable_progress_bars": False, "print_on_execution_start": False, "max_errored_blocks": -1}
    context = ray.data.DataContext.get_current()
    saved = {name: getattr(context, name) for name in run}
    for name, value in run.items():  # no bars (the caller shows progress); a batch that failed is reported
        setattr(context, name, value)
    try:
        with warnings.catch_warnings():  # Ray Data takes the retry settings as remote arguments until Ray 2.64
            warnings.simplefilter("ignore", DeprecationWarning)
            blocks = max(1, min(len(rows) // batch_size, MAX_BLOCKS))
            dataset = ray.data.from_items(rows, override_num_blocks=blocks)
            dataset = dataset.map_batches(
                _DeblurWorker,
                fn_constructor_kwargs=worker,
                batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=min(workers, blocks)),  # a worker with no block idles
                num_cpus=1,
                num_gpus=gpus_per_worker,
                max_restarts=-1,  # a worker that dies is always started again...
                max_task_retries=RETRIES,  # ...but a batch that kills it every time is given up
            )
        for row in dataset.iter_rows():
            columns = {name: row[name] for name in ("status", "reason", "node", "engine")}
            yield FileResult(Path(row["source"]), Path(row["target"]), worker_pid=int(row["worker_pid"]), **columns)
    finally:
        for name, value in saved.items():
            setattr(context, name, value)


def _record(result: FileResult, summary: RunSummary) -> None:
    if result.status == "written":
        summary.written.append(result.target)
    elif result.status == "kept":
        summary.kept.append(result.target)
    else:
        summary.failed.append((result.source, result.reason))


class _DeblurWorker:
    """A Ray actor's work: one `Deblurrer`, made once, and batches of file jobs through `deblur_files`."""

    def __init__(self, settings: WorkerSettings, run_started: float, overwrite: bool = False) -> None:
        self.overwrite = overwrite  # else a result in place before the run is kept
        from golf_rt.deblur.deblurrer import Deblurrer

        self.settings, self.run_started = settings, run_started
        self.deblurrer = Deblurrer(settings.backend, precision=settings.precision, iterations=settings.iterations,
                                   checkpoint=settings.checkpoint, tile=settings.tile)  # fmt: skip
        self.deblurrer.runner.activate()
        self.node, self.engine = socket.gethostname(), f"{self.deblurrer.backend} {self.deblurrer.precision}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        jobs = [
            FileJob(Path(source), Path(target), Path(compare) if compare else None)
            for source, target, compare in zip(batch["source"], batch["target"], batch["compare"])
        ]
        status: dict[FileJob, tuple[str, str]] = {}
        for job in jobs:
            if is_finished(job, written_since=self.run_started):  # written by this run before a retry
                status[job] = ("written", "")
            elif not self.overwrite and is_finished(job):
                status[job] = ("kept", "")
        todo = [job for job in jobs if job not in status]
        if todo:
            summary = deblur_files(self.deblurrer.deblur_photo, todo, self.settings.io_threads, self.settings.quality)
            written, failed = set(summary.written), dict(summary.failed)
            for job in todo:
                reason = failed.get(job.source, "").removeprefix(f"{job.source}: ")  # the driver knows which file
                status[job] = ("written", "") if job.target in written else ("failed", reason)
        return {
            "source": [str(job.source) for job in jobs],
            "target": [str(job.target) for job in jobs],
            "status": [status[job][0] for job in jobs],
            "reason": [status[job][1] for job in jobs],
            "worker_pid": [os.getpid()] * len(jobs),
            "node": [self.node] * len(jobs),
            "engine": [self.engine] * len(jobs),
        }
