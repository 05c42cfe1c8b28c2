"""Deblurring files on Ray Data: the same results as `golf-rt deblur`, a killed worker loses and repeats nothing.

The Ray tests run a real local Ray cluster of two workers (one CPU each) on the shipped model with
ONNX Runtime at fp32, pinned so that both paths run the same runtime at the same precision.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from golf_rt.deblur.folder import FileJob, FolderPlan, plan_folder
from golf_rt.deblur.ray import FileResult, WorkerSettings, _DeblurWorker, deblur_files_on_ray
from golf_rt.errors import ConfigurationError, MissingPackageError
from golf_rt.images.files import read_image, save_image
from golf_rt.machine.environment import installed

from .cli_helpers import golf_rt

PINNED = ("--backend", "onnxruntime", "--precision", "fp32")
SETTINGS = WorkerSettings("onnxruntime", "fp32")
needs_ray = pytest.mark.skipif(
    not (installed("ray") and installed("pyarrow")), reason="needs ray[data] (pip install '.[ray]')"
)


def small_photos(folder: Path, count: int) -> Path:
    """`count` small noisy images of sizes 64 to 128: PNGs, and JPEGs with EXIF that must be kept."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(count):
        height, width = rng.integers(64, 129, size=2)
        pixels = (rng.random((height, width, 3)) * 255).astype(np.uint8)
        if i % 4 == 3:
            exif = Image.Exif()
            exif[0x010F] = f"camera {i}"
            Image.fromarray(pixels).save(folder / f"{i:03d}.jpg", quality=90, exif=exif)
        else:
            save_image(folder / f"{i:03d}.png", pixels)
    return folder


def test_import_golf_rt_and_the_deblur_command_load_no_ray():
    code = "import sys, golf_rt, golf_rt.deblur.ray, golf_rt.commands.deblur; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_without_ray_the_error_is_one_sentence_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is not installed
    with pytest.raises(MissingPackageError, match=r"deblurring on Ray needs ray\[data\].*\.\[ray\]") as raised:
        deblur_files_on_ray(FolderPlan(tmp_path, [FileJob(tmp_path / "a.png", tmp_path / "out.png")]))
    assert raised.value.extra == "ray" and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (dict(backend="cuda"), "unknown backend 'cuda'"),
        (dict(precision="fp8"), "precision 'fp8'"),
        (dict(io_threads=0), "I/O threads must be >= 1"),
        (dict(checkpoint=Path("/no/such.safetensors")), "no such checkpoint file"),
    ],
)
def test_settings_a_worker_could_not_use_are_refused_on_the_driver(settings, problem):
    with pytest.raises(ConfigurationError, match=re.escape(problem)):
        WorkerSettings(**settings)


def test_a_retried_batch_counts_files_written_since_the_run_started_and_keeps_older_ones(tmp_path):
    inputs = small_photos(tmp_path / "in", 3)
    plan = plan_folder([inputs], tmp_path / "out")
    plan.prepare_output()
    jobs = plan.jobs
    batch = {
        name: np.array([str(getattr(job, name) or "") for job in jobs]) for name in ("source", "target", "compare")
    }
    started = time.time()
    worker = _DeblurWorker(SETTINGS, run_started=started)
    assert worker(batch)["status"] == ["written"] * 3
    before = {job.target: job.target.stat().st_ino for job in jobs}
    again = worker(batch)  # the same batch retried after its worker died: nothing is written again
    assert again["status"] == ["written"] * 3 and before == {job.target: job.target.stat().st_ino for job in jobs}
    next_run = _DeblurWorker(SETTINGS, run_started=time.time() + 1)
    assert next_run(batch)["status"] == ["kept"] * 3
    overwriting = _DeblurWorker(SETTINGS, run_started=time.time() + 1, overwrite=True)
    assert overwriting(batch)["status"] == ["written"] * 3
    assert all(job.target.stat().st_ino != before[job.target] for job in jobs)


