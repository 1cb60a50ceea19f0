"""Wacom ISDV4 serial pen digitizer (signature pad), as spoken by the Linux ``wacom_w8001``
driver and xf86-input-wacom's ``isdv4`` code.

Host commands are single ASCII bytes: ``*`` query, ``1`` start sampling, ``0`` stop. Every
packet from the pad starts with a byte whose top bit (0x80) is set; all following bytes have it
clear, which is how the stream resynchronises. Pen packets are 9 bytes: byte 0 carries the
proximity (0x20), tip (0x01), side switch (0x02) and eraser (0x04) bits; x and y are 16 bits
(7 + 7 + 2 bits) and pressure 10 bits (7 + 3). The query reply is an 11-byte control packet
(0x40 also set in byte 0) with the maxima in the same layout and the firmware version in bytes
9-10.
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


class Isdv4SignaturePad(PenDevice):
    """An ISDV4 pen digitizer on a serial port.

    Options: ``baudrate`` (38400 on most ISDV4 pads, 19200 on older ones), ``pen_away_s``
    (seconds out of proximity that end a signature), ``query_timeout`` (seconds), ``model``
    (a display name for the identity).
    """

    driver_name = "isdv4"

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        baudrate: int = 38400,
        pen_away_s: float = 1.0,
        query_timeout: float = 1.0,
        model: str = "ISDV4 pen digitizer",
    ) -> None:
        super().__init__(device_id, port)
        self.baudrate = int(baudrate)
        self.pen_away_s = float(pen_away_s)
        self.query_timeout = float(query_timeout)
        self.model = model
        self.query: QueryReply | None = None
        self._serial: serial.Serial | None = None
        self._parser = Isdv4StreamParser()

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
        """Open the port, stop any sampling, query the pad's ranges and firmware."""
        self.close()
        self._serial = open_serial(self.port, self.baudrate, UNAVAILABLE_CODE)
        try:
            self.query = self._query()
        except BaseException:
            self.close()
            raise
        self.identity = DeviceIdentity(
            vendor="Wacom",
            model=self.model,
            firmware=f"{self.query.version}",
            transport="uart",
            port=self.port,
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
        self._write(CMD_START)

    def _read_pen(self) -> list[PenSample]:
        """The pen packets in proximity among what arrived within one read slice."""
        data = self._read()
        arrived = time.monotonic()
        samples: list[PenSample] = []
        for packet in self._parser.feed(data):
            if packet[0] & CONTROL_BIT:
                continue
            report = decode_pen_packet(packet)
            if report.proximity:
                samples.append(PenSample(arrived, report.x, report.y, report.pressure, report.tip))
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
    def _query(self) -> QueryReply:
        self._write(CMD_STOP)
        self._reset_input()
        self._write(CMD_QUERY)
        deadline = time.monotonic() + self.query_timeout
        while time.monotonic() < deadline:
            for packet in self._parser.feed(self._read()):
                if packet[0] & CONTROL_BIT and len(packet) == QUERY_PACKET_SIZE:
                    return decode_query_reply(packet)
        raise DeviceUnavailable(
            f"no answer to the ISDV4 query within {self.query_timeout:.1f} s",
            code=UNAVAILABLE_CODE,
        )

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
