"""Wacom ISDV4 serial pen digitizer (signature pad), as spoken by the Linux ``wacom_w8001``
driver and xf86-input-wacom's ``isdv4`` code.

Host commands are single ASCII bytes: ``*`` query, ``1`` start sampling, ``0`` stop. Every
packet from the pad starts with a byte whose top bit (0x80) is set; all following bytes have it
clear, which is how the stream resynchronises. Pen packets are 9 bytes: byte 0 carries the
proximity (0x20), tip (0x01), side switch (0x02) and eraser (0x04) bits; x and y are 16 bits
(7 + 7 + 2 bits) and pressure 10 bits (7 + 3). The query reply is an 11-byte control packet
(0x40 also set in byte 0) with the maxima in the same layout and the firmware version in bytes
9-10 (the kernel's w8001_setup reads the maxima with its pen-packet parser; xf86-input-wacom's
isdv4ParseQuery; its data id, byte 0 & 0x3F, is 0 where the touch query's reply has 1).

Opening follows both hosts: ``0``, then 250 ms for the pad to settle (w8001_setup
``msleep(250)``; xf86 isdv4StopTablet ``wcmWait(250)``), discard what arrived, ``*``. The line
speed is 19200 baud on pen-only sensors and 38400 on the others (xf86 isdv4ParseOptions); like
xf86's isdv4GetRanges the driver queries at the configured rate, then at the other one, and
keeps the rate that answered.

A pen that comes into proximity with 0x04 set is the eraser end until 0x04 clears; 0x04
appearing while the pen is in proximity is its second side switch (the kernel's
report_pen_events, xf86's isdv4Parse). Eraser reports are not signature points: they are
dropped and count as the pen being away.

The packets carry no device time. Each report is stamped on the monotonic clock from its
place in the stream at the pad's report rate, kept within ``MAX_SAMPLE_LAG_S`` of when it
arrived (see ``SampleClock``), so reports that arrive in one burst keep their spacing.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import serial

from domain.vocabulary import Position
from drivers.base import (
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    Modality,
    PenDevice,
    PenSample,
)
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable
from drivers.serial_ports import SERIAL_ERRORS, find_port, open_serial, serial_errors_as_unplug

CMD_QUERY = b"*"
CMD_START = b"1"
CMD_STOP = b"0"

LEAD_BIT = 0x80
CONTROL_BIT = 0x40
DATA_ID_MASK = 0x3F  # control packets: 0 answers the query, 1 the touch query
PROXIMITY_BIT = 0x20
TOUCH_BIT = 0x10
ERASER_BIT = 0x04
SIDE_BIT = 0x02
TIP_BIT = 0x01

PEN_PACKET_SIZE = 9
QUERY_PACKET_SIZE = 11
# Finger-touch packets (touch-enabled ISDV4 panels) are 5, 7 or 13 bytes; a signature pad
# skips them, and never buffers more than the longest.
TOUCH_PACKET_MAX = 13

# Line speeds an ISDV4 sensor uses: 19200 for pen-only sensors, 38400 for the others
# (xf86-input-wacom isdv4ParseOptions).
PEN_ONLY_BAUDRATE = 19200
TOUCH_BAUDRATE = 38400
ISDV4_BAUDRATES = (PEN_ONLY_BAUDRATE, TOUCH_BAUDRATE)
# After "0" both hosts wait before querying: the kernel's w8001_setup msleep(250), xf86's
# isdv4StopTablet wcmWait(250). A query sent sooner may go unanswered.
STOP_SETTLE_S = 0.25
# Reports per second assumed when the configuration names none (the protocol does not say).
DEFAULT_REPORT_HZ = 133.0
# The longest a report's stamp may lie before its arrival (the bound on the timing jitter).
MAX_SAMPLE_LAG_S = 0.1
BITS_PER_BYTE_ON_LINE = 10  # start bit, 8 data bits, stop bit

# Message codes (catalogue area "devices") of what the operator is told.
UNAVAILABLE_CODE = "DEVICE_SIGNATURE_PAD_NOT_ANSWERING"
NOTHING_SIGNED_CODE = "DEVICE_SIGNATURE_NOTHING_SIGNED"
CANCELLED_CODE = "DEVICE_SIGNATURE_CAPTURE_CANCELLED"


@dataclass(frozen=True)
class PenReport:
    """One decoded pen packet."""

    x: int
    y: int
    pressure: int
    proximity: bool
    tip: bool
    side: bool = False
    eraser: bool = False
    tilt_x: int = 0
    tilt_y: int = 0


@dataclass(frozen=True)
class QueryReply:
    """The pad's answer to ``*``: coordinate and pressure ranges, firmware version."""

    max_x: int
    max_y: int
    max_pressure: int
    version: int
    max_tilt_x: int = 0
    max_tilt_y: int = 0


