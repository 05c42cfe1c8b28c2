"""Deblur image files into a folder: one inference stream, with reading and writing overlapped around it.

`plan_folder` walks the inputs once and returns a `FolderPlan`: every result named before anything
runs (refusing to overwrite an input, to write one name twice, or a file named on the command line
whose type golf-rt cannot write back), the jobs whose results are already in place, the files in the
input folders that are not images it takes (and why), and the subfolders left unsearched.
`FolderPlan.prepare_output` makes the output folders and proves it can write there; `deblur_files`
(here) or `golf_rt.deblur.ray.deblur_files_on_ray` (on Ray) then runs the jobs. A small thread pool
reads and checks the next images (`golf_rt.images.files.read_image`,
`golf_rt.images.arrays.checked_photo`) and writes the previous ones while `Deblurrer.deblur_photo`
deblurs the current one (a photo larger than a tile in bands of rows, so only its pixels and its
result are held whole); decoding, encoding and the runtimes release the GIL, so on a CPU the I/O
hides behind inference. At most `workers` images are read ahead and `workers` wait to be written,
which bounds memory.

A file that cannot be read, deblurred or written is recorded with the reason and the run goes
on. Every result is written to a temporary name and renamed, so an interrupted run (Ctrl-C)
leaves each output either whole or absent; the writes already started finish first. For the same
reason a result that exists is whole, and `is_finished` is the one rule for resuming: a job whose
results are all in place is not run again (`golf-rt deblur`, in process or on Ray, unless
`--overwrite`).
"""

from __future__ import annotations

import logging
import stat
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from golf_rt.errors import ConfigurationError, GolfError, InvalidImageError, OutputError
from golf_rt.images.arrays import Photo, checked_photo
from golf_rt.images.files import IMAGE_SUFFIXES, ImageFile, folder_files, read_image, save_image

logger = logging.getLogger(__name__)

COMPARE_SUFFIX = "_compare.png"


@dataclass(frozen=True)
class FileJob:
    """One input file and where its result (and, if asked, its side-by-side comparison) goes."""

    source: Path
    target: Path
    compare: Path | None = None


