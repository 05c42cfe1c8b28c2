"""Files that appear whole or not at all: write to a temporary name beside the target, then rename.

A full disk, a crash or Ctrl-C while writing leaves the previous file (or none) in place, never a
half-written one, because `os.replace` within one folder is atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(destination: str | Path) -> Iterator[Path]:
    """A temporary path to write; it becomes `destination` when the block ends without an error."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=f".partial{destination.suffix}", dir=destination.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~_umask())  # mkstemp makes 0600; a plain open() would honour the umask
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


_UMASK_LOCK = threading.Lock()


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
