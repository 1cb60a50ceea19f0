"""Durable file writes: after a crash a file holds its old content or the whole new one.

A write goes to a temporary ``.<name>.<pid>.<thread>.tmp`` beside the file, is fsynced, renamed
over the file, and the directory is fsynced. The temporary's name says which process wrote it,
so a reader can tell a crashed writer's leftovers from a live writer's work.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, mode: int = 0o600) -> None:
    """temp file (created with ``mode``) -> write -> fsync -> rename -> fsync directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # exactly ``mode``, whatever the umask
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def writer_alive(temporary: Path) -> bool:
    """Whether the process named in ``.<file>.<pid>.<thread>.tmp`` may still be writing it.

    A temporary carrying this process's own pid is another writer's in this process unless it
    is over a minute old (a previous process that had the same pid, as in containers).
    """
    try:
        pid = int(temporary.name.split(".")[-3])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        try:
            return time.time() - temporary.stat().st_mtime < 60
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
