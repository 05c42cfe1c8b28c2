"""A server's temporary folder, marked with its owner, and the removal of what servers leave behind.

Each `TritonServer` start makes a folder `golf-rt-triton-*` in the temporary folder (the Python
backend copied for this interpreter) and names its shared-memory regions in /dev/shm after it.
Its owner removes both on stop; an owner killed with SIGKILL cannot. So the folder holds an
`owner` file (the process id and its start time, which tells a live owner from a reused pid),
and every start first removes the folders whose owner is dead, with their regions. The process
scan that finds a server's backend stubs and the pruning of old server logs live here too: both
read or clean what a server leaves on this machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

LOGGER = logging.getLogger(__name__)

PREFIX = "golf-rt-triton-"
OWNER_FILE = "owner"
SHM_DIR = Path("/dev/shm")
UNMARKED_GRACE_S = 60.0
"""A folder without an owner file (an older golf-rt's, or one being made) is left alone this long."""


def _start_time(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), or None when it is not running."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def make_workdir(temp_dir: str | Path | None = None) -> Path:
    """A new server folder in the temporary folder (or `temp_dir`), marked as this process's."""
    workdir = Path(tempfile.mkdtemp(prefix=PREFIX, dir=temp_dir))
    (workdir / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    return workdir


def shm_prefix(workdir: Path) -> str:
    """The prefix of the shared-memory regions of the server that runs from `workdir`."""
    return f"golf_rt_{workdir.name.rsplit('-', 1)[-1]}_"


def _mentioned_by_a_process(workdir: Path) -> bool:
    """Whether a live process names the folder on its command line (a server started by an older golf-rt)."""
    needle = str(workdir).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if needle in cmdline.read_bytes():
                return True
    return False


def _owner_alive(workdir: Path) -> bool:
    try:
        pid, started = (workdir / OWNER_FILE).read_text().split()
        return _start_time(int(pid)) == started
    except (OSError, ValueError):  # no owner file: an older golf-rt's folder, or one being made right now
        try:
            young = time.time() - workdir.stat().st_mtime < UNMARKED_GRACE_S
        except OSError:
            return True
        return young or _mentioned_by_a_process(workdir)


def remove_dead_leftovers(temp_dir: str | Path | None = None) -> list[Path]:
    """Remove the server folders (and their shared-memory regions) whose owner process is dead; return them.

    Only this user's folders are looked at; a live owner's folder is left to its owner.
    """
    removed = []
    for workdir in sorted(Path(temp_dir or tempfile.gettempdir()).glob(f"{PREFIX}*")):
        try:
            if not workdir.is_dir() or workdir.is_symlink() or workdir.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _owner_alive(workdir):
            continue
        remove_regions(shared_memory_regions(shm_prefix(workdir)))
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    if removed:
        LOGGER.info("removed what %d dead servers left: %s", len(removed), ", ".join(map(str, removed)))
    return removed


def process_group_members(pgid: int) -> list[int]:
    """The live processes of group `pgid` (zombies waiting to be reaped do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def process_group_running(pgid: int) -> bool:
    """True while any process of group `pgid` is alive (zombies waiting to be reaped do not count)."""
    return bool(process_group_members(pgid))


def shared_memory_regions(prefix: str) -> list[Path]:
    """The regions in /dev/shm whose names start with `prefix` (none for an empty prefix)."""
    return sorted(SHM_DIR.glob(f"{prefix}*")) if prefix else []


def remove_regions(regions: list[Path]) -> None:
    """Unlink shared-memory regions; one already gone is fine."""
    for region in regions:
        with contextlib.suppress(FileNotFoundError):
            region.unlink()


def prune_logs(folder: Path, keep: int) -> None:
    """Remove all but the newest `keep` server logs in `folder`."""
    logs = sorted(folder.glob("tritonserver-*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in logs[keep:]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
