"""A simulated ZhianTec / Hangzhou Grow UART fingerprint module (ZFM, R30x, AS608, R503).

Written from the public documents, with its own constants and codec (it imports nothing from
``drivers``), so a misreading in the driver shows up as a failing test:

- Hangzhou Grow, "R503/R503-M22 Fingerprint Module User Manual" v1.4.1 (2023-09), the source of
  every byte below unless another is named:
  - package: ``EF01`` | address (4) | PID (1) | length (2) | content | checksum (2), big-endian.
    Length = content + 2 (the checksum); the checksum is the arithmetic sum of PID, both length
    bytes and the content, "overflowing bits are omitted" (low 16 bits). Max length 256.
    PID 01 command, 02 data with more to follow, 07 acknowledge, 08 last data packet. A
    module "only responds to data package whose address item value is the same with its
    identifying address".
  - acknowledge content: confirmation code (1) + returned parameters. 00 OK, 01 error when
    receiving a package, 02 no finger, 03 failed to collect the finger, 0F image upload failed,
    13 wrong password, 1A invalid register, 21 password must be verified, FC unsupported command.
  - VfyPwd 13h + password (4). SetSysPara 0Eh + parameter number + value: 4 baud (N: 9600 x N,
    N in 1/2/4/6/12), 5 security level 1..5, 6 data packet size code (0..3 = 32/64/128/256;
    128 "before delivery"). ReadSysPara 0Fh -> 16 bytes: status register, system identifier
    (0x0000), library size, security level (words), device address (4 bytes), packet size code,
    baud N (words). Status register bits: 0 busy, 1 pass, 2 password verified, 3 image buffer
    holds a valid image.
  - "After the upper computer sets the system parameter instructions, the system must be
    powered on again so that the module can work according to the new configuration."
  - power-on: about 50 ms of initialisation, then the module "will immediately send a byte
    (0x55)".
  - GenImg 01h; UpImage 0Ah: acknowledge, then data packets of the configured size, the last
    one PID 08. Pixels travel as "the high four bits", "two pixels combined into one byte", the
    high nibble the left pixel of the pair.
  - ReadProdInfo 3Ch: acknowledge length 0x0031, i.e. 46 bytes: model (16, ASCII, 0-padded),
    batch (4), serial (8), hardware version (major, minor), sensor type (8), image width (2),
    image height (2), template size (2), library size (2). The field table adds "Other 4
    System reserved" that the length field leaves out; this model follows the length field.
  - AuraLedConfig 35h + control (1 breathing .. 6 fade out), speed, colour index, count.
  - "Sensing array 192*192 pixel", library 200, image acquiring time < 0.2 s.
- Hangzhou Grow, R307 user manual, as quoted in a public project report
  (CLOUD-AND-FINGERPRINT-BASED-LICENSE-AUTHENTICATION-SYSTEM, 2019): the same packets; "Image
  Buffer serves for image storage and the image format is 256*288 pixels", upper four bits,
  two adjacent pixels of a row to a byte; N = [1, 12]; "Module first responses with original
  configurations, then performs the parameter modification and writes configuration record
  into Flash. At the next startup, system will run with the new configurations."; about 200 ms
  of initialisation at power-on (no 0x55 is mentioned).
- bastianraschke/pyfingerprint issue #44: an R308 answers ReadSysPara with 0x01
  ("Communication error"); its other instructions work.

The AS608 entry assumes the R307's behaviour (the same Synochip protocol family); it is not
checked against a manual of its own. Library sizes other than the R503's, and the
sensor name and batch in its product information, are nominal.

A module whose UART runs at another speed than the host's reads noise and answers nothing: the
model compares its speed with the speed the host set on the pty (termios).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.devices.platen import apply_dirt
from simulator.devices.serial_link import DeviceUnplugged, SerialDeviceSimulator

FingerSource = Callable[[], np.ndarray | None]

R30X_FAULTS = (
    "no_finger",  # GenImg always answers "no finger"
    "corrupt_checksum",  # packet=<index of the data packet>, times=<transfers affected>
    "truncate",  # after_bytes=<image bytes sent before the line goes silent>, times=...
    "garbage",  # count=<noise bytes before each answer>, times=...
    "unplug_mid_transfer",  # after_packets=<data packets sent before the cable is pulled>
    "sensor_error",  # GenImg answers "fail to collect finger"
    "timeout",  # the module answers nothing: times=<commands ignored> (default: until cleared)
    "slow_link",  # baudrate=<the line's real speed>: answers and images crawl
    "dirty_platen",  # coverage=<0..1 of the glass, default 0.06>: residue GenImg images
    "slow_capture",  # seconds=<time GenImg takes before it answers>, times=...
)

# -- the wire, as the manual draws it ---------------------------------------------------------
START = bytes((0xEF, 0x01))
FACTORY_ADDRESS = 0xFFFFFFFF
FACTORY_PASSWORD = 0
READY_BYTE = 0x55
BAUD_STEP = 9600
BAUD_FACTORS = (1, 2, 4, 6, 12)
PACKET_SIZES = (32, 64, 128, 256)
FACTORY_PACKET_SIZE_CODE = 2

PID_COMMAND, PID_DATA, PID_ACK, PID_LAST_DATA = 0x01, 0x02, 0x07, 0x08

GEN_IMG, UP_IMAGE, SET_SYS_PARA, READ_SYS_PARA = 0x01, 0x0A, 0x0E, 0x0F
VFY_PWD, AURA_LED_CONFIG, READ_PROD_INFO = 0x13, 0x35, 0x3C

OK, RECEIVE_ERROR, NO_FINGER, COLLECT_FAILED = 0x00, 0x01, 0x02, 0x03
UPLOAD_FAILED, WRONG_PASSWORD, BAD_REGISTER = 0x0F, 0x13, 0x1A
VERIFY_PASSWORD_FIRST, UNSUPPORTED = 0x21, 0xFC

REG_BAUD, REG_SECURITY, REG_PACKET_SIZE = 4, 5, 6


def frame(pid: int, content: bytes, address: int) -> bytes:
    """One package on the wire: start, address, PID, length, content, 16-bit sum."""
    length = len(content) + 2
    head = bytes((pid, length >> 8, length & 0xFF))
    total = sum(head) + sum(content)
    return START + address.to_bytes(4, "big") + head + content + (total & 0xFFFF).to_bytes(2, "big")


class CommandReader:
    """The module's receiver: collects command packages addressed to it from the byte stream.

    ``take()`` yields ``(instruction, parameters)`` for a good package and ``None`` for a
    package whose checksum fails (the module answers those with 0x01). Bytes that are not a
    package for this address are dropped.
    """

    def __init__(self, address: int) -> None:
        self.address = address
        self.pending = bytearray()

    def feed(self, data: bytes) -> None:
        self.pending += data

    def take(self) -> list[tuple[int, int, bytes] | None]:
        received: list[tuple[int, int, bytes] | None] = []
        while True:
            start = self.pending.find(START)
            if start < 0:
                del self.pending[: max(0, len(self.pending) - 1)]
                return received
            del self.pending[:start]
            if len(self.pending) < 9:
                return received
            address = int.from_bytes(self.pending[2:6], "big")
            pid = self.pending[6]
            length = (self.pending[7] << 8) | self.pending[8]
            if address != self.address or not 3 <= length <= 258:
                del self.pending[:1]
                continue
            if len(self.pending) < 9 + length:
                return received
            content = bytes(self.pending[9 : 7 + length])
            sent_sum = (self.pending[7 + length] << 8) | self.pending[8 + length]
            del self.pending[: 9 + length]
            if (pid + (length >> 8) + (length & 0xFF) + sum(content)) & 0xFFFF != sent_sum:
                received.append(None)
            else:
                received.append((pid, content[0], content[1:]))


# -- the modules ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModuleModel:
    """What sets one module apart: its sensor, its instruction set, its firmware's habits."""

    name: str
    width: int
    height: int
    library_size: int
    prod_info: bool = False  # answers ReadProdInfo (3Ch)
    ring_led: bool = False  # answers AuraLedConfig (35h)
    sys_para: bool = True  # answers ReadSysPara with its 16 bytes
    settings_at_power_up: bool = False  # SetSysPara takes effect at the next power-up
    ready_byte: bool = False  # sends 0x55 when power-up is done
    illegal_instruction: int = UNSUPPORTED  # the answer to an instruction it lacks
    sensor: str = ""


