"""What dead servers leave: their folders and shared-memory regions go at the next start, a live owner's stay."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from golf_rt.triton.workdirs import OWNER_FILE, PREFIX, SHM_DIR, make_workdir, remove_dead_leftovers, shm_prefix


def _folder(temp: Path, name: str, owner: str | None, age_s: float = 0.0) -> Path:
    folder = temp / f"{PREFIX}{name}"
    (folder / "backends").mkdir(parents=True)
    if owner is not None:
        (folder / OWNER_FILE).write_text(owner)
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


def _dead_owner() -> str:
    """The `owner` line of a process that ran and has exited."""
    process = subprocess.Popen(["sleep", "60"])
    started = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    process.kill()
    process.wait()
    return f"{process.pid} {started}\n"


def test_folders_of_dead_owners_go_with_their_regions_and_live_ones_stay(tmp_path: Path) -> None:
    dead = _folder(tmp_path, "dead1234", _dead_owner())
    region = SHM_DIR / f"{shm_prefix(dead)}test_{os.getpid()}"
    region.write_bytes(b"left by a killed server")
    try:
        mine = make_workdir(tmp_path)  # this process's
        reused = _folder(tmp_path, "reused12", f"{os.getpid()} 1\n")  # this pid, but another start time
        unmarked_old = _folder(tmp_path, "oldgolf1", None, age_s=3600)  # an older golf-rt's, nothing runs it
        unmarked_new = _folder(tmp_path, "making12", None)  # being made right now
        removed = remove_dead_leftovers(tmp_path)
        assert sorted(removed) == sorted([dead, reused, unmarked_old])
        assert not dead.exists() and not region.exists() and not reused.exists() and not unmarked_old.exists()
        assert mine.is_dir() and unmarked_new.is_dir()
    finally:
        region.unlink(missing_ok=True)
