"""What keeps the daemon's memory flat over a day of enrollments: closed enrollments leave no
objects behind in the daemon, and glibc gives freed image memory back to the system
(``station.malloc``; the figure itself is the bench row ``daemon.rss_after_200_mb``)."""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys

import pytest

from capture.enrollment import Enrollment, ExceptionMark, Sample
from simulator.demo import Operator, Visit
from station.client import StationClient
from station.v1 import records_pb2

# Run in a fresh interpreter: eight threads allocate, then glibc reports its arenas
# (malloc_info's <heap> elements) and whether a 512 KiB block freed after a 1 MiB one is
# mmapped (mallinfo2's hblks): with the dynamic threshold it comes from an arena instead.
MALLOC_PROBE = """
import ctypes, json, sys, threading

if sys.argv[1] == "tuned":
    from station.malloc import return_freed_memory
    return_freed_memory()

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]


class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


libc.mallinfo2.restype = Mallinfo2
barrier = threading.Barrier(8)


def allocate():
    block = libc.malloc(4096)
    barrier.wait(10)
    libc.free(block)


threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(10)

libc.free(libc.malloc(1 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(512 << 10)
mmapped = libc.mallinfo2().hblks > before
libc.free(block)

report = sys.argv[2].encode()
stream = libc.fopen(report, b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
heaps = open(report).read().count("<heap nr=")
print(json.dumps({"heaps": heaps, "mmapped": mmapped}))
"""


def malloc_probe(mode: str, report: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", MALLOC_PROBE, mode, report],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc settings")
def test_freed_image_memory_goes_back_to_the_system(tmp_path):
    default = malloc_probe("default", str(tmp_path / "default.xml"))
    tuned = malloc_probe("tuned", str(tmp_path / "tuned.xml"))
    # glibc's defaults: an arena per allocating thread; a large block after a larger one was
    # freed is carved from an arena, where it fragments.
    assert default["heaps"] > 2 and not default["mmapped"]
    # The daemon's settings: two arenas; every block of 128 KiB or more is its own mapping.
    assert tuned == {"heaps": 2, "mmapped": True}


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


def test_sealed_enrollments_leave_no_enrollment_sample_or_exception_in_the_daemon(station):
    supervisor = StationClient(station.address, station.supervisor_token)
    operator = Operator(station.client(), supervisor, report=lambda _line: None)
    visits = [
        Visit(f"memory-{seed}", kind, seed, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
        for kind, seed in (("adult", 9101), ("amputee", 9102), ("adult", 9103))
    ]
    try:
        for visit in visits:
            station.present(visit.kind, visit.seed)
            operator.enroll(visit, {})
            assert visit.record_id
    finally:
        operator.client.close()
        supervisor.close()
    assert visits[1].exceptions > 0  # the amputee's missing fingers were marked
    assert station.daemon.outbox.get(visits[-1].record_id) is not None
    assert [alive(kind) for kind in (Enrollment, Sample, ExceptionMark)] == [0, 0, 0]