def _pack_triplet(x: int, y: int, pressure: int) -> bytes:
    """Bytes 1..6 shared by pen packets and the query reply."""
    x &= 0xFFFF
    y &= 0xFFFF
    pressure &= 0x3FF
    return bytes(
        [
            (x >> 9) & 0x7F,
            (x >> 2) & 0x7F,
            (y >> 9) & 0x7F,
            (y >> 2) & 0x7F,
            pressure & 0x7F,
            ((x & 0x3) << 5) | ((y & 0x3) << 3) | ((pressure >> 7) & 0x07),
        ]
    )


def _unpack_triplet(data: bytes) -> tuple[int, int, int]:
    x = ((data[1] & 0x7F) << 9) | ((data[2] & 0x7F) << 2) | ((data[6] & 0x60) >> 5)
    y = ((data[3] & 0x7F) << 9) | ((data[4] & 0x7F) << 2) | ((data[6] & 0x18) >> 3)
    pressure = (data[5] & 0x7F) | ((data[6] & 0x07) << 7)
    return x, y, pressure


def encode_pen_packet(report: PenReport) -> bytes:
    """The 9 bytes a pad sends for one pen sample."""
    status = LEAD_BIT
    status |= PROXIMITY_BIT if report.proximity else 0
    status |= TIP_BIT if report.tip else 0
    status |= SIDE_BIT if report.side else 0
    status |= ERASER_BIT if report.eraser else 0
    tilt = bytes([report.tilt_x & 0x7F, report.tilt_y & 0x7F])
    return bytes([status]) + _pack_triplet(report.x, report.y, report.pressure) + tilt


def decode_pen_packet(data: bytes) -> PenReport:
    x, y, pressure = _unpack_triplet(data)
    status = data[0]
    return PenReport(
        x=x,
        y=y,
        pressure=pressure,
        proximity=bool(status & PROXIMITY_BIT),
        tip=bool(status & TIP_BIT),
        side=bool(status & SIDE_BIT),
        eraser=bool(status & ERASER_BIT),
        tilt_x=data[7] & 0x7F,
        tilt_y=data[8] & 0x7F,
    )


def encode_query_reply(reply: QueryReply) -> bytes:
    """The 11-byte control packet answering ``*``."""
    return (
        bytes([LEAD_BIT | CONTROL_BIT])
        + _pack_triplet(reply.max_x, reply.max_y, reply.max_pressure)
        + bytes([reply.max_tilt_x & 0x7F, reply.max_tilt_y & 0x7F])
        + bytes([(reply.version >> 7) & 0x7F, reply.version & 0x7F])
    )


def decode_query_reply(data: bytes) -> QueryReply:
    max_x, max_y, max_pressure = _unpack_triplet(data)
    return QueryReply(
        max_x=max_x,
        max_y=max_y,
        max_pressure=max_pressure,
        version=((data[9] & 0x7F) << 7) | (data[10] & 0x7F),
        max_tilt_x=data[7] & 0x7F,
        max_tilt_y=data[8] & 0x7F,
    )


