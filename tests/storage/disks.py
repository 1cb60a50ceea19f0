"""Real failing storage for tests: a tmpfs of fixed size mounted under the test's folder,
filled up for real (the kernel answers ENOSPC), and emptied again.

Mounting needs root (CI runs as root); elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FILLER = ".filler"
CHUNK = 64 * 1024


@contextmanager
def small_disk(where: Path, size_mb: int = 16) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` MiB mounted at ``where``, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave_bytes: int = 0) -> int:
    """Write a filler file until the disk refuses (ENOSPC), then give back ``leave_bytes``.
    Returns the filler's size."""
    path = disk / FILLER
    written = 0
    # Unbuffered: a refused write leaves nothing pending for the close to fail on.
    with path.open("ab", buffering=0) as filler:
        chunk = b"\0" * CHUNK
        for _ in range(1 << 20):  # bounded: 64 GiB at most
            try:
                filler.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
            written += CHUNK
    size = path.stat().st_size
    if leave_bytes:
        os.truncate(path, max(0, size - leave_bytes))
    return size


def free_bytes(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


def empty(disk: Path) -> None:
    """Remove the filler: the disk has room again."""
    (disk / FILLER).unlink(missing_ok=True)
