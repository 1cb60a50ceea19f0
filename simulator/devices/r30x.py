"""A simulated ZhianTec R30x / R503 fingerprint module, byte for byte over a pty."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers import r30x_protocol as proto
from drivers.r30x_protocol import Confirmation, Instruction, Pid
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
)

DEFAULT_PRODUCT = proto.ProductInfo(
    model="R503",
    batch="2311",
    serial="SIM00001",
    hardware_version="1.2",
    sensor="FPC1021",
    image_width=proto.IMAGE_WIDTH,
    image_height=proto.IMAGE_HEIGHT,
    template_size=1536,
    library_size=200,
)


def sensor_image(image: np.ndarray | None) -> np.ndarray | None:
    """Centre-crop / pad (white) a grey fingerprint to 256x288 and keep 4 bits per pixel."""
    if image is None:
        return None
    grey = np.asarray(image, dtype=np.uint8)
    if grey.ndim == 3:
        grey = grey.mean(axis=2).astype(np.uint8)
    canvas = np.full((proto.IMAGE_HEIGHT, proto.IMAGE_WIDTH), 255, dtype=np.uint8)
    rows, cols = grey.shape
    src_top, dst_top, height = _centre(rows, proto.IMAGE_HEIGHT)
    src_left, dst_left, width = _centre(cols, proto.IMAGE_WIDTH)
    canvas[dst_top : dst_top + height, dst_left : dst_left + width] = grey[
        src_top : src_top + height, src_left : src_left + width
    ]
    return proto.quantise_to_nibbles(canvas)


def _centre(source: int, target: int) -> tuple[int, int, int]:
    """(source offset, target offset, extent) that centres ``source`` on ``target``."""
    if source >= target:
        return (source - target) // 2, 0, target
    return 0, (target - source) // 2, source


class SimulatedR30x(SerialDeviceSimulator):
    """The module side of the R30x protocol.

    ``finger_source`` returns what lies on the platen right now (None: nothing). Options model
    a plain R30x (``product_info=None``, no Aura LED) or an R503 (the default).
    """

    name = "r30x"

    def __init__(
        self,
        finger_source: FingerSource,
        *,
        link_path: str | os.PathLike[str] | None = None,
        baudrate: int = 57600,
        pace: bool = False,
        address: int = proto.DEFAULT_ADDRESS,
        password: int = proto.DEFAULT_PASSWORD,
        packet_size_code: int = 2,
        product_info: proto.ProductInfo | None = DEFAULT_PRODUCT,
        aura_led: bool = True,
    ) -> None:
        super().__init__(link_path=link_path, baudrate=baudrate, pace=pace)
        self.finger_source = finger_source
        self.address = address
        self.password = password
        self.packet_size_code = packet_size_code
        self.product_info = product_info
        self.aura_led = aura_led
        self.led_state: tuple[int, int, int, int] | None = None
        self.image_buffer: np.ndarray | None = None
        self.commands_seen: list[int] = []
        self._decoder = proto.PacketDecoder(address=address)
        self._password_ok = password == proto.DEFAULT_PASSWORD

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
        """The 4-bit image (values 0..15) in the module's image buffer."""
        return None if self.image_buffer is None else self.image_buffer.copy()

    # -- protocol ---------------------------------------------------------------------------
    def on_connect(self) -> None:
        self._decoder = proto.PacketDecoder(address=self.address)
        self._password_ok = self.password == proto.DEFAULT_PASSWORD
        self.image_buffer = None

    def on_bytes(self, data: bytes) -> None:
        self._decoder.feed(data)
        while True:
            try:
                packet = self._decoder.next_packet()
            except proto.ChecksumError:
                self._reply(Confirmation.RECEIVE_ERROR)
                continue
            if packet is None:
                return
            if packet.pid != Pid.COMMAND or not packet.payload:
                self._reply(Confirmation.RECEIVE_ERROR)
                continue
            self._execute(packet.payload[0], packet.payload[1:])

    def _execute(self, instruction: int, params: bytes) -> None:
        self.commands_seen.append(instruction)
        if self._take_fault("timeout") is not None:
            return  # a hung module: the command is swallowed
        if instruction == Instruction.VFY_PWD:
            ok = len(params) == 4 and struct.unpack(">I", params)[0] == self.password
            self._password_ok = ok
            self._reply(Confirmation.OK if ok else Confirmation.WRONG_PASSWORD)
        elif not self._password_ok:
            self._reply(Confirmation.PASSWORD_REQUIRED)
        elif instruction == Instruction.READ_SYS_PARA:
            self._reply(Confirmation.OK, self._system_parameters().pack())
        elif instruction == Instruction.READ_PROD_INFO and self.product_info is not None:
            self._reply(Confirmation.OK, self.product_info.pack())
        elif instruction == Instruction.AURA_LED_CONFIG and self.aura_led and len(params) == 4:
            self.led_state = (params[0], params[1], params[2], params[3])
            self._reply(Confirmation.OK)
        elif instruction == Instruction.GEN_IMG:
            self._reply(self._gen_img())
        elif instruction == Instruction.UP_IMAGE:
            self._up_image()
        elif instruction == Instruction.SET_SYS_PARA and len(params) == 2:
            self._set_sys_para(params[0], params[1])
        else:
            self._reply(Confirmation.UNSUPPORTED)

    def _system_parameters(self) -> proto.SystemParameters:
        image_valid = 0x08 if self.image_buffer is not None else 0
        password_verified = 0x04 if self.password != proto.DEFAULT_PASSWORD else 0
        return proto.SystemParameters(
            status_register=image_valid | password_verified,
            system_id=0x0000,
            library_size=self.product_info.library_size if self.product_info else 200,
            security_level=3,
            address=self.address,
            packet_size_code=self.packet_size_code,
            baud_multiplier=self.baudrate // proto.BAUD_UNIT,
        )

    def _gen_img(self) -> Confirmation:
        if "no_finger" in self.faults:
            return Confirmation.NO_FINGER
        if "sensor_error" in self.faults:
            return Confirmation.IMAGE_FAIL
        finger = self.finger_source()
        dirt = self.faults.get("dirty_platen")
        if dirt is not None:
            glass = np.full((proto.IMAGE_HEIGHT, proto.IMAGE_WIDTH), 255, dtype=np.uint8)
            base = glass if finger is None else sensor_image(finger) * 17
            finger = apply_dirt(base, float(dirt.get("coverage", 0.06)), int(dirt.get("seed", 0)))
        image = sensor_image(finger)
        if image is None:
            return Confirmation.NO_FINGER
        self.image_buffer = image
        return Confirmation.OK

    def _set_sys_para(self, number: int, value: int) -> None:
        if number == proto.SysParam.BAUD and value in (1, 2, 4, 6, 12):
            self._reply(Confirmation.OK)
            self.baudrate = value * proto.BAUD_UNIT  # the module switches after its answer
        elif number == proto.SysParam.PACKET_SIZE and value in proto.PACKET_SIZE_CODES:
            self.packet_size_code = value
            self._reply(Confirmation.OK)
        elif number == proto.SysParam.SECURITY_LEVEL and 1 <= value <= 5:
            self._reply(Confirmation.OK)
        else:
            self._reply(Confirmation.INVALID_REGISTER)

    def _up_image(self) -> None:
        if self.image_buffer is None:
            self._reply(Confirmation.UPLOAD_IMAGE_FAIL)
            return
        self._reply(Confirmation.OK)
        data = proto.pack_image(self.image_buffer)
        size = proto.PACKET_SIZE_CODES[self.packet_size_code]
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        corrupt = self._take_fault("corrupt_checksum")
        truncate = self._take_fault("truncate")
        unplug = self._take_fault("unplug_mid_transfer")
        stream = bytearray()
        for index, chunk in enumerate(chunks):
            if unplug is not None and index == int(unplug.get("after_packets", len(chunks) // 3)):
                self.send(bytes(stream))
                self.disconnect_from_inside()
            pid = Pid.END_DATA if index == len(chunks) - 1 else Pid.DATA
            packet = bytearray(proto.encode_packet(pid, chunk, self.address))
            if corrupt is not None and index == int(corrupt.get("packet", len(chunks) // 2)):
                packet[-1] ^= 0x5A
            stream += packet
        if truncate is not None:
            cut = proto.HEADER_SIZE + int(truncate.get("after_bytes", len(data) // 2 + 7))
            del stream[cut:]
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

    def _reply(self, confirmation: int, params: bytes = b"") -> None:
        garbage = self._take_fault("garbage")
        if garbage is not None:
            noise = np.random.default_rng(len(self.commands_seen))
            count = int(garbage.get("count", 7))
            noise_bytes = noise.integers(0, 256, count, dtype=np.uint8)
            noise_bytes[noise_bytes == proto.HEADER[0]] = 0x00  # noise, not a false header
            self.send(noise_bytes.tobytes())
        self.send(proto.ack(confirmation, params, self.address))


__all__ = ["R30X_FAULTS", "DeviceUnplugged", "SimulatedR30x", "sensor_image"]
