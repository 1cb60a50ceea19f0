"""A simulated Wacom ISDV4 serial pen digitizer (the signature pad) behind a pty.

Written from the public sources, not from Rekam's driver: the Linux kernel's
``drivers/input/touchscreen/wacom_w8001.c`` (torvalds/linux) and xf86-input-wacom's
``include/isdv4.h``, ``src/wcmISDV4.c`` and ``tools/isdv4-serial-debugger.c``
(linuxwacom/xf86-input-wacom). Byte by byte:

Host commands, one ASCII byte each (isdv4.h ``ISDV4_*``; w8001.c ``W8001_CMD_*``): ``0`` stop
sampling, ``1`` start sampling, ``*`` query the pen, ``%`` query touch. Both hosts send ``0``,
wait 250 ms (w8001_setup ``msleep(250)``; wcmISDV4.c isdv4StopTablet ``wcmWait(250)``), flush,
then query: a pad may not take a query while it is still stopping, and these models drop one
sent sooner than their ``settle_s`` after ``0``.

Line speed (wcmISDV4.c isdv4ParseOptions / isdv4GetRanges): 19200 baud for pen-only sensors
(tablet id 0x90), 38400 for the others; xf86 queries at the configured rate and then at the
other one. A model hears nothing a host sends at the wrong speed (the bytes are garbled on a
real line), so only a host at the model's rate gets answers. On a pty the speed is the one the
host set with tcsetattr, read back from the slave end.

Every packet's first byte has the header bit 0x80; no later byte has it (w8001_interrupt,
wcmSkipInvalidBytes). First-byte bits: 0x40 control (query replies), 0x10 touch data.

Query reply, 11 bytes (isdv4ParseQuery; w8001_setup reads it with parse_pen_data)::

    0  0x80 | 0x40 | data id 0
    1  max_x >> 9        2  (max_x >> 2) & 0x7F
    3  max_y >> 9        4  (max_y >> 2) & 0x7F
    5  max_pressure & 0x7F
    6  (max_x & 3) << 5 | (max_y & 3) << 3 | (max_pressure >> 7) & 7
    7  max tilt x        8  max tilt y          (0 and 0: no tilt)
    9  version >> 7      10 version & 0x7F

Touch query reply, 11 bytes (isdv4ParseTouchQuery; parse_touchquery): byte 0 is 0xC0 | data id
1; 1 panel resolution; 2 sensor id (bits 0-2) and the low two bits of max x (bits 5-6) and
max y (bits 3-4); 3-4 and 5-6 max x and y as in the query; 7 capacity resolution; 9-10
version. "Some non-touch devices may reply to the touch query. But their second byte is empty"
(w8001_setup): the pen-only models answer so.

Pen packet, 9 bytes (parse_pen_data; isdv4ParseCoordinateData): byte 0 is 0x80 | 0x20 in
proximity | 0x04 eraser / second side switch | 0x02 side switch | 0x01 tip (or eraser) touching;
bytes 1-6 carry x, y and pressure as the query reply carries the maxima; 7-8 tilt x and y.
A pen that comes into proximity with 0x04 set is the eraser end; 0x04 appearing while the pen
is already in proximity is its second side switch (report_pen_events' comment; isdv4Parse).
Leaving proximity is one packet with 0x20 clear, then silence.

Touch packets (isdv4ParseTouchData; parse_single_touch): 0x80 | 0x10 | touching, then
x = b1 << 7 | b2 and y = b3 << 7 | b4; 5 bytes for resistive sensors (ids 0 and 2), 7 with
capacity for capacitive ones (1, 3, 4), 13 for two fingers (5).

The sources do not state a report rate; ``report_hz`` is each model's own.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from simulator.devices.serial_link import SerialDeviceSimulator

Strokes = list[list[tuple[float, float, float]]]
StrokeSource = Callable[[], Strokes]

HEADER = 0x80
CONTROL = 0x40
IN_PROXIMITY = 0x20
TOUCH_DATA = 0x10
ERASER_OR_SIDE2 = 0x04
SIDE_SWITCH = 0x02
TIP_DOWN = 0x01

STOP = ord("0")
SAMPLE = ord("1")
QUERY = ord("*")
TOUCH_QUERY = ord("%")

QUERY_DATA_ID = 0x00
TOUCH_QUERY_DATA_ID = 0x01
TOUCH_PACKET_LENGTHS = {0: 5, 1: 7, 2: 5, 3: 7, 4: 7, 5: 13}  # isdv4.h ISDV4PacketLengths

ISDV4_FAULTS = (
    "no_pen",  # the resident never touches the pad
    "unplug_mid_signature",  # after_packets=<packets sent before the cable is pulled>
    "silent",  # the pad answers nothing (dead firmware)
    "slow_link",  # baudrate=<the line's real speed>: reports arrive late and bunched
    "eraser",  # the signer first rubs the pad with the eraser end (samples=<reports>)
    "palm_touch",  # a palm rests on a touch-capable pad while signing (every=<pen packets>)
)

_HOVER_SAMPLES_BETWEEN_STROKES = 12
_HOVER_SAMPLES_AFTER = 4


@dataclass(frozen=True)
class Isdv4Model:
    """One ISDV4 sensor as its query replies and timing describe it."""

    name: str
    baudrate: int
    max_x: int
    max_y: int
    max_pressure: int
    version: int
    max_tilt: tuple[int, int] = (0, 0)
    report_hz: float = 133.0
    settle_s: float = 0.0  # a query sooner than this after "0" is dropped
    touch_sensor: int | None = None  # sensor id the touch query reports; None: pen only
    touch_max: tuple[int, int] = (0, 0)


# The ranges and versions below are plausible figures, not a particular product's; the line
# speeds and packet kinds follow the sensor classes xf86's isdv4ParseOptions and
# isdv4GetRanges name.
# A pen-only (tablet id 0x90) sensor: 19200 baud, 256 pressure levels, slow to settle.
PEN_ONLY_19200 = Isdv4Model(
    name="penabled-19200",
    baudrate=19200,
    max_x=15360,
    max_y=9600,
    max_pressure=255,
    version=0x0E2,
    settle_s=0.2,
)
# A pen-and-touch sensor (resistive single finger, sensor id 0, tablet id 0x93) at 38400
# baud with 1024 pressure levels and tilt.
PEN_AND_TOUCH_38400 = Isdv4Model(
    name="penabled-touch-38400",
    baudrate=38400,
    max_x=26202,
    max_y=16325,
    max_pressure=1023,
    version=0x118,
    max_tilt=(63, 63),
    touch_sensor=0,
    touch_max=(4095, 4095),
)


@dataclass(frozen=True)
class PenState:
    """What one pen packet says: position, pressure, switches, proximity."""

    x: int
    y: int
    pressure: int = 0
    in_proximity: bool = True
    tip: bool = False
    side: bool = False
    eraser: bool = False
    tilt: tuple[int, int] = (0, 0)


def _seven_bit_pairs(x: int, y: int) -> bytes:
    """Bytes 1-4 of pen data and query replies: the high 14 bits of x and y."""
    return bytes([(x >> 9) & 0x7F, (x >> 2) & 0x7F, (y >> 9) & 0x7F, (y >> 2) & 0x7F])


def _low_bits(x: int, y: int, pressure_high: int) -> int:
    """Byte 6: two low bits of x (6-5), of y (4-3), and three high pressure bits (2-0)."""
    return (x & 0x3) << 5 | (y & 0x3) << 3 | (pressure_high & 0x7)


def pen_packet(state: PenState) -> bytes:
    """The 9 bytes a sensor sends for one pen report."""
    status = HEADER
    for flag, bit in (
        (state.in_proximity, IN_PROXIMITY),
        (state.eraser, ERASER_OR_SIDE2),
        (state.side, SIDE_SWITCH),
        (state.tip, TIP_DOWN),
    ):
        status |= bit if flag else 0
    pressure = state.pressure & 0x3FF
    return bytes(
        [
            status,
            *_seven_bit_pairs(state.x, state.y),
            pressure & 0x7F,
            _low_bits(state.x, state.y, pressure >> 7),
            state.tilt[0] & 0x7F,
            state.tilt[1] & 0x7F,
        ]
    )


def query_reply(model: Isdv4Model) -> bytes:
    """The 11-byte answer to ``*``."""
    return bytes(
        [
            HEADER | CONTROL | QUERY_DATA_ID,
            *_seven_bit_pairs(model.max_x, model.max_y),
            model.max_pressure & 0x7F,
            _low_bits(model.max_x, model.max_y, model.max_pressure >> 7),
            model.max_tilt[0] & 0x7F,
            model.max_tilt[1] & 0x7F,
            (model.version >> 7) & 0x7F,
            model.version & 0x7F,
        ]
    )


def touch_query_reply(model: Isdv4Model) -> bytes:
    """The 11-byte answer to ``%``: all zero past the header on a pen-only sensor."""
    if model.touch_sensor is None:
        return bytes([HEADER | CONTROL | TOUCH_QUERY_DATA_ID]) + bytes(8) + _version(model)
    x, y = model.touch_max
    sensor = (x & 0x3) << 5 | (y & 0x3) << 3 | (model.touch_sensor & 0x7)
    panel_resolution, capacity_resolution = 10, 0
    return (
        bytes([HEADER | CONTROL | TOUCH_QUERY_DATA_ID, panel_resolution, sensor])
        + _seven_bit_pairs(x, y)
        + bytes([capacity_resolution, 0])
        + _version(model)
    )


def _version(model: Isdv4Model) -> bytes:
    return bytes([(model.version >> 7) & 0x7F, model.version & 0x7F])


def touch_packet(model: Isdv4Model, x: int, y: int, touching: bool) -> bytes:
    """One single-finger touch report in the length the model's sensor id gives."""
    length = TOUCH_PACKET_LENGTHS[model.touch_sensor or 0]
    packet = bytes(
        [
            HEADER | TOUCH_DATA | (0x01 if touching else 0),
            (x >> 7) & 0x7F,
            x & 0x7F,
            (y >> 7) & 0x7F,
            y & 0x7F,
        ]
    )
    return packet + bytes(length - len(packet))