@dataclass
class RunSummary:
    """What a run did: files written, files that failed and why, and how long it took."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # results already in place before the run, left as they were
    inference_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C: what was written is whole, the rest was not started

    @property
    def images_per_second(self) -> float:
        return len(self.written) / self.seconds if self.seconds > 0 else 0.0

    def timing(self) -> str:
        """`N images in S s (R images/s); inference mean/median/max ms per image`."""
        text = f"{len(self.written)} images in {self.seconds:.1f} s ({self.images_per_second:.3g} images/s)"
        if self.inference_ms:
            ms = self.inference_ms
            text += (
                f"; inference mean {statistics.fmean(ms):.0f} ms, median {statistics.median(ms):.0f} ms, "
                f"max {max(ms):.0f} ms per image"
            )
        return text


def _types() -> str:
    return ", ".join(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES)


@dataclass(frozen=True)
class FolderPlan:
    """A folder run, planned before anything runs; `plan_folder` makes it.

    `jobs`: to run, in order. `kept`: jobs whose results are already in place (none with
    `overwrite`). `skipped`: files in the input folders left out for their type, each with the
    reason. `unsearched`: the subfolders of the input folders a run without `recursive` leaves out.
    """

    output: Path
    jobs: list[FileJob]
    kept: list[FileJob] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    unsearched: list[Path] = field(default_factory=list)
    overwrite: bool = False

    def prepare_output(self) -> None:
        """Make the output folders and write a probe file in each, before any work: OutputError if not."""
        prepare_output(self.output, [*self.jobs, *self.kept])


def plan_folder(
    inputs: list[Path], output: Path, *, recursive: bool = False, compare: bool = False, overwrite: bool = False
) -> FolderPlan:
    """Walk the inputs once: a job per image file, and what the run leaves out.

    A file named directly keeps its name; a folder's files keep their place in it. A file named
    directly whose type golf-rt cannot write back (GIF, say) is refused here, before any inference;
    in a folder, such files are left out (`FolderPlan.skipped` lists them).
    """
    output = Path(output)
    jobs: list[FileJob] = []
    skipped: list[tuple[Path, str]] = []
    unsearched: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = folder_files(item, recursive, exclude=output)
            jobs += [_job(path, output / path.relative_to(item), compare) for path in found.images]
            skipped += [(path, _unsupported(path)) for path in found.others]
            if not recursive:
                unsearched += [folder for folder in found.subfolders if folder.resolve() != output.resolve()]
        elif item.is_file():
            if item.suffix.lower() not in IMAGE_SUFFIXES:
                raise InvalidImageError(f"{item}: {_unsupported(item)}; convert it to PNG first")
            jobs.append(_job(item, output / item.name, compare))
        else:
            raise InvalidImageError(f"{item}: no such file or folder")
    if not jobs:
        raise InvalidImageError(f"no image files ({_types()}) found in the inputs")
    _refuse_clashes(jobs)
    kept = [] if overwrite else [job for job in jobs if is_finished(job)]
    done = set(kept)
    todo = [job for job in jobs if job not in done]
    return FolderPlan(output, todo, kept, skipped, sorted(unsearched), overwrite)


def _unsupported(path: Path) -> str:
    kind = f"{path.suffix.lower()} files" if path.suffix else "files without a suffix"
    return f"golf-rt reads and writes {_types()}, not {kind}"


def _job(source: Path, target: Path, compare: bool) -> FileJob:
    return FileJob(source, target, target.with_name(target.stem + COMPARE_SUFFIX) if compare else None)


def _refuse_clashes(jobs: list[FileJob]) -> None:
    inputs = {job.source.resolve() for job in jobs}
    writers: dict[Path, Path] = {}
    for job in jobs:
        for target in (job.target, job.compare):
            if target is None:
                continue
            resolved = target.resolve()
            if resolved in inputs:
                raise InvalidImageError(f"{target} would overwrite an input image; choose another --output folder")
            if resolved in writers and writers[resolved] != job.source.resolve():
                raise InvalidImageError(f"{writers[resolved]} and {job.source} would both be written as {target}")
            writers[resolved] = job.source.resolve()


def is_finished(job: FileJob, written_since: float | None = None) -> bool:
    """Whether every result of `job` is in place (each was renamed into place whole, so it is whole).

    With `written_since` (a `time.time()`), only results written since then count: those of this run,
    done before a worker that wrote them died and its batch was retried.
    """
    for target in (job.target, job.compare):
        if target is None:
            continue
        try:
            found = target.stat()
        except OSError:
            return False
        if not stat.S_ISREG(found.st_mode) or (written_since is not None and found.st_mtime < written_since):
            return False
    return True


def prepare_output(output: Path, jobs: list[FileJob]) -> None:
    """Make the output folders and write a probe file in each, before any work: OutputError if not."""
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output}: the output exists and is not a folder; choose a folder for --output")
    for folder in sorted({job.target.parent for job in jobs}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".golf-rt-probe-{time.monotonic_ns()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"{folder}: cannot write results there ({exc.strerror or exc})") from exc
    for job in jobs:
        for target in (job.target, job.compare):
            if target is not None and target.is_dir():
                raise ConfigurationError(f"{target}: a folder is in the way of this result; move it away first")


def deblur_files(
    deblur_photo: Callable[[Photo], np.ndarray],
    jobs: list[FileJob],
    workers: int = 2,
    quality: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> RunSummary:
    """Run every job through `deblur_photo` (`Deblurrer.deblur_photo`), in order; failures are recorded, not raised.

    `on_done` is called once per job as soon as its result is written (from the writing thread) or it failed.

    Ctrl-C stops the run: the writes already started finish, and the summary says it was interrupted.
    """
    if workers < 1:
        raise ConfigurationError(f"workers must be >= 1, got {workers}")
    summary, started = RunSummary(), time.perf_counter()
    done = on_done or (lambda: None)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="golf-rt-io")
    reads: deque[tuple[FileJob, Future]] = deque()
    writes: deque[tuple[FileJob, Future]] = deque()
    upcoming: Iterator[FileJob] = iter(jobs)
    try:
        _read_ahead(pool, upcoming, reads, workers)
        while reads:
            job, reading = reads.popleft()
            _read_ahead(pool, upcoming, reads, workers)
            try:
                file, photo = reading.result()
                tic = time.perf_counter()
                result = deblur_photo(photo)
                summary.inference_ms.append((time.perf_counter() - tic) * 1000)
            except GolfError as exc:
                summary.failed.append((job.source, str(exc)))
                done()
                continue
            writing = pool.submit(_write, job, file, result, quality)
            writing.add_done_callback(lambda future: None if future.cancelled() else done())  # counted when written
            writes.append((job, writing))
            while len(writes) > workers:
                _finish(writes.popleft(), summary)
        while writes:
            _finish(writes.popleft(), summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C, writes already started complete
        while writes:
            if not writes[0][1].cancelled():
                _finish(writes[0], summary)
            writes.popleft()
        summary.seconds = time.perf_counter() - started
    return summary


def _read_ahead(pool: ThreadPoolExecutor, upcoming: Iterator[FileJob], reads: deque, workers: int) -> None:
    while len(reads) < workers and (job := next(upcoming, None)) is not None:
        reads.append((job, pool.submit(_read, job)))


def _read(job: FileJob) -> tuple[ImageFile, Photo]:
    file = read_image(job.source)
    return file, checked_photo(file.pixels)


def _write(job: FileJob, file: ImageFile, result: np.ndarray, quality: int | None) -> Path:
    try:
        save_image(job.target, result, like=file, quality=quality)
        if job.compare is not None:  # with the input's metadata: its colour profile above all
            save_image(job.compare, np.concatenate([file.pixels, result], axis=1), like=file)
    except OSError as exc:
        raise OutputError(f"cannot write {job.target} ({exc.strerror or exc})") from exc
    return job.target


def _finish(write: tuple[FileJob, Future], summary: RunSummary) -> None:
    job, future = write
    try:
        summary.written.append(future.result())
    except GolfError as exc:
        summary.failed.append((job.source, str(exc)))