MODELS: dict[str, ModuleModel] = {
    # R307 user manual: 256x288, settings from the next startup.
    "R307": ModuleModel(
        "R307", 256, 288, 1000, settings_at_power_up=True, illegal_instruction=RECEIVE_ERROR
    ),
    "AS608": ModuleModel(
        "AS608", 256, 288, 300, settings_at_power_up=True, illegal_instruction=RECEIVE_ERROR
    ),
    # pyfingerprint issue #44: ReadSysPara answered 0x01, everything else works.
    "R308": ModuleModel(
        "R308",
        256,
        288,
        1000,
        sys_para=False,
        settings_at_power_up=True,
        illegal_instruction=RECEIVE_ERROR,
    ),
    # R503 user manual v1.4.1.
    "R503": ModuleModel(
        "R503",
        192,
        192,
        200,
        prod_info=True,
        ring_led=True,
        settings_at_power_up=True,
        ready_byte=True,
        sensor="FPC1021",
    ),
}


def sensor_image(
    image: np.ndarray | None, width: int = 256, height: int = 288
) -> np.ndarray | None:
    """What a ``width`` x ``height`` sensor keeps of a grey fingerprint: centred, cropped or
    padded with white, 16 grey levels (0..15, the high four bits)."""
    if image is None:
        return None
    grey = np.asarray(image, dtype=np.uint8)
    if grey.ndim == 3:
        grey = grey.mean(axis=2).astype(np.uint8)
    glass = np.full((height, width), 255, dtype=np.uint8)
    rows, cols = min(grey.shape[0], height), min(grey.shape[1], width)
    src_top, src_left = (grey.shape[0] - rows) // 2, (grey.shape[1] - cols) // 2
    top, left = (height - rows) // 2, (width - cols) // 2
    glass[top : top + rows, left : left + cols] = grey[
        src_top : src_top + rows, src_left : src_left + cols
    ]
    return glass >> 4


