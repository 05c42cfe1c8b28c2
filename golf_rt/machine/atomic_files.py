"""Files that appear whole or not at all: write to a temporary name beside the target, then rename.

A full disk, a crash or Ctrl-C while writing leaves the previous file (or none) in place, never a
half-written one, because `os.replace` within one folder is atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from golf_rt.errors import OutputError

WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})
"""What the place written to does (full, read-only, forbidden), as opposed to a bug of ours."""
_UMASK_LOCK = threading.Lock()
_PARTIAL = ".partial"
logger = logging.getLogger(__name__)


def writable_folder(folder: str | Path) -> Path:
    """`folder` if results can be written there, checked before any work and leaving nothing behind.

    An existing folder gets a probe file; a missing one is checked at its nearest existing parent
    (a probe folder there), and made later by whoever writes into it. Else OutputError.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder; choose a folder for the results")
    existing = next((p for p in (folder, *folder.absolute().parents) if p.exists()), Path("/"))
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a folder")
        os.rmdir(tempfile.mkdtemp(prefix=".golf-rt-probe-", dir=existing))
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write results there ({exc.strerror or exc})") from exc
    return folder


@contextlib.contextmanager
def atomic_path(destination: str | Path) -> Iterator[Path]:
    """A temporary path to write; it becomes `destination` when the block ends without an error.

    The folder being missing, read-only or full becomes an OutputError naming `destination`.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=f"{_PARTIAL}{destination.suffix}", dir=destination.parent
        )
    except OSError as exc:
        raise OutputError(f"cannot write {destination} ({exc.strerror or exc})") from exc
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp makes 0600; a plain open() would honour the umask
        os.replace(temporary, destination)
        logger.debug("wrote %s", destination)
    except OSError as exc:
        if exc.errno not in WRITE_FAILURES:
            raise
        raise OutputError(f"cannot write {destination} ({exc.strerror or exc}); nothing was written") from exc
    finally:
        temporary.unlink(missing_ok=True)


def remove_temporaries(destinations: Iterable[str | Path]) -> int:
    """Remove the temporary files that writers killed mid-write left beside `destinations`; how many.

    A process killed outright (SIGKILL, a lost machine) runs no `finally`, so its temporary file
    stays; the destination itself is untouched. Only names `atomic_path` gives for one of
    `destinations` are removed, each folder listed once; call it when no writer of them is running.
    """
    names: dict[Path, set[str]] = defaultdict(set)
    for destination in destinations:
        names[Path(destination).parent].add(Path(destination).name)
    removed = 0
    for folder, wanted in names.items():
        try:
            entries = [entry.name for entry in os.scandir(folder)]
        except OSError:
            continue
        for name in entries:
            head, partial, suffix = name[1:].rpartition(_PARTIAL)
            target = head.rpartition(".")[0]
            if name.startswith(".") and partial and target in wanted and Path(target).suffix == suffix:
                (folder / name).unlink(missing_ok=True)
                removed += 1
    return removed


def _umask() -> int:
    """The process's umask; read by setting it, so one thread at a time (image writers run in threads)."""
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def write_bytes_atomically(destination: str | Path, data: bytes) -> Path:
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)
    return Path(destination)
