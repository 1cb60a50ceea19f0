"""Packet codec of the ZhianTec ZFM / R30x / R503 fingerprint module protocol (host side).

A packet is ``EF01`` + 4-byte address + PID + 2-byte length + payload + 2-byte checksum, all
big-endian. ``length`` counts the payload plus the checksum; the checksum is the low 16 bits of
the sum of the PID byte, both length bytes and every payload byte (R503 user manual v1.4.1,
"Data package format"; the R307 user manual draws the same frame). Images travel at four
bits per pixel, two pixels to a byte, the left one in the high nibble. The simulated module in
``simulator/devices/r30x.py`` has its own codec, written from the same documents.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
DEFAULT_PASSWORD = 0x00000000
HEADER_SIZE = 9  # start code + address + PID + length
MAX_PAYLOAD = 256
PACKET_SIZE_CODES = {0: 32, 1: 64, 2: 128, 3: 256}
BAUD_UNIT = 9600
# SetSysPara parameter 4 takes N = 1/2/4/6/12 (9600 x N baud); 57,600 leaves the factory.
BAUD_MULTIPLIERS = (1, 2, 4, 6, 12)
FACTORY_BAUDRATE = 57600

# The ZFM / R30x sensor (R307 user manual: "the image format is 256*288 pixels").
IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
IMAGE_BYTES = IMAGE_WIDTH * IMAGE_HEIGHT // 2  # 4 bits per pixel


@dataclass(frozen=True)
class Geometry:
    """The size of a module's image, in pixels."""

    width: int
    height: int

    @property
    def packed_bytes(self) -> int:
        """Bytes of one UpImage transfer (two pixels a byte)."""
        return self.width * self.height // 2


ZFM_GEOMETRY = Geometry(IMAGE_WIDTH, IMAGE_HEIGHT)


class Pid(IntEnum):
    """Package identifier."""

    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(IntEnum):
    """Instruction codes used by Rekam."""

    GEN_IMG = 0x01
    UP_IMAGE = 0x0A
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    VFY_PWD = 0x13
    AURA_LED_CONFIG = 0x35
    READ_PROD_INFO = 0x3C


class Confirmation(IntEnum):
    """Confirmation codes of acknowledge packets (the ones Rekam reacts to)."""

    OK = 0x00
    RECEIVE_ERROR = 0x01
    NO_FINGER = 0x02
    IMAGE_FAIL = 0x03
    UPLOAD_IMAGE_FAIL = 0x0F
    WRONG_PASSWORD = 0x13
    INVALID_REGISTER = 0x1A
    PASSWORD_REQUIRED = 0x21
    SENSOR_ERROR = 0x29
    UNSUPPORTED = 0xFC
    HARDWARE_ERROR = 0xFD
    COMMAND_FAILED = 0xFE


class SysParam(IntEnum):
    """Parameter numbers of SetSysPara."""

    BAUD = 4
    SECURITY_LEVEL = 5
    PACKET_SIZE = 6


class LedMode(IntEnum):
    """AuraLedConfig control codes (R503)."""

    BREATHING = 1
    FLASHING = 2
    ON = 3
    OFF = 4
    FADE_IN = 5
    FADE_OUT = 6


class LedColour(IntEnum):
    """AuraLedConfig colour indexes (R503)."""

    RED = 1
    BLUE = 2
    PURPLE = 3


@dataclass(frozen=True)
class Packet:
    """One decoded packet."""

    pid: int
    payload: bytes
    address: int = DEFAULT_ADDRESS


class ChecksumError(ValueError):
    """A complete packet arrived whose checksum does not match its content."""

    def __init__(self, packet: Packet, expected: int, received: int) -> None:
        super().__init__(
            f"checksum mismatch in PID 0x{packet.pid:02x} packet of {len(packet.payload)} bytes: "
            f"computed 0x{expected:04x}, received 0x{received:04x}"
        )
        self.packet = packet