def nibble_bytes(levels: np.ndarray) -> bytes:
    """16-level pixels, two to a byte: the left pixel in the high four bits."""
    pairs = np.asarray(levels, dtype=np.uint8).reshape(-1, 2)
    return ((pairs[:, 0] << 4) | pairs[:, 1]).astype(np.uint8).tobytes()


class SimulatedR30x(SerialDeviceSimulator):
    """The module side of the protocol on a pty.

    ``finger_source`` returns what lies on the platen right now (None: nothing). ``model``
    names an entry of ``MODELS`` (or is a ``ModuleModel``); ``baudrate`` and
    ``packet_size_code`` are the settings in the module's flash at power-up.
    """

    name = "r30x"

    def __init__(
        self,
        finger_source: FingerSource,
        *,
        model: str | ModuleModel = "R307",
        link_path: str | os.PathLike[str] | None = None,
        baudrate: int = 57600,
        pace: bool = False,
        address: int = FACTORY_ADDRESS,
        password: int = FACTORY_PASSWORD,
        packet_size_code: int = FACTORY_PACKET_SIZE_CODE,
        serial: str = "SIM00001",
    ) -> None:
        super().__init__(link_path=link_path, baudrate=baudrate, pace=pace)
        self.model = model if isinstance(model, ModuleModel) else MODELS[model]
        self.finger_source = finger_source
        self.address = address
        self.password = password
        self.serial = serial
        # Flash: what SetSysPara wrote, what the next power-up starts with.
        self.stored_baud_factor = baudrate // BAUD_STEP
        self.stored_packet_size_code = packet_size_code
        self.packet_size_code = packet_size_code
        self.security_level = 3
        self.led_state: tuple[int, int, int, int] | None = None
        self.image_buffer: np.ndarray | None = None
        self.commands_seen: list[int] = []
        self.bytes_unheard = 0  # bytes that arrived at another speed than the module's
        self._reader = CommandReader(address)
        self._password_ok = password == FACTORY_PASSWORD

    # -- control from the kit / tests -------------------------------------------------------
    def set_fault(self, name: str, **params: Any) -> None:
        if name not in R30X_FAULTS:
            raise ValueError(f"unknown r30x fault {name!r}; known: {', '.join(R30X_FAULTS)}")
        params = dict(params)
        if name == "unplug_mid_transfer":
            params.setdefault("times", 1)  # a pulled cable stays pulled until plugged again
        with self.state_lock:
            self.faults[name] = params

    def clear_faults(self) -> None:
        with self.state_lock:
            self.faults.clear()

    @property
    def last_image(self) -> np.ndarray | None:
        """The 16-level image (values 0..15) in the module's image buffer."""
        return None if self.image_buffer is None else self.image_buffer.copy()

    def sensor_image(self, finger: np.ndarray | None) -> np.ndarray | None:
        """What this module's sensor makes of ``finger``."""
        return sensor_image(finger, self.model.width, self.model.height)

    # -- power and bytes --------------------------------------------------------------------
    def on_connect(self) -> None:
        """Power-up: RAM cleared, the settings in flash take effect, then 0x55 if the model
        sends it."""
        self.baudrate = self.stored_baud_factor * BAUD_STEP
        self.packet_size_code = self.stored_packet_size_code
        self._reader = CommandReader(self.address)
        self._password_ok = self.password == FACTORY_PASSWORD
        self.image_buffer = None
        self.led_state = None
        if self.model.ready_byte:
            self.send(bytes((READY_BYTE,)))

    def on_bytes(self, data: bytes) -> None:
        host = self.host_baudrate()
        if host is not None and host != self.baudrate:
            self.bytes_unheard += len(data)  # framing errors: nothing the module can read
            return
        self._reader.feed(data)
        for package in self._reader.take():
            if package is None or package[0] != PID_COMMAND:
                self._answer(RECEIVE_ERROR)
            else:
                self._execute(package[1], package[2])

    # -- instructions -----------------------------------------------------------------------
    def _execute(self, instruction: int, params: bytes) -> None:
        self.commands_seen.append(instruction)
        if self._take_fault("timeout") is not None:
            return  # a hung module: the command is swallowed
        if instruction == VFY_PWD:
            self._password_ok = len(params) == 4 and int.from_bytes(params, "big") == self.password
            self._answer(OK if self._password_ok else WRONG_PASSWORD)
        elif not self._password_ok:
            self._answer(VERIFY_PASSWORD_FIRST)
        elif instruction == GEN_IMG:
            self._answer(self._collect_image())
        elif instruction == UP_IMAGE:
            self._upload_image()
        elif instruction == READ_SYS_PARA and self.model.sys_para:
            self._answer(OK, self._system_parameters())
        elif instruction == SET_SYS_PARA and len(params) == 2:
            self._answer(self._set_parameter(params[0], params[1]))
            if params[0] == REG_BAUD and not self.model.settings_at_power_up:
                self.baudrate = self.stored_baud_factor * BAUD_STEP  # after the answer
        elif instruction == READ_PROD_INFO and self.model.prod_info:
            self._answer(OK, self._product_information())
        elif instruction == AURA_LED_CONFIG and self.model.ring_led and len(params) == 4:
            self.led_state = (params[0], params[1], params[2], params[3])
            self._answer(OK)
        else:
            self._answer(self.model.illegal_instruction)

    def _system_parameters(self) -> bytes:
        status = (0x08 if self.image_buffer is not None else 0) | (
            0x04 if self.password != FACTORY_PASSWORD and self._password_ok else 0
        )
        return struct.pack(
            ">4HI2H",
            status,
            0x0000,
            self.model.library_size,
            self.security_level,
            self.address,
            self.stored_packet_size_code,
            self.stored_baud_factor,
        )

    def _product_information(self) -> bytes:
        def text(value: str, size: int) -> bytes:
            return value.encode("ascii")[:size].ljust(size, b"\x00")

        return (
            text(self.model.name, 16)
            + text("2311", 4)
            + text(self.serial, 8)
            + bytes((1, 2))
            + text(self.model.sensor, 8)
            + struct.pack(">4H", self.model.width, self.model.height, 1536, self.model.library_size)
        )

    def _set_parameter(self, register: int, value: int) -> int:
        if register == REG_BAUD and value in BAUD_FACTORS:
            self.stored_baud_factor = value
        elif register == REG_PACKET_SIZE and 0 <= value < len(PACKET_SIZES):
            self.stored_packet_size_code = value
            if not self.model.settings_at_power_up:
                self.packet_size_code = value
        elif register == REG_SECURITY and 1 <= value <= 5:
            self.security_level = value
        else:
            return BAD_REGISTER
        return OK

    def _collect_image(self) -> int:
        slow = self._take_fault("slow_capture")
        if slow is not None:
            time.sleep(min(float(slow.get("seconds", 1.05)), 5.0))
        if "no_finger" in self.faults:
            return NO_FINGER
        if "sensor_error" in self.faults:
            return COLLECT_FAILED
        finger = self.finger_source()
        dirt = self.faults.get("dirty_platen")
        if dirt is not None:
            seen = self.sensor_image(finger)
            base = (
                np.full((self.model.height, self.model.width), 255, dtype=np.uint8)
                if seen is None
                else (seen * 17).astype(np.uint8)
            )
            finger = apply_dirt(base, float(dirt.get("coverage", 0.06)), int(dirt.get("seed", 0)))
        image = self.sensor_image(finger)
        if image is None:
            return NO_FINGER
        self.image_buffer = image
        return OK

    def _upload_image(self) -> None:
        if self.image_buffer is None:
            self._answer(UPLOAD_FAILED)
            return
        self._answer(OK)
        data = nibble_bytes(self.image_buffer)
        size = PACKET_SIZES[self.packet_size_code]
        count = -(-len(data) // size)
        corrupt = self._take_fault("corrupt_checksum")
        truncate = self._take_fault("truncate")
        unplug = self._take_fault("unplug_mid_transfer")
        stream = bytearray()
        for index in range(count):
            if unplug is not None and index == int(unplug.get("after_packets", count // 3)):
                self.send(bytes(stream))
                self.disconnect_from_inside()
            pid = PID_LAST_DATA if index == count - 1 else PID_DATA
            package = bytearray(frame(pid, data[index * size : (index + 1) * size], self.address))
            if corrupt is not None and index == int(corrupt.get("packet", count // 2)):
                package[-1] ^= 0x5A
            stream += package
        if truncate is not None:
            del stream[9 + int(truncate.get("after_bytes", len(data) // 2 + 7)) :]
        self.send(bytes(stream))

    def _take_fault(self, name: str) -> dict[str, Any] | None:
        """The fault's parameters if active, counting down its ``times``."""
        params = self.faults.get(name)
        if params is None:
            return None
        times = params.get("times")
        if times is not None:
            if times <= 1:
                del self.faults[name]
            else:
                params["times"] = times - 1
        return params

    def _answer(self, confirmation: int, params: bytes = b"") -> None:
        garbage = self._take_fault("garbage")
        if garbage is not None:
            noise = np.random.default_rng(len(self.commands_seen))
            noise_bytes = noise.integers(0, 256, int(garbage.get("count", 7)), dtype=np.uint8)
            noise_bytes[noise_bytes == START[0]] = 0x00  # noise, not a false start
            self.send(noise_bytes.tobytes())
        self.send(frame(PID_ACK, bytes((confirmation,)) + params, self.address))


__all__ = [
    "MODELS",
    "R30X_FAULTS",
    "DeviceUnplugged",
    "ModuleModel",
    "SimulatedR30x",
    "sensor_image",
]
