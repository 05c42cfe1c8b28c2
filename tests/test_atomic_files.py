"""Files appear whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from golf_rt.errors import OutputError
from golf_rt.machine.atomic_files import atomic_path, remove_temporaries, writable_folder, write_bytes_atomically


def test_a_finished_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "model.onnx"
    write_bytes_atomically(target, b"old")
    write_bytes_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]


def test_a_failed_write_keeps_the_previous_file_whole(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"good")
    with pytest.raises(OSError, match="disk full"), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise OSError("disk full")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_the_written_file_honours_the_umask_like_a_plain_open(tmp_path):
    previous = os.umask(0o022)
    try:
        write_bytes_atomically(tmp_path / "a.bin", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644


def test_a_full_disk_while_writing_is_an_output_error_and_keeps_the_old_file(tmp_path):
    import errno

    target = tmp_path / "config.pbtxt"
    target.write_bytes(b"good")
    with pytest.raises(OutputError, match=r"\(No space left on device\); nothing was written"):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"ha")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["config.pbtxt"]


def test_a_folder_that_cannot_hold_files_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="/proc/golf-rt-test"):
        writable_folder("/proc/golf-rt-test")
    with pytest.raises(OutputError, match="cannot write /proc/golf-rt-test/a.bin"):
        write_bytes_atomically("/proc/golf-rt-test/a.bin", b"x")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        writable_folder(tmp_path / "file")
    assert writable_folder(tmp_path / "new" / "deep") == tmp_path / "new" / "deep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # checked, nothing made
    with pytest.raises(OutputError, match="is not a folder"):
        writable_folder(tmp_path / "file" / "below")


def test_the_temporaries_of_killed_writers_are_removed_and_nothing_else(tmp_path):
    target, other = tmp_path / "photo.v2.png", tmp_path / "other.png"
    left = []  # what writers killed before their rename leave: atomic_path's temporaries, named as it names them
    for destination in (target, target, other):
        with pytest.raises(KeyboardInterrupt), atomic_path(destination) as temporary:
            left.append(tmp_path / f"left-{temporary.name}")
            os.link(temporary, left[-1])
            raise KeyboardInterrupt
    for path in left:
        path.rename(path.with_name(path.name.removeprefix("left-")))
    unrelated = [
        ".photo.v2.png.notes",
        "photo.v2.png.x.partial.png",
        ".photo.v2.png.x.partial.jpg",
        ".photo.png.partial",
    ]
    for name in unrelated:
        (tmp_path / name).write_bytes(b"keep me")
    target.write_bytes(b"whole")
    assert remove_temporaries([target, tmp_path / "missing" / "x.png"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".other")) == sorted(
        [*unrelated, "photo.v2.png"]
    )
    assert remove_temporaries([other]) == 1
    assert not list(tmp_path.glob(".other*"))
