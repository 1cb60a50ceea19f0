"""ZhianTec ZFM / R30x / AS608 / R503 fingerprint module over a UART (pyserial).

Open: the line speed is probed (the configured rate, then 57,600, then the other rates the
manuals list: 9600 x 1/2/4/6/12) with VfyPwd until the module answers. Then ReadSysPara
(optional: an R308 answers it 0x01, bastianraschke/pyfingerprint issue #44) and ReadProdInfo
(R503 user manual v1.4.1; older modules answer an error code and the driver carries on).

Image size: the ReadProdInfo block's width and height where the module answers it, else the
``model`` option's entry of ``MODEL_GEOMETRY``, else the ZFM/R30x 256x288.

Capture: GenImg polled until a finger is on the glass, then UpImage: an acknowledge packet
followed by data packets (PID 02) ending with PID 08, four bits per pixel, high nibble first.
Every packet's checksum is verified; a damaged transfer is fetched again from the module's
image buffer, and never returned as an image. GenImg has its own answer timeout
(``capture_answer_timeout``, 2 s: twice the "< 1.0 s" image acquiring time of the R30x
datasheets; the R503's is "< 0.2 s"); a GenImg left unanswered is a ProtocolError and the port
stays open.

Baud changes (SetSysPara parameter 4): the R307 and R503 manuals say new settings apply at the
next startup; hosts that keep talking at the new rate at once are common too (a firmware may
switch right away). The driver asks the module at the new rate and, failing that, at the old
one, and reports which happened.
"""

from __future__ import annotations

import contextlib
import struct
import time
from enum import Enum

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
SLOW_CODE = "DEVICE_FINGERPRINT_SCANNER_SLOW"

_DRAIN_QUIET_S = 0.1
_DRAIN_LIMIT_S = 2.0
_PROBE_TIMEOUT_S = 0.5  # one VfyPwd answer: 12 bytes, 12.5 ms even at 9600 baud
_BAUD_SETTLE_S = 0.1  # before the first word at a new line speed

# Image size per module, for modules that do not answer ReadProdInfo (or leave the size out).
MODEL_GEOMETRY: dict[str, proto.Geometry] = {
    # R307 user manual ("the image format is 256*288 pixels"); pyfingerprint's downloadImage
    # draws 256x288, written on a ZFM-20 and confirmed on an R301T (pyfingerprint issue #48).
    # AS608: assumed the same (the same protocol family), not checked against its own manual.
    # Not listed: the R305, whose image pyfingerprint issue #50 reports as different.
    "ZFM-20": proto.ZFM_GEOMETRY,
    "R301T": proto.ZFM_GEOMETRY,
    "R307": proto.ZFM_GEOMETRY,
    "AS608": proto.ZFM_GEOMETRY,
    # R503 user manual v1.4.1: "Sensing array 192*192 pixel" (also adafruit/
    # Adafruit_CircuitPython_Fingerprint issue #24, pyfingerprint pull request #117).
    "R503": proto.Geometry(192, 192),
    # brianrho/FPM issue #11: an R551 image stream is 192x192.
    "R551": proto.Geometry(192, 192),
}


class BaudChange(Enum):
    """What a SetSysPara baud change did."""

    APPLIED = "applied"  # the module talks at the new rate now
    AT_NEXT_POWER_UP = "at next power-up"  # stored; the module still talks at the old rate


class _NoAnswer(Exception):
    """No complete packet arrived before the deadline."""


