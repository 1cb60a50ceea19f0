"""ZhianTec ZFM / R30x / R503 optical fingerprint module over a UART (pyserial).

Handshake: VfyPwd, ReadSysPara, ReadProdInfo (R503; older modules answer "unsupported" and the
driver carries on). Capture: GenImg polled until a finger is on the glass, then UpImage: an
acknowledge packet followed by data packets (PID 02) ending with PID 08, 256x288 pixels at four
bits per pixel, high nibble first. Every packet's checksum is verified; a damaged transfer is
fetched again from the module's image buffer, and never returned as an image.
"""

from __future__ import annotations

import contextlib
import struct
import time

import numpy as np
import serial

from domain.vocabulary import FINGERS
from drivers import r30x_protocol as proto
from drivers.base import (
    Ability,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    ImageDevice,
    Modality,
)
from drivers.errors import (
    CaptureCancelled,
    CaptureTimeout,
    DeviceError,
    DeviceUnavailable,
    ProtocolError,
)
from drivers.r30x_protocol import Confirmation, Instruction, LedColour, LedMode, Pid
from drivers.serial_ports import SERIAL_ERRORS, find_port, open_serial, serial_errors_as_unplug

# Message codes (catalogue area "devices") of what the operator is told.
UNAVAILABLE_CODE = "DEVICE_FINGERPRINT_SCANNER_NOT_ANSWERING"
NO_FINGER_CODE = "DEVICE_FINGERPRINT_NO_FINGER_ON_GLASS"
DAMAGED_CODE = "DEVICE_FINGERPRINT_DATA_DAMAGED"
CANCELLED_CODE = "DEVICE_FINGERPRINT_CAPTURE_CANCELLED"
PASSWORD_CODE = "DEVICE_FINGERPRINT_PASSWORD_REFUSED"
NOT_READABLE_CODE = "DEVICE_FINGERPRINT_FINGER_NOT_READABLE"

_DRAIN_QUIET_S = 0.1
_DRAIN_LIMIT_S = 2.0
_BAUD_MULTIPLIERS = (1, 2, 4, 6, 12)


class _NoAnswer(Exception):
    """No complete packet arrived before the deadline."""


