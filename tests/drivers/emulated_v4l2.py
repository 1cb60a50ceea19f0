"""An emulated V4L2 camera for tests: the LD_PRELOAD shim (tests/v4l2_shim/v4l2_shim.c), its
configuration and frame files, and a child process that runs a camera driver against it.

OpenCV must load after the shim, so drivers run in a child (tests/v4l2_shim/probe.py) started
with LD_PRELOAD; the shim's log file tells which format was streamed, which controls were set
and, for every dequeued buffer, its sequence number next to the newest frame produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHIM_SOURCE = REPO / "tests" / "v4l2_shim" / "v4l2_shim.c"
PROBE = REPO / "tests" / "v4l2_shim" / "probe.py"
FRAMES = 30  # distinct frames per mode, served in a loop
PROBE_TIMEOUT_S = 60


def build_shim(directory: Path) -> Path:
    """Compile the shim with the system C compiler."""
    library = directory / "v4l2_shim.so"
    subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-o",
            str(library),
            str(SHIM_SOURCE),
            "-ldl",
            "-lpthread",
        ],
        check=True,
        timeout=120,
    )
    return library


def frame_level(number: int) -> int:
    """The grey level of frame ``number`` (frames are flat, so a level names a frame)."""
    return 20 + 7 * (number % FRAMES)


def frame_number(level: float) -> int:
    """Which of the FRAMES distinct frames a decoded grey level is."""
    return round((level - 20) / 7)


@dataclass(frozen=True)
class Mode:
    fourcc: str
    width: int
    height: int
    rates: tuple[int, ...] = (30,)


@dataclass
class EmulatedCamera:
    """One emulated device: where it opens, what it offers, which controls it has."""

    root: Path
    shim: Path
    paths: list[str]
    modes: list[Mode]
    controls: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    card: str = "Rekam Emulated Camera"

    @property
    def log(self) -> Path:
        return self.root / "shim.log"

    @property
    def config(self) -> Path:
        return self.root / "shim.conf"

    def write(self) -> None:
        """Write the configuration and the frames of every mode."""
        lines = ["device", f"card {self.card}", f"frames {self.root / 'frames'}", f"log {self.log}"]
        lines += [f"path {path}" for path in self.paths]
        for mode in self.modes:
            rates = " ".join(str(rate) for rate in mode.rates)
            lines.append(f"format {mode.fourcc} {mode.width} {mode.height} {rates}")
            self._write_frames(mode)
        for name, (low, high, step, default) in self.controls.items():
            lines.append(f"control {name} {low} {high} {step} {default}")
        self.config.write_text("\n".join(lines) + "\n")

    def _write_frames(self, mode: Mode) -> None:
        folder = self.root / "frames" / f"{mode.fourcc}-{mode.width}x{mode.height}"
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(FRAMES):
            bgr = np.full((mode.height, mode.width, 3), frame_level(number), dtype=np.uint8)
            if mode.fourcc == "MJPG":
                ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
                assert ok
                (folder / f"{number:03d}.jpg").write_bytes(data.tobytes())
            else:  # YUYV: Y0 U Y1 V for every pair of pixels
                raw = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUY2)
                (folder / f"{number:03d}.raw").write_bytes(raw.tobytes())

    def run(self, driver: str, port: str, stalls: tuple[float, ...] = (0.0,), **options) -> dict:
        """Open ``driver`` on ``port`` in a child process with the shim preloaded; capture once
        after each stall; return what the probe saw, and the child's stderr."""
        self.write()
        self.log.unlink(missing_ok=True)
        request = {
            "spec": {"id": f"{driver}-0", "driver": driver, "port": port, "options": options},
            "stalls": list(stalls),
        }
        environment = dict(
            os.environ,
            LD_PRELOAD=str(self.shim),
            V4L2SHIM_CONFIG=str(self.config),
            PYTHONPATH=str(REPO),
        )
        done = subprocess.run(
            [sys.executable, str(PROBE), json.dumps(request)],
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO,
            timeout=PROBE_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        seen["stderr"] = done.stderr  # the driver's log warnings and OpenCV's own messages
        return seen

    def log_lines(self, kind: str) -> list[list[str]]:
        """The shim's log lines of one kind ("S_CTRL", "STREAMON", "DQBUF"...), split."""
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [line.split()[1:] for line in lines if line.split()[0] == kind]