class Isdv4StreamParser:
    """Splits the pad's byte stream into packets, resynchronising on lead bytes."""

    def __init__(self) -> None:
        self._packet = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Complete packets (9-byte pen or 11-byte control) found in ``data``."""
        packets: list[bytes] = []
        for byte in data:
            if byte & LEAD_BIT:
                self.discarded += len(self._packet)
                self._packet = bytearray([byte])
            elif self._packet:
                self._packet.append(byte)
            else:
                self.discarded += 1
                continue
            first = self._packet[0]
            if first & TOUCH_BIT and not first & CONTROL_BIT:
                # Finger-touch packets: not used by a signature pad, dropped once complete.
                if len(self._packet) >= TOUCH_PACKET_MAX:
                    self.discarded += len(self._packet)
                    self._packet = bytearray()
                continue
            size = QUERY_PACKET_SIZE if first & CONTROL_BIT else PEN_PACKET_SIZE
            if len(self._packet) == size:
                packets.append(bytes(self._packet))
                self._packet = bytearray()
        return packets


class PenTool:
    """Which end of the pen is in proximity, told apart as the kernel's report_pen_events does:
    0x04 at proximity-in means the eraser, until 0x04 clears; 0x04 set later is a side switch."""

    def __init__(self) -> None:
        self.eraser = False
        self._in_proximity = False

    def follow(self, report: PenReport) -> None:
        """Update from the next pen report."""
        if not report.proximity:
            self.eraser = False
        elif not self._in_proximity:
            self.eraser = report.eraser
        elif self.eraser and not report.eraser:
            self.eraser = False  # the eraser bit cleared: it was the pen all along
        self._in_proximity = report.proximity


class SampleClock:
    """Stamps pen reports on the monotonic clock, since ISDV4 packets carry no device time.

    A report's stamp is the previous one plus the report period; it is never later than the
    report can have arrived (its read time less the line time of the packets read after it)
    and never more than ``max_lag_s`` earlier than that. The first report, and the first after
    the pen left proximity, take their arrival bound. So a burst read at once keeps the pad's
    spacing, and neither a wrong report rate nor a stall moves a stamp beyond ``max_lag_s``.
    """

    def __init__(self, report_hz: float, packet_line_s: float, max_lag_s: float) -> None:
        self.period_s = 1.0 / report_hz
        self.packet_line_s = packet_line_s
        self.max_lag_s = max_lag_s
        self._last: float | None = None

    def restart(self) -> None:
        """The next report starts a new run (first report, or after proximity out)."""
        self._last = None

    def stamp(self, arrived_by: float) -> float:
        """The stamp of the next report, which had arrived by ``arrived_by``."""
        last = self._last
        if last is None:
            stamp = arrived_by
        else:
            predicted = last + self.period_s
            stamp = max(min(predicted, arrived_by), arrived_by - self.max_lag_s, last)
        self._last = stamp
        return stamp


class Isdv4SignaturePad(PenDevice):
    """An ISDV4 pen digitizer on a serial port.

    Options: ``baudrate`` (the rate tried first: 19200 for pen-only pads, 38400 for pen-and-
    touch ones; the other is tried next), ``report_hz`` (the pad's reports per second, for
    stamping), ``pen_away_s`` (seconds out of proximity that end a signature),
    ``query_timeout`` (seconds), ``model`` (a display name for the identity).
    """

    driver_name = "isdv4"

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        baudrate: int = PEN_ONLY_BAUDRATE,
        report_hz: float = DEFAULT_REPORT_HZ,
        pen_away_s: float = 1.0,
        query_timeout: float = 1.0,
        model: str = "ISDV4 pen digitizer",
    ) -> None:
        super().__init__(device_id, port)
        self.baudrate = int(baudrate)
        self.report_hz = float(report_hz)
        self.pen_away_s = float(pen_away_s)
        self.query_timeout = float(query_timeout)
        self.model = model
        self.query: QueryReply | None = None
        self._serial: serial.Serial | None = None
        self._parser = Isdv4StreamParser()
        self._tool = PenTool()
        self._clock = self._new_clock()

    @property
    def capabilities(self) -> Capabilities:
        query = self.query
        return Capabilities(
            modality=Modality.SIGNATURE,
            positions=(Position.SIGNATURE,),
            width=query.max_x if query else 0,
            height=query.max_y if query else 0,
            live_preview=True,
            max_pressure=query.max_pressure if query else 0,
        )

    def open(self) -> None:
        """Open the port, find the line speed the pad answers at, and query its ranges."""
        self.close()
        self._serial = open_serial(self.port, self.baudrate, UNAVAILABLE_CODE)
        try:
            self.query = self._query_at_known_rates()
        except BaseException:
            self.close()
            raise
        self._clock = self._new_clock()
        self.identity = DeviceIdentity(
            vendor="Wacom",
            model=self.model,
            firmware=f"{self.query.version}",
            transport="uart",
            port=self.port,
            mode={
                "baudrate": str(self.baudrate),
                "range": f"{self.query.max_x}x{self.query.max_y}",
                "max_pressure": str(self.query.max_pressure),
                "tilt": f"{self.query.max_tilt_x}x{self.query.max_tilt_y}",
                "report_hz": f"{self.report_hz:g}",
            },
        )
        self.status = DeviceStatus.READY

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                port.write(CMD_STOP)
            with contextlib.suppress(*SERIAL_ERRORS):
                port.close()
        self.status = DeviceStatus.DISCONNECTED

    def present(self) -> bool:
        """Whether the port is there (the path exists or a USB-serial adapter matches)."""
        return find_port(self.port) is not None

    # -- signature (the loop is PenDevice.capture_signature) -------------------------------
    def _start_sampling(self) -> None:
        self._reset_input()
        self._tool = PenTool()
        self._clock.restart()
        self._write(CMD_START)

    def _read_pen(self) -> list[PenSample]:
        """The pen-tip reports in proximity among what arrived within one read slice, each
        stamped by the sample clock (``PenSample.arrived`` is that stamp)."""
        data = self._read()
        read_at = time.monotonic()
        packets = [packet for packet in self._parser.feed(data) if not packet[0] & CONTROL_BIT]
        samples: list[PenSample] = []
        for index, packet in enumerate(packets):
            after = len(packets) - 1 - index
            stamp = self._clock.stamp(read_at - after * self._clock.packet_line_s)
            report = decode_pen_packet(packet)
            self._tool.follow(report)
            if not report.proximity:
                self._clock.restart()
            elif not self._tool.eraser:
                samples.append(PenSample(stamp, report.x, report.y, report.pressure, report.tip))
        return samples

    def _stop_sampling(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                self._serial.write(CMD_STOP)

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("no pen strokes on the pad", code=NOTHING_SIGNED_CODE)

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("signature capture cancelled", code=CANCELLED_CODE)

    # -- internals --------------------------------------------------------------------------
    def _new_clock(self) -> SampleClock:
        packet_line_s = PEN_PACKET_SIZE * BITS_PER_BYTE_ON_LINE / self.baudrate
        return SampleClock(self.report_hz, packet_line_s, MAX_SAMPLE_LAG_S)

    def _query_at_known_rates(self) -> QueryReply:
        """Query at the configured rate, then at the other ISDV4 rate (xf86 isdv4GetRanges);
        ``baudrate`` becomes the rate that answered."""
        rates = [self.baudrate] + [rate for rate in ISDV4_BAUDRATES if rate != self.baudrate]
        for rate in rates:
            with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
                self._port().baudrate = rate
            reply = self._query()
            if reply is not None:
                self.baudrate = rate
                return reply
        tried = ", ".join(str(rate) for rate in rates)
        raise DeviceUnavailable(
            f"no answer to the ISDV4 query within {self.query_timeout:.1f} s at {tried} baud",
            code=UNAVAILABLE_CODE,
        )

    def _query(self) -> QueryReply | None:
        """Stop, let the pad settle, flush, ask ``*``; the reply, or None on no answer."""
        self._write(CMD_STOP)
        time.sleep(STOP_SETTLE_S)
        self._reset_input()
        self._write(CMD_QUERY)
        deadline = time.monotonic() + self.query_timeout
        while time.monotonic() < deadline:
            for packet in self._parser.feed(self._read()):
                if _is_query_reply(packet):
                    return decode_query_reply(packet)
        return None

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise DeviceUnavailable(f"{self.port} is not open", code=UNAVAILABLE_CODE)
        return self._serial

    def _read(self) -> bytes:
        port = self._port()
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            return port.read(max(1, port.in_waiting))

    def _write(self, data: bytes) -> None:
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            self._port().write(data)

    def _reset_input(self) -> None:
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            self._port().reset_input_buffer()
        self._parser = Isdv4StreamParser()


def _is_query_reply(packet: bytes) -> bool:
    """An 11-byte control packet with data id 0 (isdv4.h: the touch query's reply has 1)."""
    return (
        len(packet) == QUERY_PACKET_SIZE
        and bool(packet[0] & CONTROL_BIT)
        and packet[0] & DATA_ID_MASK == 0
    )
