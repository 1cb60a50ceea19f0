"""Where a USB bundle may be written: only below a configured removable-media root, never
through a symbolic link, never into a system path.

The destination is walked from ``/`` one component at a time with ``O_NOFOLLOW | O_DIRECTORY``
relative to the directory opened before it (openat(2)), so no component may be a link, and the
bundle is then written through ``/proc/self/fd/N`` of the directory that was checked: swapping a
folder for a link after the check does not redirect the write.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Never an export root nor below one: the system's own folders.
SYSTEM_PATHS = tuple(
    PurePosixPath(p)
    for p in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/sbin",
        "/srv",
        "/sys",
        "/usr",
        "/var",
    )
)


class ExportPathRefused(ValueError):
    """The destination is not a folder a bundle may be written to; ``reason`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _is_below(path: PurePosixPath, parent: PurePosixPath) -> bool:
    return path != parent and path.is_relative_to(parent)


def refuse_system_root(root: Path) -> None:
    """Raise ValueError for an export root that is relative, ``/``, or a system path."""
    pure = PurePosixPath(root)
    if not pure.is_absolute() or ".." in pure.parts or pure == PurePosixPath("/"):
        raise ValueError(f"{root} must be an absolute folder other than /")
    if any(pure == system or _is_below(pure, system) for system in SYSTEM_PATHS):
        raise ValueError(f"{root} is a system path; name the removable-media mount point")


@dataclass
class ExportFolder:
    """An open, checked destination folder; ``path`` writes through the open descriptor."""

    fd: int
    requested: str

    @property
    def path(self) -> Path:
        return Path(f"/proc/self/fd/{self.fd}")

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> ExportFolder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_export_folder(destination: str, roots: list[Path]) -> ExportFolder:
    """Open ``destination`` for writing a bundle, or raise ExportPathRefused:
    EXPORT_OUTSIDE_ROOTS (not strictly below a configured root, or a system path) or
    EXPORT_SYMLINK (a component is a link or not a folder), EXPORT_DESTINATION_INVALID (a
    component is missing or cannot be opened)."""
    pure = PurePosixPath(destination)
    if not pure.is_absolute() or any(part in ("..", ".") for part in destination.split("/")):
        raise ExportPathRefused("EXPORT_OUTSIDE_ROOTS", f"{destination!r} is not a plain path")
    if not any(_is_below(pure, PurePosixPath(root)) for root in roots) or any(
        pure == system or _is_below(pure, system) for system in SYSTEM_PATHS
    ):
        raise ExportPathRefused("EXPORT_OUTSIDE_ROOTS", f"{destination!r} is below no root")
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in pure.parts[1:]:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:  # ELOOP / ENOTDIR: a link or a file; else absent
                linked = exc.errno in (errno.ELOOP, errno.ENOTDIR)
                reason = "EXPORT_SYMLINK" if linked else "EXPORT_DESTINATION_INVALID"
                raise ExportPathRefused(reason, f"{part!r}: {exc.strerror}") from exc
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return ExportFolder(fd, destination)
