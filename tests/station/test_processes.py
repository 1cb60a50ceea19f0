"""Processes the demo and tests start end with whoever started them, even when it is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import json, sys, time
from pathlib import Path
from station.processes import spawn_rekam, wait_for_json
work = Path(sys.argv[1])
centre = spawn_rekam(
    ["sim", "center", "--port", "0", "--plain-http", "--data-dir", str(work / "centre"),
     "--ready-file", str(work / "centre.json")],
    work / "centre.log",
)
wait_for_json(work / "centre.json", centre, 60)
(work / "child.pid").write_text(str(centre.pid))
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return status != "Z"


def test_a_killed_parent_leaves_no_centre_behind(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "child.pid").exists() and time.monotonic() < deadline:
            assert parent.poll() is None, "the parent ended before its child was ready"
            time.sleep(0.1)
        child = int((tmp_path / "child.pid").read_text())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)  # what a test's timeout does to a demo
        parent.wait(10)
        deadline = time.monotonic() + 20
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the centre outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
        pid_file = tmp_path / "child.pid"
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert json.loads((tmp_path / "centre.json").read_text())["url"]