@pytest.mark.slow
@needs_ray
def test_ray_local_writes_what_golf_rt_deblur_writes(tmp_path):
    inputs = small_photos(tmp_path / "in", 48)
    (inputs / "broken.png").write_bytes(b"not an image")
    here = golf_rt("deblur", str(inputs), "-o", str(tmp_path / "here"), *PINNED, timeout=900)
    ray_args = ("--ray", "local", "--batch-size", "8")
    on_ray = golf_rt("deblur", "in", "-o", "ray", *PINNED, *ray_args, cwd=tmp_path, timeout=900)
    assert here.returncode == on_ray.returncode == 1, on_ray.stderr
    assert "48 images in" in on_ray.stdout and "images/s" in on_ray.stdout
    assert "with 2 Ray workers (onnxruntime fp32) at local" in on_ray.stdout
    assert "\n  in/broken.png: not an image file" in on_ray.stderr  # named as given, though workers run elsewhere
    written = sorted(p.name for p in (tmp_path / "ray").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "here").iterdir()) and len(written) == 48
    for name in written:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    assert read_image(tmp_path / "ray" / "003.jpg").metadata["exif"] == read_image(inputs / "003.jpg").metadata["exif"]
    resumed = golf_rt("deblur", str(inputs), "-o", str(tmp_path / "ray"), *PINNED, "--ray", "local", timeout=900)
    assert resumed.returncode == 1 and resumed.stdout.startswith("0 images in")  # only the broken file is tried again
    assert "kept 48 results already in" in resumed.stdout and "1 of 1 images failed" in resumed.stderr


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs whose workers log each atomic write (DEBUG) into its session's log files."""
    ray = pytest.importorskip("ray", reason="needs ray[data] (pip install '.[ray]')")
    folder = Path(tempfile.mkdtemp(prefix="golf-ray-"))  # short: Ray's sockets live in it
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 2**20,
        _temp_dir=str(folder),
        log_to_driver=False,
        logging_config=ray.LoggingConfig(encoding="TEXT", log_level="DEBUG"),
    )
    yield folder
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


def atomic_writes(ray_folder: Path) -> Counter:
    """How many times each file was renamed into place, from the workers' logs."""
    logs = (ray_folder / "session_latest" / "logs").glob("worker-*.err")
    return Counter(
        match for log in logs for match in re.findall(r"atomic_files\.py:\d+ -- wrote (\S+)", log.read_text())
    )


@pytest.mark.slow
@needs_ray
def test_a_killed_worker_is_restarted_and_nothing_is_lost_or_written_twice_and_a_rerun_resumes(ray_cluster, tmp_path):
    inputs = small_photos(tmp_path / "in", 60)  # 15 batches: most still queued when the first worker dies
    output = tmp_path / "out"
    plan = plan_folder([inputs], output)
    plan.prepare_output()
    jobs = plan.jobs
    results: list[FileResult] = []
    killed: list[int] = []

    def kill_the_first_worker(result: FileResult) -> None:  # while the other batches are queued or running
        results.append(result)
        if not killed:
            os.kill(result.worker_pid, signal.SIGKILL)
            killed.append(result.worker_pid)

    summary = deblur_files_on_ray(plan, "local", 2, SETTINGS, batch_size=4, on_result=kill_the_first_worker)
    assert not summary.failed and len(summary.written) == 60 and not summary.kept
    assert len({result.worker_pid for result in results}) >= 3  # the killed worker was replaced by a new process
    assert sorted(p.name for p in output.iterdir()) == sorted(job.target.name for job in jobs)  # no temporary left
    assert all(read_image(job.target).pixels.shape == read_image(job.source).pixels.shape for job in jobs)
    writes = atomic_writes(ray_cluster)
    assert set(writes) <= {str(job.target) for job in jobs} and max(writes.values()) == 1
    assert len(writes) >= 59  # all, but one the killed worker may have renamed and not yet logged

    redo = jobs[::20]  # 3 of 60
    for job in redo:
        job.target.unlink()
    resumed = deblur_files_on_ray(plan, "local", 2, SETTINGS, batch_size=16)
    assert sorted(resumed.written) == sorted(job.target for job in redo) and len(resumed.kept) == 57
    assert not resumed.failed
    rewritten = atomic_writes(ray_cluster) - writes
    assert sorted(rewritten) == sorted(str(job.target) for job in redo) and set(rewritten.values()) == {1}