def replay_states(strokes: Strokes, model: Isdv4Model) -> list[PenState]:
    """Pen reports for ``strokes`` (unit coordinates): strokes, hovers between, proximity out."""

    def at(x: float, y: float, pressure: float, tip: bool) -> PenState:
        return PenState(
            x=round(min(max(x, 0.0), 1.0) * model.max_x),
            y=round(min(max(y, 0.0), 1.0) * model.max_y),
            pressure=round(min(max(pressure, 0.0), 1.0) * model.max_pressure) if tip else 0,
            tip=tip,
        )

    states: list[PenState] = []
    drawn = [stroke for stroke in strokes if stroke]
    for index, stroke in enumerate(drawn):
        states += [at(x, y, pressure, tip=True) for x, y, pressure in stroke]
        last_x, last_y, _ = stroke[-1]
        if index + 1 < len(drawn):
            next_x, next_y, _ = drawn[index + 1][0]
            for step in range(1, _HOVER_SAMPLES_BETWEEN_STROKES + 1):
                fraction = step / (_HOVER_SAMPLES_BETWEEN_STROKES + 1)
                x = last_x + (next_x - last_x) * fraction
                states.append(at(x, last_y + (next_y - last_y) * fraction, 0.0, tip=False))
        else:
            states += [at(last_x, last_y, 0.0, tip=False)] * _HOVER_SAMPLES_AFTER
            states.append(replace(states[-1], in_proximity=False))
    return states