class R30xFingerprintScanner(ImageDevice):
    """A ZhianTec-protocol fingerprint module on a serial port.

    Options: ``baudrate`` (line speed to open with, default 57600), ``address`` (module
    address), ``password``, ``target_baudrate`` (switch the module to this speed after the
    handshake), ``packet_timeout`` (seconds to wait for one answer or data packet),
    ``poll_interval`` (seconds between GenImg polls), ``upload_retries`` (extra UpImage
    attempts after a damaged transfer), ``use_led`` (drive the R503 ring LED),
    ``probe_baudrates`` (try the other standard speeds when the module does not answer).
    """

    driver_name = "r30x"
    abilities = Ability.PING | Ability.READ_PLATEN

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        baudrate: int = 57600,
        address: int = proto.DEFAULT_ADDRESS,
        password: int = proto.DEFAULT_PASSWORD,
        target_baudrate: int | None = None,
        packet_timeout: float = 1.0,
        poll_interval: float = 0.05,
        upload_retries: int = 1,
        use_led: bool = True,
        probe_baudrates: bool = False,
    ) -> None:
        super().__init__(device_id, port)
        self.baudrate = int(baudrate)
        self.address = int(address)
        self.password = int(password)
        self.target_baudrate = int(target_baudrate) if target_baudrate else None
        self.packet_timeout = float(packet_timeout)
        self.poll_interval = float(poll_interval)
        self.upload_retries = max(0, int(upload_retries))
        self.use_led = bool(use_led)
        self.probe_baudrates = bool(probe_baudrates)
        self.system_parameters: proto.SystemParameters | None = None
        self.product_info: proto.ProductInfo | None = None
        self.discarded_bytes = 0
        self._serial: serial.Serial | None = None
        self._decoder = proto.PacketDecoder(address=self.address)
        self._led_supported = True
        self._sensor_failures = 0

    # -- Device -----------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            modality=Modality.FINGERPRINT,
            positions=FINGERS,
            width=proto.IMAGE_WIDTH,
            height=proto.IMAGE_HEIGHT,
            ppi=500,
            live_preview=False,
        )

    def open(self) -> None:
        """Open the port, verify the password, read parameters and identity."""
        self.close()
        try:
            self._serial = open_serial(self.port, self.baudrate, UNAVAILABLE_CODE)
        except DeviceUnavailable:
            self.status = DeviceStatus.DISCONNECTED
            raise
        try:
            self._handshake()
            self.system_parameters = self.read_system_parameters()
            self.product_info = self.read_product_info()
            if self.target_baudrate and self.target_baudrate != self._serial.baudrate:
                self.change_baudrate(self.target_baudrate)
        except BaseException:
            self.close()
            raise
        self.identity = self._identity()
        self.status = DeviceStatus.READY

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                port.close()
        self.status = DeviceStatus.DISCONNECTED

    # -- capture (the loop is ImageDevice.capture) -------------------------------------------
    def _begin_capture(self, position: str | None) -> None:
        self._sensor_failures = 0
        self.set_led(LedMode.BREATHING, LedColour.BLUE)

    def _try_capture(self, position: str | None, deadline: float) -> np.ndarray | None:
        """GenImg (0x01); once it took an image, UpImage: uint8 (288, 256), grey 0..255."""
        confirmation, _ = self._execute(Instruction.GEN_IMG)
        if confirmation == Confirmation.OK:
            image = self._upload_image()
            self.set_led(LedMode.FLASHING, LedColour.PURPLE, count=1)
            return proto.expand_nibbles(image)
        if confirmation == Confirmation.IMAGE_FAIL:
            self._sensor_failures += 1
        elif confirmation != Confirmation.NO_FINGER:
            raise ProtocolError(f"GenImg answered 0x{confirmation:02x}", code=DAMAGED_CODE)
        return None

    def _nothing_presented(self) -> CaptureTimeout:
        if self._sensor_failures:
            return CaptureTimeout(
                f"finger not readable ({self._sensor_failures} failed reads)",
                code=NOT_READABLE_CODE,
            )
        return CaptureTimeout("no finger on the scanner", code=NO_FINGER_CODE)

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("capture cancelled", code=CANCELLED_CODE)

    def present(self) -> bool:
        """Whether the port is there (the path exists or a USB-serial adapter matches)."""
        return find_port(self.port) is not None

    def upload(self) -> np.ndarray:
        """UpImage (0x0A) of the module's image buffer: uint8 (288, 256), grey 0..255."""
        with self.lock:
            self._ensure_open()
            return proto.expand_nibbles(self._upload_image())

    def read_platen(self, timeout: float = 1.0) -> np.ndarray | None:
        """What the sensor sees with nothing on it: None when GenImg detects nothing.

        A clean, empty platen answers "no finger"; residue (or a finger left on the glass)
        makes GenImg take an image, which is uploaded and returned for inspection.
        """
        with self.lock:
            self._ensure_open()
            deadline = time.monotonic() + timeout
            while True:
                confirmation, _ = self._execute(Instruction.GEN_IMG)
                if confirmation == Confirmation.OK:
                    return proto.expand_nibbles(self._upload_image())
                if confirmation != Confirmation.IMAGE_FAIL or time.monotonic() >= deadline:
                    return None
                time.sleep(self.poll_interval)

    def ping(self) -> bool:
        """Whether the module answers right now; keeps ``status`` up to date."""
        with self.lock:
            try:
                self._ensure_open()
                self.read_system_parameters()
            except DeviceError:
                self.close()
                return False
            return True

    # -- instructions -----------------------------------------------------------------------
    def read_system_parameters(self) -> proto.SystemParameters:
        """ReadSysPara (0x0F)."""
        confirmation, params = self._execute(Instruction.READ_SYS_PARA)
        self._expect_ok(confirmation, "ReadSysPara")
        return proto.SystemParameters.unpack(params)

    def read_product_info(self) -> proto.ProductInfo | None:
        """ReadProdInfo (0x3C, R503); None when the module does not know the instruction."""
        confirmation, params = self._execute(Instruction.READ_PROD_INFO)
        if confirmation != Confirmation.OK:
            return None
        try:
            return proto.ProductInfo.unpack(params)
        except ValueError:
            return None

    def set_led(
        self,
        mode: LedMode,
        colour: LedColour = LedColour.BLUE,
        *,
        speed: int = 0x80,
        count: int = 0,
    ) -> bool:
        """AuraLedConfig (0x35, R503). False when the module has no ring LED."""
        if not (self.use_led and self._led_supported):
            return False
        params = bytes([int(mode), speed & 0xFF, int(colour), count & 0xFF])
        confirmation, _ = self._execute(Instruction.AURA_LED_CONFIG, params)
        if confirmation != Confirmation.OK:
            self._led_supported = False
            return False
        return True

    def change_baudrate(self, baudrate: int) -> None:
        """SetSysPara (0x0E) parameter 4: the module switches speed after its answer."""
        multiplier, remainder = divmod(baudrate, proto.BAUD_UNIT)
        if remainder or multiplier not in _BAUD_MULTIPLIERS:
            raise ValueError(f"baud rate must be 9600 x {_BAUD_MULTIPLIERS}, got {baudrate}")
        params = bytes([proto.SysParam.BAUD, multiplier])
        confirmation, _ = self._execute(Instruction.SET_SYS_PARA, params)
        self._expect_ok(confirmation, "SetSysPara(baud)")
        assert self._serial is not None
        self._serial.baudrate = baudrate
        self.baudrate = baudrate
        self.system_parameters = self.read_system_parameters()

    # -- internals --------------------------------------------------------------------------
    def _identity(self) -> DeviceIdentity:
        info = self.product_info
        if info is None:
            return DeviceIdentity(vendor="ZhianTec", model="R30x", transport="uart", port=self.port)
        return DeviceIdentity(
            vendor="Hangzhou Grow",
            model=info.model or "R503",
            serial=info.serial,
            firmware=f"hw {info.hardware_version}, sensor {info.sensor}, batch {info.batch}",
            transport="uart",
            port=self.port,
        )

    def _handshake(self) -> None:
        assert self._serial is not None
        speeds = [self.baudrate]
        if self.probe_baudrates:
            speeds += [m * proto.BAUD_UNIT for m in _BAUD_MULTIPLIERS if m * 9600 != self.baudrate]
        for speed in speeds:
            self._serial.baudrate = speed
            try:
                confirmation, _ = self._execute(
                    Instruction.VFY_PWD, struct.pack(">I", self.password)
                )
            except DeviceUnavailable:
                if speed == speeds[-1]:
                    raise
                continue
            if confirmation == Confirmation.WRONG_PASSWORD:
                raise DeviceUnavailable("module refused the password", code=PASSWORD_CODE)
            self._expect_ok(confirmation, "VfyPwd")
            self.baudrate = speed
            return

    def _upload_image(self) -> np.ndarray:
        last_error: ProtocolError | None = None
        for _ in range(1 + self.upload_retries):
            try:
                return self._upload_image_once()
            except ProtocolError as error:
                last_error = error
                self._drain()
        assert last_error is not None
        raise last_error

    def _upload_image_once(self) -> np.ndarray:
        confirmation, _ = self._execute(Instruction.UP_IMAGE)
        if confirmation != Confirmation.OK:
            raise ProtocolError(f"UpImage answered 0x{confirmation:02x}", code=DAMAGED_CODE)
        data = bytearray()
        max_packets = proto.IMAGE_BYTES // 32 + 1
        for _ in range(max_packets):
            try:
                packet = self._read_packet(time.monotonic() + self.packet_timeout)
            except _NoAnswer:
                raise ProtocolError(
                    f"image transfer stopped after {len(data)} of {proto.IMAGE_BYTES} bytes",
                    code=DAMAGED_CODE,
                ) from None
            if packet.pid not in (Pid.DATA, Pid.END_DATA):
                raise ProtocolError(
                    f"unexpected PID 0x{packet.pid:02x} in image", code=DAMAGED_CODE
                )
            data += packet.payload
            if len(data) > proto.IMAGE_BYTES:
                raise ProtocolError(
                    f"image longer than {proto.IMAGE_BYTES} bytes", code=DAMAGED_CODE
                )
            if packet.pid == Pid.END_DATA:
                break
        if len(data) != proto.IMAGE_BYTES:
            raise ProtocolError(
                f"image of {len(data)} bytes, expected {proto.IMAGE_BYTES}", code=DAMAGED_CODE
            )
        return proto.unpack_image(bytes(data))

    def _execute(self, instruction: int, params: bytes = b"") -> tuple[int, bytes]:
        """Send one command, return (confirmation code, returned parameters)."""
        self._discard_input()
        self._write(proto.command(instruction, params, self.address))
        deadline = time.monotonic() + self.packet_timeout
        while True:
            try:
                packet = self._read_packet(deadline)
            except _NoAnswer:
                raise DeviceUnavailable(
                    f"no answer to instruction 0x{instruction:02x} within "
                    f"{self.packet_timeout:.1f} s",
                    code=UNAVAILABLE_CODE,
                ) from None
            if packet.pid == Pid.ACK and packet.payload:
                return packet.payload[0], packet.payload[1:]

    def _expect_ok(self, confirmation: int, what: str) -> None:
        if confirmation != Confirmation.OK:
            raise ProtocolError(f"{what} answered 0x{confirmation:02x}", code=DAMAGED_CODE)

    def _read_packet(self, deadline: float) -> proto.Packet:
        """The next packet before ``deadline``; ProtocolError on a bad checksum."""
        port = self._port()
        while True:
            try:
                packet = self._decoder.next_packet()
            except proto.ChecksumError as error:
                raise ProtocolError(str(error), code=DAMAGED_CODE) from None
            finally:
                self.discarded_bytes = self._decoder.discarded
            if packet is not None:
                return packet
            if time.monotonic() >= deadline:
                raise _NoAnswer
            self._decoder.feed(self._read_available(port))

    def _read_available(self, port: serial.Serial) -> bytes:
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            return port.read(max(1, port.in_waiting))

    def _write(self, data: bytes) -> None:
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            self._port().write(data)

    def _discard_input(self) -> None:
        self._decoder.clear()
        with serial_errors_as_unplug(self.port, UNAVAILABLE_CODE):
            self._port().reset_input_buffer()

    def _drain(self) -> None:
        """Swallow the rest of a damaged transfer: read until the line is quiet."""
        port = self._port()
        limit = time.monotonic() + _DRAIN_LIMIT_S
        quiet_since = time.monotonic()
        while time.monotonic() < limit and time.monotonic() - quiet_since < _DRAIN_QUIET_S:
            if self._read_available(port):
                quiet_since = time.monotonic()
        self._decoder.clear()

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise DeviceUnavailable(f"{self.port} is not open", code=UNAVAILABLE_CODE)
        return self._serial
