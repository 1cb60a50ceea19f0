"""A simulated Wacom ISDV4 signature pad over a pty: replays a resident's signature strokes."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from drivers.isdv4 import (
    CMD_QUERY,
    CMD_START,
    CMD_STOP,
    PenReport,
    QueryReply,
    encode_pen_packet,
    encode_query_reply,
)
from simulator.devices.serial_link import SerialDeviceSimulator

Strokes = list[list[tuple[float, float, float]]]
StrokeSource = Callable[[], Strokes]

ISDV4_FAULTS = (
    "no_pen",  # the resident never touches the pad
    "unplug_mid_signature",  # after_packets=<pen packets sent before the cable is pulled>
    "silent",  # the pad answers nothing (dead firmware)
    "slow_link",  # baudrate=<the line's real speed>: reports arrive late and bunched
)

_HOVER_SAMPLES_BETWEEN_STROKES = 12
_HOVER_SAMPLES_AFTER = 4


def replay_reports(strokes: Strokes, query: QueryReply) -> list[PenReport]:
    """Pen reports for ``strokes`` (unit coordinates): strokes, hovers between, proximity out."""
    reports: list[PenReport] = []

    def to_device(x: float, y: float, pressure: float, tip: bool) -> PenReport:
        return PenReport(
            x=round(min(max(x, 0.0), 1.0) * query.max_x),
            y=round(min(max(y, 0.0), 1.0) * query.max_y),
            pressure=round(min(max(pressure, 0.0), 1.0) * query.max_pressure) if tip else 0,
            proximity=True,
            tip=tip,
        )

    drawn = [stroke for stroke in strokes if stroke]
    for index, stroke in enumerate(drawn):
        for x, y, pressure in stroke:
            reports.append(to_device(x, y, pressure, tip=True))
        last_x, last_y, _ = stroke[-1]
        if index + 1 < len(drawn):
            next_x, next_y, _ = drawn[index + 1][0]
            for step in range(1, _HOVER_SAMPLES_BETWEEN_STROKES + 1):
                fraction = step / (_HOVER_SAMPLES_BETWEEN_STROKES + 1)
                reports.append(
                    to_device(
                        last_x + (next_x - last_x) * fraction,
                        last_y + (next_y - last_y) * fraction,
                        0.0,
                        tip=False,
                    )
                )
        else:
            reports.extend(to_device(last_x, last_y, 0.0, tip=False) for _ in range(4))
            away = to_device(last_x, last_y, 0.0, tip=False)
            reports.append(PenReport(x=away.x, y=away.y, pressure=0, proximity=False, tip=False))
    return reports


class SimulatedIsdv4Pad(SerialDeviceSimulator):
    """The pad side of ISDV4. ``arm()`` makes the resident sign: the strokes from
    ``stroke_source`` are replayed at ``rate_hz`` x ``speed`` once the host starts sampling."""

    name = "isdv4"

    def __init__(
        self,
        stroke_source: StrokeSource,
        *,
        link_path: str | os.PathLike[str] | None = None,
        baudrate: int = 38400,
        pace: bool = False,
        query: QueryReply | None = None,
        rate_hz: float = 133.0,
        speed: float = 1.0,
        lead_in_s: float = 0.05,
    ) -> None:
        super().__init__(link_path=link_path, baudrate=baudrate, pace=pace)
        self.stroke_source = stroke_source
        self.query = query or QueryReply(max_x=15360, max_y=9600, max_pressure=1023, version=20)
        self.rate_hz = rate_hz
        self.speed = speed
        self.lead_in_s = lead_in_s
        self.sampling = False
        self.armed = False
        self.packets_sent = 0
        self.last_replay: list[PenReport] = []
        self._queue: deque[bytes] = deque()
        self._next_due = 0.0

    def set_fault(self, name: str, **params: Any) -> None:
        if name not in ISDV4_FAULTS:
            raise ValueError(f"unknown isdv4 fault {name!r}; known: {', '.join(ISDV4_FAULTS)}")
        with self.state_lock:
            self.faults[name] = dict(params)

    def clear_faults(self) -> None:
        with self.state_lock:
            self.faults.clear()

    def arm(self) -> None:
        """The resident picks up the pen: sign as soon as (or once) the host samples."""
        with self.state_lock:
            self.armed = True
            self._queue.clear()

    def on_connect(self) -> None:
        self.sampling = False
        self._queue.clear()

    def on_bytes(self, data: bytes) -> None:
        if "silent" in self.faults:
            return
        for byte in data:
            command = bytes([byte])
            if command == CMD_QUERY:
                self.send(encode_query_reply(self.query))
            elif command == CMD_START:
                self.sampling = True
            elif command == CMD_STOP:
                self.sampling = False
                self._queue.clear()

    def on_idle(self) -> None:
        if not self.sampling:
            return
        if self.armed and not self._queue:
            self.armed = False
            strokes = [] if "no_pen" in self.faults else self.stroke_source()
            self.last_replay = replay_reports(strokes, self.query) if strokes else []
            self._queue = deque(encode_pen_packet(report) for report in self.last_replay)
            self._next_due = time.monotonic() + self.lead_in_s
            return
        period = 1.0 / (self.rate_hz * self.speed)
        now = time.monotonic()
        burst = bytearray()
        while self._queue and self._next_due <= now:
            burst += self._queue.popleft()
            self._next_due += period
            self.packets_sent += 1
            unplug = self.faults.get("unplug_mid_signature")
            if unplug is not None and self.packets_sent >= int(unplug.get("after_packets", 50)):
                del self.faults["unplug_mid_signature"]
                self.send(bytes(burst))
                self.disconnect_from_inside()
        if burst:
            self.send(bytes(burst))