def eraser_states(model: Isdv4Model, samples: int) -> list[PenState]:
    """The pen turned over: the eraser end comes into proximity, rubs, and leaves."""
    y = model.max_y // 2
    step = max(1, model.max_x // (2 * max(samples, 1)))
    hover = PenState(x=model.max_x // 4, y=y, eraser=True)
    rub = [
        replace(hover, x=hover.x + i * step, tip=True, pressure=model.max_pressure // 2)
        for i in range(samples)
    ]
    return [
        hover,
        *rub,
        replace(rub[-1] if rub else hover, tip=False, pressure=0),
        PenState(x=hover.x, y=y, in_proximity=False),
    ]


class SimulatedIsdv4Pad(SerialDeviceSimulator):
    """The sensor side of ISDV4 for one ``model``. ``arm()`` makes the resident sign: the
    strokes from ``stroke_source`` are replayed at the model's report rate x ``speed`` once the
    host starts sampling."""

    name = "isdv4"

    def __init__(
        self,
        stroke_source: StrokeSource,
        *,
        model: Isdv4Model = PEN_ONLY_19200,
        link_path: str | os.PathLike[str] | None = None,
        pace: bool = False,
        speed: float = 1.0,
        lead_in_s: float = 0.05,
    ) -> None:
        super().__init__(link_path=link_path, baudrate=model.baudrate, pace=pace)
        self.stroke_source = stroke_source
        self.model = model
        self.speed = speed
        self.lead_in_s = lead_in_s
        self.sampling = False
        self.armed = False
        self.packets_sent = 0
        self.queries_dropped = 0
        self.last_replay: list[PenState] = []
        self._queue: deque[bytes] = deque()
        self._next_due = 0.0
        self._stopped_at: float | None = None

    @property
    def report_hz(self) -> float:
        """Reports per second as replayed (the model's rate x ``speed``)."""
        return self.model.report_hz * self.speed

    def set_fault(self, name: str, **params: Any) -> None:
        if name not in ISDV4_FAULTS:
            raise ValueError(f"unknown isdv4 fault {name!r}; known: {', '.join(ISDV4_FAULTS)}")
        if name == "palm_touch" and self.model.touch_sensor is None:
            raise ValueError(f"{self.model.name} has no touch sensor")
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

    # -- the device ---------------------------------------------------------------------------
    def on_connect(self) -> None:
        self.sampling = False
        self._stopped_at = None
        self._queue.clear()

    def on_bytes(self, data: bytes) -> None:
        if "silent" in self.faults or self.host_baudrate() != self.model.baudrate:
            return
        for command in data:
            self._command(command)

    def _command(self, command: int) -> None:
        if command == STOP:
            self.sampling = False
            self._stopped_at = time.monotonic()
            self._queue.clear()
        elif command == SAMPLE:
            self.sampling = True
        elif command in (QUERY, TOUCH_QUERY):
            if self._settling():
                self.queries_dropped += 1
                return
            self.send(
                query_reply(self.model) if command == QUERY else touch_query_reply(self.model)
            )

    def _settling(self) -> bool:
        stopped = self._stopped_at
        return stopped is not None and time.monotonic() - stopped < self.model.settle_s

    def on_idle(self) -> None:
        if not self.sampling:
            return
        if self.armed and not self._queue:
            self.armed = False
            self._queue = deque(self._signing())
            self._next_due = time.monotonic() + self.lead_in_s
            return
        self._emit_due()

    def _signing(self) -> list[bytes]:
        strokes = [] if "no_pen" in self.faults else self.stroke_source()
        self.last_replay = replay_states(strokes, self.model) if strokes else []
        states = list(self.last_replay)
        eraser = self.faults.get("eraser")
        if eraser is not None and states:
            states = eraser_states(self.model, int(eraser.get("samples", 20))) + states
        packets = [pen_packet(state) for state in states]
        palm = self.faults.get("palm_touch")
        if palm is not None and packets:
            every = max(1, int(palm.get("every", 5)))
            middle = (self.model.touch_max[0] // 2, self.model.touch_max[1] * 3 // 4)
            touch = touch_packet(self.model, *middle, touching=True)
            packets = [
                pen + touch if index % every == every - 1 else pen
                for index, pen in enumerate(packets)
            ]
        return packets

    def _emit_due(self) -> None:
        period = 1.0 / self.report_hz
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