class R30xFingerprintScanner(ImageDevice):
    """A ZhianTec-protocol fingerprint module on a serial port.

    Options: ``baudrate`` (line speed to try first, default 57600), ``probe_baudrates`` (try
    the other documented speeds when the module does not answer there; default on),
    ``model`` (a ``MODEL_GEOMETRY`` name, for modules that do not report their image size),
    ``address`` (module address), ``password``, ``target_baudrate`` (ask the module for this
    speed after the handshake), ``packet_timeout`` (seconds to wait for one answer or data
    packet), ``capture_answer_timeout`` (seconds to wait for GenImg's answer),
    ``poll_interval`` (seconds between GenImg polls), ``upload_retries`` (extra UpImage
    attempts after a damaged transfer), ``use_led`` (drive the R503 ring LED).
    """

    driver_name = "r30x"
    abilities = Ability.PING | Ability.READ_PLATEN

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        baudrate: int = proto.FACTORY_BAUDRATE,
        probe_baudrates: bool = True,
        model: str | None = None,
        address: int = proto.DEFAULT_ADDRESS,
        password: int = proto.DEFAULT_PASSWORD,
        target_baudrate: int | None = None,
        packet_timeout: float = 1.0,
        capture_answer_timeout: float = 2.0,
        poll_interval: float = 0.05,
        upload_retries: int = 1,
        use_led: bool = True,
    ) -> None:
        super().__init__(device_id, port)
        if model is not None and model not in MODEL_GEOMETRY:
            known = ", ".join(MODEL_GEOMETRY)
            raise ValueError(f"unknown R30x model {model!r}; known: {known}")
        self.baudrate = int(baudrate)
        self.probe_baudrates = bool(probe_baudrates)
        self.model = model
        self.address = int(address)
        self.password = int(password)
        self.target_baudrate = int(target_baudrate) if target_baudrate else None
        self.packet_timeout = float(packet_timeout)
        self.capture_answer_timeout = float(capture_answer_timeout)
        self.poll_interval = float(poll_interval)
        self.upload_retries = max(0, int(upload_retries))
        self.use_led = bool(use_led)
        self.system_parameters: proto.SystemParameters | None = None
        self.product_info: proto.ProductInfo | None = None
        self.geometry = MODEL_GEOMETRY[model] if model else proto.ZFM_GEOMETRY
        self.pending_baudrate: int | None = None  # stored in the module, live at power-up
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
            width=self.geometry.width,
            height=self.geometry.height,
            ppi=500,
            live_preview=False,
        )

    def open(self) -> None:
        """Open the port, find the line speed, verify the password, read what the module
        tells about itself (system parameters and product information, where it answers)."""
        self.close()
        try:
            self._serial = open_serial(self.port, self.baudrate, UNAVAILABLE_CODE)
        except DeviceUnavailable:
            self.status = DeviceStatus.DISCONNECTED
            raise
        try:
            self._handshake()
            if self.pending_baudrate == self.baudrate:
                self.pending_baudrate = None  # the module was powered on again since
            self.system_parameters = self.read_system_parameters()
            self.product_info = self.read_product_info()
            self.geometry = self._geometry()
            if self.target_baudrate not in (None, self.baudrate, self.pending_baudrate):
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
        """GenImg (0x01); once it took an image, UpImage: uint8 (height, width), grey 0..255."""
        confirmation = self._gen_img()
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
        """UpImage (0x0A) of the module's image buffer: uint8 (height, width), grey 0..255."""
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
                confirmation = self._gen_img()
                if confirmation == Confirmation.OK:
                    return proto.expand_nibbles(self._upload_image())
                if confirmation != Confirmation.IMAGE_FAIL or time.monotonic() >= deadline:
                    return None
                time.sleep(self.poll_interval)

    def ping(self) -> bool:
        """Whether the module answers right now (any acknowledge counts: an R308 answers
        ReadSysPara with an error code); keeps ``status`` up to date."""
        with self.lock:
            try:
                self._ensure_open()
                self._execute(Instruction.READ_SYS_PARA)
            except DeviceError:
                self.close()
                return False
            return True

    # -- instructions -----------------------------------------------------------------------
    def read_system_parameters(self) -> proto.SystemParameters | None:
        """ReadSysPara (0x0F); None when the module answers it with an error code (R308)."""
        confirmation, params = self._execute(Instruction.READ_SYS_PARA)
        if confirmation != Confirmation.OK:
            return None
        try:
            return proto.SystemParameters.unpack(params)
        except ValueError:
            return None

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

    def change_baudrate(self, baudrate: int) -> BaudChange:
        """SetSysPara (0x0E) parameter 4, then find out when the module applies it.

        The R307 and R503 manuals say settings apply at the next startup; a firmware that
        switches right after its answer must work too. The driver talks at the new rate (and,
        failing that, at the old one, then the new one again) and follows whichever answers:
        APPLIED, or AT_NEXT_POWER_UP with ``pending_baudrate`` set (the next ``open`` probes
        it first)."""
        multiplier, remainder = divmod(baudrate, proto.BAUD_UNIT)
        if remainder or multiplier not in proto.BAUD_MULTIPLIERS:
            raise ValueError(f"baud rate must be 9600 x {proto.BAUD_MULTIPLIERS}, got {baudrate}")
        params = bytes([proto.SysParam.BAUD, multiplier])
        confirmation, _ = self._execute(Instruction.SET_SYS_PARA, params)
        self._expect_ok(confirmation, "SetSysPara(baud)")
        old = self.baudrate
        time.sleep(_BAUD_SETTLE_S)
        for speed in (baudrate, old, baudrate):
            if self._answers_at(speed):
                break
        else:
            raise DeviceUnavailable(
                f"no answer at {baudrate} or {old} baud after SetSysPara(baud)",
                code=UNAVAILABLE_CODE,
            )
        applied = speed == baudrate
        self.pending_baudrate = None if applied else baudrate
        self.system_parameters = self.read_system_parameters()
        self.identity = self._identity()
        return BaudChange.APPLIED if applied else BaudChange.AT_NEXT_POWER_UP

    # -- internals --------------------------------------------------------------------------
    def _geometry(self) -> proto.Geometry:
        """The image size: the module's own word, else the configured model's, else ZFM's."""
        reported = self.product_info.geometry if self.product_info else None
        if reported is not None:
            return reported
        return MODEL_GEOMETRY[self.model] if self.model else proto.ZFM_GEOMETRY

    def _identity(self) -> DeviceIdentity:
        geometry = self._geometry()
        mode = {"baudrate": str(self.baudrate), "image_size": f"{geometry.width}x{geometry.height}"}
        if self.pending_baudrate:
            mode["baudrate_at_next_power_up"] = str(self.pending_baudrate)
        if self.system_parameters is not None:
            mode["packet_bytes"] = str(self.system_parameters.packet_size)
            mode["security_level"] = str(self.system_parameters.security_level)
        info = self.product_info
        if info is None:
            return DeviceIdentity(
                vendor="ZhianTec",
                model=self.model or "R30x",
                transport="uart",
                port=self.port,
                mode=mode,
            )
        return DeviceIdentity(
            vendor="Hangzhou Grow",
            model=info.model or self.model or "R30x",
            serial=info.serial,
            firmware=f"hw {info.hardware_version}, sensor {info.sensor}, batch {info.batch}",
            transport="uart",
            port=self.port,
            mode=mode,
        )

    def _baudrates_to_try(self) -> list[int]:
        """A rate stored for the next power-up, the rate in use (configured or found), then
        57,600 (the factory's), then the manuals' other rates."""
        speeds = [self.baudrate]
        if self.pending_baudrate and self.probe_baudrates:
            speeds.insert(0, self.pending_baudrate)
        if self.probe_baudrates:
            documented = [m * proto.BAUD_UNIT for m in proto.BAUD_MULTIPLIERS]
            for speed in [proto.FACTORY_BAUDRATE, *documented]:
                if speed not in speeds:
                    speeds.append(speed)
        return speeds

    def _handshake(self) -> None:
        """VfyPwd at each candidate speed until the module answers."""
        speeds = self._baudrates_to_try()
        timeout = min(self.packet_timeout, _PROBE_TIMEOUT_S) if len(speeds) > 1 else None
        for speed in speeds:
            self._port().baudrate = speed
            try:
                confirmation, _ = self._request(
                    Instruction.VFY_PWD, struct.pack(">I", self.password), timeout
                )
            except _NoAnswer:
                continue
            self.baudrate = speed
            if confirmation == Confirmation.WRONG_PASSWORD:
                raise DeviceUnavailable("module refused the password", code=PASSWORD_CODE)
            self._expect_ok(confirmation, "VfyPwd")
            return
        tried = ", ".join(str(speed) for speed in speeds)
        raise DeviceUnavailable(f"no answer to VfyPwd at {tried} baud", code=UNAVAILABLE_CODE)

    def _answers_at(self, speed: int) -> bool:
        """Whether the module acknowledges VfyPwd at ``speed`` (the port is left there)."""
        self._port().baudrate = speed
        try:
            self._request(
                Instruction.VFY_PWD,
                struct.pack(">I", self.password),
                min(self.packet_timeout, _PROBE_TIMEOUT_S),
            )
        except _NoAnswer:
            return False
        self.baudrate = speed
        return True

    def _gen_img(self) -> int:
        """GenImg's confirmation code. Unanswered within ``capture_answer_timeout``: a
        ProtocolError (a slow or stuck sensor, not a pulled cable: the port stays open)."""
        try:
            confirmation, _ = self._request(Instruction.GEN_IMG, b"", self.capture_answer_timeout)
        except _NoAnswer:
            self._drain()  # an answer arriving late must not pass for the next command's
            raise ProtocolError(
                f"no answer to GenImg within {self.capture_answer_timeout:.1f} s",
                code=SLOW_CODE,
            ) from None
        return confirmation

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
        geometry = self.geometry
        expected = geometry.packed_bytes
        data = bytearray()
        for _ in range(expected // 32 + 1):
            try:
                packet = self._read_packet(time.monotonic() + self.packet_timeout)
            except _NoAnswer:
                raise ProtocolError(
                    f"image transfer stopped after {len(data)} of {expected} bytes",
                    code=DAMAGED_CODE,
                ) from None
            if packet.pid not in (Pid.DATA, Pid.END_DATA):
                raise ProtocolError(
                    f"unexpected PID 0x{packet.pid:02x} in image", code=DAMAGED_CODE
                )
            data += packet.payload
            if len(data) > expected:
                raise ProtocolError(
                    f"image longer than {expected} bytes "
                    f"({geometry.width}x{geometry.height}: is the model right?)",
                    code=DAMAGED_CODE,
                )
            if packet.pid == Pid.END_DATA:
                break
        if len(data) != expected:
            raise ProtocolError(
                f"image of {len(data)} bytes, expected {expected} "
                f"({geometry.width}x{geometry.height}: is the model right?)",
                code=DAMAGED_CODE,
            )
        return proto.unpack_image(bytes(data), geometry)

    def _execute(self, instruction: int, params: bytes = b"") -> tuple[int, bytes]:
        """Send one command, return (confirmation code, returned parameters); a module that
        does not answer within ``packet_timeout`` is unavailable."""
        try:
            return self._request(instruction, params, self.packet_timeout)
        except _NoAnswer:
            raise DeviceUnavailable(
                f"no answer to instruction 0x{instruction:02x} within {self.packet_timeout:.1f} s",
                code=UNAVAILABLE_CODE,
            ) from None

    def _request(self, instruction: int, params: bytes, timeout: float | None) -> tuple[int, bytes]:
        """Send one command and wait ``timeout`` (default ``packet_timeout``) for its
        acknowledge; raises _NoAnswer."""
        self._discard_input()
        self._write(proto.command(instruction, params, self.address))
        deadline = time.monotonic() + (self.packet_timeout if timeout is None else timeout)
        while True:
            packet = self._read_packet(deadline)
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