def checksum(pid: int, payload: bytes) -> int:
    """Low 16 bits of PID + length bytes + payload bytes."""
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    """The bytes on the wire for one packet."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    length = len(payload) + 2
    return (
        HEADER
        + struct.pack(">IBH", address, pid, length)
        + payload
        + struct.pack(">H", checksum(pid, payload))
    )


def command(instruction: int, params: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    """A command packet."""
    return encode_packet(Pid.COMMAND, bytes([instruction]) + params, address)


def ack(confirmation: int, params: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    """An acknowledge packet."""
    return encode_packet(Pid.ACK, bytes([confirmation]) + params, address)


class PacketDecoder:
    """Incremental decoder: feed bytes, take packets.

    Bytes before a header, and headers with an impossible length or a foreign address, are
    skipped (counted in ``discarded``) so the stream resynchronises on the next ``EF01``. A
    complete packet with a bad checksum is consumed and reported as ``ChecksumError``.
    """

    def __init__(self, address: int | None = None, max_payload: int = MAX_PAYLOAD) -> None:
        self.address = address
        self.max_payload = max_payload
        self.discarded = 0
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received but not yet consumed."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer.extend(data)

    def clear(self) -> None:
        self._buffer.clear()

    def next_packet(self) -> Packet | None:
        """The next complete packet, None if more bytes are needed; raises ChecksumError."""
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                keep = 1 if self._buffer.endswith(HEADER[:1]) else 0
                self._drop(len(self._buffer) - keep)
                return None
            self._drop(start)
            if len(self._buffer) < HEADER_SIZE:
                return None
            address, pid, length = struct.unpack_from(">IBH", self._buffer, 2)
            if (
                pid not in Pid._value2member_map_
                or not 2 <= length <= self.max_payload + 2
                or (self.address is not None and address != self.address)
            ):
                self._drop(1)
                continue
            total = HEADER_SIZE + length
            if len(self._buffer) < total:
                return None
            payload = bytes(self._buffer[HEADER_SIZE : total - 2])
            (received,) = struct.unpack_from(">H", self._buffer, total - 2)
            del self._buffer[:total]
            packet = Packet(pid=pid, payload=payload, address=address)
            expected = checksum(pid, payload)
            if expected != received:
                raise ChecksumError(packet, expected, received)
            return packet

    def _drop(self, count: int) -> None:
        if count > 0:
            self.discarded += count
            del self._buffer[:count]


@dataclass(frozen=True)
class SystemParameters:
    """The 16 bytes of ReadSysPara."""

    status_register: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size_code: int
    baud_multiplier: int

    @property
    def packet_size(self) -> int:
        return PACKET_SIZE_CODES.get(self.packet_size_code, 128)

    @property
    def baudrate(self) -> int:
        return self.baud_multiplier * BAUD_UNIT

    def pack(self) -> bytes:
        return struct.pack(
            ">HHHHIHH",
            self.status_register,
            self.system_id,
            self.library_size,
            self.security_level,
            self.address,
            self.packet_size_code,
            self.baud_multiplier,
        )

    @classmethod
    def unpack(cls, data: bytes) -> SystemParameters:
        if len(data) < 16:
            raise ValueError(f"system parameters need 16 bytes, got {len(data)}")
        return cls(*struct.unpack_from(">HHHHIHH", data))


# R503 user manual v1.4.1, ReadProdInfo (0x3C): model 16, batch 4, serial 8 (ASCII, 0-padded),
# hardware version (major, minor), sensor type 8, image width, height, template size, library
# size (16-bit, high byte first). The field table ends with 4 reserved bytes that the manual's
# acknowledge length (0x0031: 46 bytes after the confirmation code) leaves out: both are read.
_PROD_INFO = struct.Struct(">16s4s8sBB8sHHHH")


@dataclass(frozen=True)
class ProductInfo:
    """The product information block of ReadProdInfo (R503 and later modules)."""

    model: str
    batch: str
    serial: str
    hardware_version: str
    sensor: str
    image_width: int
    image_height: int
    template_size: int = 0
    library_size: int = 0

    @property
    def geometry(self) -> Geometry | None:
        """The sensor's image size, None when the block leaves it out (zero) or it cannot be
        an image the module uploads (odd width, over 1024 pixels a side)."""
        width, height = self.image_width, self.image_height
        if 0 < width <= 1024 and 0 < height <= 1024 and width % 2 == 0:
            return Geometry(width, height)
        return None

    def pack(self) -> bytes:
        major, _, minor = self.hardware_version.partition(".")
        return _PROD_INFO.pack(
            self.model.encode("ascii"),
            self.batch.encode("ascii"),
            self.serial.encode("ascii"),
            int(major or 0),
            int(minor or 0),
            self.sensor.encode("ascii"),
            self.image_width,
            self.image_height,
            self.template_size,
            self.library_size,
        ) + bytes(4)

    @classmethod
    def unpack(cls, data: bytes) -> ProductInfo:
        if len(data) < _PROD_INFO.size:
            raise ValueError(f"product information needs {_PROD_INFO.size} bytes, got {len(data)}")
        model, batch, serial, major, minor, sensor, width, height, tsize, total = (
            _PROD_INFO.unpack_from(data)
        )
        return cls(
            model=_ascii(model),
            batch=_ascii(batch),
            serial=_ascii(serial),
            hardware_version=f"{major}.{minor}",
            sensor=_ascii(sensor),
            image_width=width,
            image_height=height,
            template_size=tsize,
            library_size=total,
        )


def _ascii(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()


def pack_image(image: np.ndarray) -> bytes:
    """A (height, width) array of 4-bit values 0..15 -> bytes, high nibble first."""
    values = np.asarray(image, dtype=np.uint8)
    if values.ndim != 2 or values.shape[1] % 2 or int(values.max(initial=0)) > 15:
        raise ValueError("image must be (height, even width) with values 0..15")
    return ((values[:, 0::2] << 4) | values[:, 1::2]).tobytes()


def unpack_image(data: bytes, geometry: Geometry = ZFM_GEOMETRY) -> np.ndarray:
    """``geometry.packed_bytes`` bytes -> (height, width) uint8 of 4-bit values 0..15."""
    if len(data) != geometry.packed_bytes:
        raise ValueError(
            f"a {geometry.width}x{geometry.height} image needs {geometry.packed_bytes} bytes, "
            f"got {len(data)}"
        )
    packed = np.frombuffer(data, dtype=np.uint8).reshape(geometry.height, geometry.width // 2)
    image = np.empty((geometry.height, geometry.width), dtype=np.uint8)
    image[:, 0::2] = packed >> 4
    image[:, 1::2] = packed & 0x0F
    return image


def expand_nibbles(image: np.ndarray) -> np.ndarray:
    """4-bit grey levels 0..15 -> 0..255 (v * 17, so 15 maps to 255)."""
    return (np.asarray(image, dtype=np.uint8) * 17).astype(np.uint8)


def quantise_to_nibbles(image: np.ndarray) -> np.ndarray:
    """8-bit grey -> 4-bit grey levels 0..15 (the module keeps the high four bits)."""
    return (np.asarray(image, dtype=np.uint8) >> 4).astype(np.uint8)
