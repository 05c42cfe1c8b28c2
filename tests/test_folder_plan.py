"""`plan_folder`: the one plan of a folder run, its inputs walked once, for `golf-rt deblur` here and on Ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golf_rt.deblur.folder import COMPARE_SUFFIX, plan_folder
from golf_rt.errors import InvalidImageError
from golf_rt.images.files import save_image


def _folder(tmp_path: Path) -> Path:
    inputs = tmp_path / "in"
    pixels = np.zeros((8, 8, 3), np.uint8)
    for name in ("a.png", "b.jpg", "sub/c.png", ".hidden/d.png"):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        save_image(inputs / name, pixels)
    (inputs / "notes.txt").write_text("not an image")
    (inputs / "sub" / "e.gif").write_bytes(b"GIF89a")
    return inputs


def test_one_walk_gives_jobs_skipped_files_and_unsearched_folders(tmp_path, monkeypatch):
    inputs = _folder(tmp_path)
    walks: list[Path] = []
    iterdir = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: walks.append(self) or iterdir(self))
    plan = plan_folder([inputs], tmp_path / "out", compare=True)
    assert walks == [inputs]
    assert [job.source.name for job in plan.jobs] == ["a.png", "b.jpg"] and not plan.kept
    assert plan.jobs[0].compare == tmp_path / "out" / f"a{COMPARE_SUFFIX}"
    assert [path.name for path, _ in plan.skipped] == ["notes.txt"] and plan.unsearched == [inputs / "sub"]

    deep = plan_folder([inputs], inputs / "sharp", recursive=True)
    assert [job.target for job in deep.jobs] == [inputs / "sharp" / n for n in ("a.png", "b.jpg", "sub/c.png")]
    assert [path.name for path, _ in deep.skipped] == ["notes.txt", "e.gif"] and not deep.unsearched


def test_results_in_place_are_kept_unless_overwrite(tmp_path):
    inputs = _folder(tmp_path)
    output = tmp_path / "out"
    plan = plan_folder([inputs], output)
    plan.prepare_output()
    save_image(plan.jobs[0].target, np.zeros((8, 8, 3), np.uint8))
    again = plan_folder([inputs], output)
    assert [job.source.name for job in again.kept] == ["a.png"] and [j.source.name for j in again.jobs] == ["b.jpg"]
    redo = plan_folder([inputs], output, overwrite=True)
    assert len(redo.jobs) == 2 and not redo.kept and redo.overwrite


def test_an_input_that_is_missing_or_not_writable_back_is_refused(tmp_path):
    with pytest.raises(InvalidImageError, match="no such file or folder"):
        plan_folder([tmp_path / "missing"], tmp_path / "out")
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    with pytest.raises(InvalidImageError, match="convert it to PNG first"):
        plan_folder([tmp_path / "x.gif"], tmp_path / "out")


def test_a_result_is_counted_as_soon_as_it_is_written_not_when_the_queue_drains(tmp_path):
    """The progress bar lagged by the number of writers: a result counted only when later ones pushed it out."""
    import threading

    from golf_rt.deblur.folder import deblur_files

    inputs = _folder(tmp_path)
    plan = plan_folder([inputs], tmp_path / "out")
    plan.prepare_output()
    first_counted = threading.Event()
    calls: list[int] = []

    def deblur_photo(photo):
        calls.append(1)
        if len(calls) == 2:  # the second image waits until the first one's result is counted
            assert first_counted.wait(10), "the first result was written but not counted"
        return photo.pixels

    counted: list[bool] = []

    def on_done():
        counted.append(plan.jobs[len(counted)].target.is_file())
        first_counted.set()

    summary = deblur_files(deblur_photo, plan.jobs, workers=2, on_done=on_done)
    assert len(summary.written) == 2 and not summary.failed
    assert counted == [True, True], "each count comes once its result is on disk"
