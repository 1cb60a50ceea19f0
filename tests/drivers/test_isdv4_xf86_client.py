"""The simulated ISDV4 pads against an ISDV4 host Rekam did not write.

``isdv4-serial-debugger`` ships with xf86-input-wacom (Debian: xserver-xorg-input-wacom). It
opens the line at its own speed, stops the pad, waits 250 ms, queries (``*`` and ``%``),
starts sampling and prints every packet as xf86's ``isdv4.h`` parses it. Run against the
simulated pads over a real pty, its view of the query replies, pen and touch packets must be
the model's. The pty does not answer TIOCGSERIAL, so a small LD_PRELOAD shim does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.devices.isdv4 import (
    PEN_AND_TOUCH_38400,
    PEN_ONLY_19200,
    Isdv4Model,
    PenState,
    SimulatedIsdv4Pad,
    eraser_states,
)

pytestmark = pytest.mark.timeout(60)

DEBUGGER = "isdv4-serial-debugger"
SHIM_SOURCE = Path(__file__).parent / "shims" / "tiocgserial.c"
PEN_LINE = re.compile(
    r"^PEN\t\d+:\s*(\d+)/\s*(\d+) \| pressure:\s*(\d+) \|\s*(\d+)/\s*(\d+) \|(.) (.) (.) (.) \|$"
)
TOUCH_LINE = re.compile(r"^TOUCH\t\d+:\s*(\d+)/\s*(\d+) \| capacity:\s*(\d+) \| (\d) \|")
# The debugger handles one packet per read(2) and keeps at most 256 bytes: when the pad falls
# silent, up to that many bytes of packets are still waiting in its buffer, unprinted.
UNPRINTED_TAIL = 256 // 9 + 1


@pytest.fixture(scope="module")
def shim(tmp_path_factory) -> str:
    debugger = shutil.which(DEBUGGER)
    compiler = shutil.which("gcc")
    if not debugger or not compiler:
        raise RuntimeError(
            f"{DEBUGGER} (Debian xserver-xorg-input-wacom) and gcc are needed: make system"
        )
    library = tmp_path_factory.mktemp("isdv4-shim") / "tiocgserial.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(SHIM_SOURCE), "-ldl"], check=True
    )
    return str(library)


class DebuggerRun:
    """isdv4-serial-debugger on ``port`` at ``baudrate``; its output lines as they come."""

    def __init__(self, shim: str, port: str, baudrate: int) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            ["stdbuf", "-oL", DEBUGGER, "-b", str(baudrate), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "LD_PRELOAD": shim},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(list(self.lines)):
                    return True
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        with self._lock:
            return predicate(list(self.lines))

    def stop(self) -> list[str]:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return list(self.lines)


@pytest.fixture
def run_debugger(shim) -> Iterator:
    runs: list[DebuggerRun] = []
    sims: list[SimulatedIsdv4Pad] = []

    def start(model: Isdv4Model, baudrate: int, **faults) -> tuple[SimulatedIsdv4Pad, DebuggerRun]:
        sim = SimulatedIsdv4Pad(_scribble, model=model, speed=4.0)
        for name, params in faults.items():
            sim.set_fault(name, **params)
        sim.start()
        sims.append(sim)
        runs.append(DebuggerRun(shim, sim.port, baudrate))
        return sim, runs[-1]

    yield start
    for run in runs:
        run.stop()
    for sim in sims:
        sim.stop()


def _scribble() -> list[list[tuple[float, float, float]]]:
    first = [(0.1 + 0.006 * i, 0.4 + 0.002 * i, 0.3 + 0.005 * i) for i in range(120)]
    second = [(0.8, 0.2 + 0.01 * i, 0.7) for i in range(40)]
    return [first, second]


def _wait_for_pen_lines(debugger: DebuggerRun, sent: int) -> None:
    """Until all but the unprinted tail of ``sent`` packets are printed, and a little more."""
    debugger.wait_for(lambda lines: len(_pen_lines(lines)) >= sent - UNPRINTED_TAIL, timeout=10)
    time.sleep(0.3)


def _queried(lines: list[str]) -> bool:
    return any(line.startswith("TOUCH: sensor id") for line in lines)


def _pen_lines(lines: list[str]) -> list[tuple]:
    found = []
    for line in lines:
        match = PEN_LINE.match(line)
        if match:
            x, y, pressure, tilt_x, tilt_y = (int(v) for v in match.groups()[:5])
            flags = tuple(flag != " " for flag in match.groups()[5:])
            found.append((x, y, pressure, (tilt_x, tilt_y), *flags))
    return found


def _as_printed(state: PenState) -> tuple:
    flags = (state.in_proximity, state.tip, state.side, state.eraser)
    return (state.x, state.y, state.pressure, state.tilt, *flags)


def _query_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("TABLET:", "TOUCH:"))]


def test_xf86_reads_the_pen_only_pad_and_its_eraser(run_debugger) -> None:
    sim, debugger = run_debugger(PEN_ONLY_19200, 19200, eraser={"samples": 10})
    assert debugger.wait_for(_queried, timeout=10), debugger.lines
    assert _query_lines(debugger.lines)[:4] == [
        f"TABLET: version: {PEN_ONLY_19200.version}",
        f"TABLET: x max: {PEN_ONLY_19200.max_x} y max {PEN_ONLY_19200.max_y}",
        "TABLET: tilt_x max: 0 tilt_y max 0",
        f"TABLET: pressure max: {PEN_ONLY_19200.max_pressure}",
    ]
    assert "TOUCH: sensor id: 0" in debugger.lines  # pen only: an empty touch reply
    sim.arm()
    _wait_for_pen_lines(debugger, 13 + 177)  # the eraser's run, then the whole signature
    printed = _pen_lines(debugger.stop())
    expected = [_as_printed(s) for s in eraser_states(PEN_ONLY_19200, 10) + sim.last_replay]
    assert len(expected) == 13 + 177
    assert len(printed) >= len(expected) - UNPRINTED_TAIL
    assert printed == expected[: len(printed)]
    assert printed[1][1] and printed[1][-1]  # eraser touching: "p t   e" in xf86's view


def test_xf86_reads_the_touch_pad_at_38400(run_debugger) -> None:
    sim, debugger = run_debugger(PEN_AND_TOUCH_38400, 38400, palm_touch={"every": 4})
    assert debugger.wait_for(_queried, timeout=10), debugger.lines
    model = PEN_AND_TOUCH_38400
    assert _query_lines(debugger.lines) == [
        f"TABLET: version: {model.version}",
        f"TABLET: x max: {model.max_x} y max {model.max_y}",
        # xf86's isdv4ParseQuery reads byte 7 as tilt y and byte 8 as tilt x (the kernel's
        # parse_pen_data the other way round): equal maxima keep both views the same
        f"TABLET: tilt_x max: {model.max_tilt[1]} tilt_y max {model.max_tilt[0]}",
        f"TABLET: pressure max: {model.max_pressure}",
        f"TOUCH: version: {model.version}",
        f"TOUCH: x max: {model.touch_max[0]} y max {model.touch_max[1]}",
        "TOUCH: panel resolution: 10",
        "TOUCH: capacity resolution: 0",
        f"TOUCH: sensor id: {model.touch_sensor}",
    ]
    sim.arm()
    _wait_for_pen_lines(debugger, 177)
    lines = debugger.stop()
    printed = _pen_lines(lines)
    assert len(printed) >= 177 - UNPRINTED_TAIL
    assert printed == [_as_printed(s) for s in sim.last_replay][: len(printed)]
    touches = [TOUCH_LINE.match(line).groups() for line in lines if TOUCH_LINE.match(line)]
    palm = (str(model.touch_max[0] // 2), str(model.touch_max[1] * 3 // 4), "0", "1")
    assert touches and set(touches) == {palm}


def test_xf86_at_the_wrong_speed_gets_no_answer(run_debugger) -> None:
    _, debugger = run_debugger(PEN_ONLY_19200, 38400)
    debugger.wait_for(lambda lines: False, timeout=3)
    lines = debugger.stop()
    assert not [line for line in lines if line.startswith("TABLET:")]
    assert debugger.process.returncode != 0
