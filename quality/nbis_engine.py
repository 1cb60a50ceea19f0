"""The one door to NBIS (``nbis-python``: MINDTCT, Bozorth3, NFIQ 2). Its C code keeps static
state, so every call, from any module, goes through ``NBIS_LOCK``."""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NBIS_LOCK = threading.Lock()

MADV_DONTNEED = 4  # madvise(2), asm-generic/mman-common.h


@cache
def extractor(*, compute_nfiq2: bool, ppi: float | None) -> Any:
    """An NBIS extractor with these settings (made once); call it only under ``NBIS_LOCK``."""
    import nbis

    settings = nbis.NbisExtractorSettings(
        min_quality=0.0,
        get_center=False,
        check_fingerprint=False,
        compute_nfiq2=compute_nfiq2,
        ppi=ppi,
    )
    made = nbis.new_nbis_extractor(settings)
    release_embedded_model()  # each new extractor reads the embedded model again
    return made


def library_path() -> Path:
    """nbis-python's shared library."""
    import nbis

    return (Path(nbis.__file__).parent / "nbis" / "libnbis.so").resolve()


def mappings(path: Path) -> list[dict[str, str]]:
    """This process's mappings of ``path``, with their /proc/self/smaps fields."""
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and ":" not in head[0]:  # a mapping's first line
                current = None
                if len(head) >= 6 and head[5] == str(path):
                    current = {"range": head[0], "perms": head[1], "offset": head[2]}
                    found.append(current)
            elif current is not None and ":" in line:
                key, value = line.split(":", 1)
                current[key] = value.strip()
    return found


def release_embedded_model() -> int:
    """Give back the pages of nbis-python's library that hold NFIQ 2's embedded model.

    NFIQ 2 keeps its random forest in the library as 27 MB of base64 text, which every new
    extractor reads and decodes; those pages then stay in the process (as file-backed RSS)
    although nothing reads them until the next extractor is made. This unmaps the library's
    read-only data mappings that hold only clean file pages (never its code, and never the
    relocated, copy-on-write ones) and asks the kernel to drop them from the page cache. Were
    they read again, they would be faulted back in from the file, unchanged. Returns the bytes
    released; 0 where this cannot be done."""
    try:
        path = library_path()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        released = 0
        for mapping in mappings(path):
            clean = mapping.get("Anonymous") == "0 kB" and mapping.get("Private_Dirty") == "0 kB"
            if mapping["perms"] != "r--p" or not clean:
                continue
            start, end = (int(edge, 16) for edge in mapping["range"].split("-"))
            if libc.madvise(start, end - start, MADV_DONTNEED) != 0:
                continue
            released += end - start
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(
                    descriptor, int(mapping["offset"], 16), end - start, os.POSIX_FADV_DONTNEED
                )
            finally:
                os.close(descriptor)
        return released
    except (OSError, ImportError, AttributeError, ValueError) as exc:
        log.debug("NBIS library pages kept: %s", exc)
        return 0
