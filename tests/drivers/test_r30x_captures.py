"""Bytes of real modules, as published, replayed through the driver's parser and the model.

Sources (public, each quoted where it is used):
- CAPTURE_LOCK: a serial-monitor log of a Syno-protocol lock module (57600 baud, 100-template
  library), dated 2021-12-16, kept in the comment block of a public C driver header ("UartFp",
  "//测试数据"); found by its ReadSysPara answer ``EF 01 FF FF FF FF 07 00 13 00 00 0C 2E C8``.
- adafruit/Adafruit_CircuitPython_Fingerprint issue #29 (2021-02-25): debug output of
  ``get_fpdata`` on a real sensor: the acknowledge ``ef 01 ff ff ff ff 07 00 03 00 00 0a`` and
  a data packet header ``ef 01 ff ff ff ff 02 00 82`` (128 bytes of content).
- brianrho/FPM issue #11 (2018-12-16): an R551's ReadSysPara content as the FPM library printed
  it, ``0 0 0 0 0 1 F4 0 3 FF FF FF FF 0 2 0 6`` after confirmation 0.
- R503 user manual v1.4.1: the checksums it prints for the fixed commands.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import serial

from drivers import r30x_protocol as proto
from drivers.r30x_protocol import Instruction, Pid
from simulator.devices.r30x import SimulatedR30x

pytestmark = pytest.mark.timeout(30)


def wire(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# CAPTURE_LOCK, in the order logged ([RX] from the module, [TX] from the host).
POWER_ON = wire("55")
READ_SYS_PARA_TX = wire("EF 01 FF FF FF FF 01 00 03 0F 00 13")
READ_SYS_PARA_RX = wire(
    "EF 01 FF FF FF FF 07 00 13 00 00 0C 2E C8 00 64 00 03 FF FF FF FF 00 02 00 06 05 87"
)
GEN_IMG_TX = wire("EF 01 FF FF FF FF 01 00 03 01 00 05")
OK_RX = wire("EF 01 FF FF FF FF 07 00 03 00 00 0A")
TEMPLATE_COUNT_RX = wire("EF 01 FF FF FF FF 07 00 05 00 00 01 00 0D")
SEARCH_RX = wire("EF 01 FF FF FF FF 07 00 07 00 00 01 00 50 00 5F")


def decode_all(data: bytes) -> tuple[list[proto.Packet], int]:
    decoder = proto.PacketDecoder(address=proto.DEFAULT_ADDRESS)
    decoder.feed(data)
    packets = []
    for _ in range(len(data)):
        packet = decoder.next_packet()
        if packet is None:
            break
        packets.append(packet)
    return packets, decoder.discarded


def test_the_driver_sends_the_commands_a_real_host_sent() -> None:
    assert proto.command(Instruction.READ_SYS_PARA) == READ_SYS_PARA_TX
    assert proto.command(Instruction.GEN_IMG) == GEN_IMG_TX


def test_a_real_module_s_answers_decode_with_their_checksums() -> None:
    stream = POWER_ON + READ_SYS_PARA_RX + OK_RX + TEMPLATE_COUNT_RX + SEARCH_RX
    packets, discarded = decode_all(stream)
    assert discarded == 1  # the power-on 0x55 is not a packet
    assert [p.pid for p in packets] == [Pid.ACK] * 4
    assert [p.payload[0] for p in packets] == [0, 0, 0, 0]
    assert packets[2].payload == wire("00 00 01")  # one template stored
    assert packets[3].payload == wire("00 00 01 00 50")  # found at 1, score 0x50


def test_a_real_module_s_system_parameters_parse() -> None:
    (packet,), _ = decode_all(READ_SYS_PARA_RX)
    params = proto.SystemParameters.unpack(packet.payload[1:])
    assert params.status_register == 0x000C  # password verified, image buffer valid
    assert params.system_id == 0x2EC8
    assert params.library_size == 100
    assert params.security_level == 3
    assert params.address == 0xFFFFFFFF
    assert params.packet_size == 128
    assert params.baudrate == 57600


def test_a_damaged_copy_of_the_real_answer_is_refused() -> None:
    damaged = bytearray(READ_SYS_PARA_RX)
    damaged[15] ^= 0x01  # one bit of the library size
    decoder = proto.PacketDecoder()
    decoder.feed(bytes(damaged))
    with pytest.raises(proto.ChecksumError):
        decoder.next_packet()


def test_an_r551_s_system_parameters_parse() -> None:
    content = bytes([0, 0, 0, 0, 0, 1, 0xF4, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 2, 0, 6])
    params = proto.SystemParameters.unpack(content[1:])
    assert (params.library_size, params.security_level) == (500, 3)
    assert (params.packet_size, params.baudrate) == (128, 57600)


def test_adafruit_issue_29_acknowledge_and_data_header() -> None:
    ack = wire("ef 01 ff ff ff ff 07 00 03 00 00 0a")
    header = wire("ef 01 ff ff ff ff 02 00 82")
    packets, _ = decode_all(ack + header)
    assert [(p.pid, p.payload) for p in packets] == [(Pid.ACK, b"\x00")]
    decoder = proto.PacketDecoder()
    decoder.feed(header + bytes(100))
    assert decoder.next_packet() is None  # 128 bytes of content announced: wait for them
    assert decoder.pending == len(header) + 100


@pytest.mark.parametrize(
    ("instruction", "params", "manual_checksum"),
    [
        (Instruction.READ_SYS_PARA, b"", 0x0013),
        (Instruction.GEN_IMG, b"", 0x0005),
        (Instruction.UP_IMAGE, b"", 0x000E),
        (Instruction.READ_PROD_INFO, b"", 0x0040),
        (Instruction.VFY_PWD, bytes(4), 0x001B),  # 01 + 00 07 + 13: the manual's "sum"
    ],
)
def test_command_checksums_match_the_r503_manual(instruction, params, manual_checksum) -> None:
    packet = proto.command(instruction, params)
    assert int.from_bytes(packet[-2:], "big") == manual_checksum


def test_the_model_answers_the_captured_command_as_the_real_module_did(platen) -> None:
    """The captured host bytes, sent raw to the model: its answer has the real one's framing
    and the fields that the two modules share (security level, address, packet size, baud)."""
    sim = SimulatedR30x(lambda: platen["image"], model="R307")
    sim.start()
    try:
        with serial.Serial(sim.port, 57600, timeout=0.1) as port:
            port.write(READ_SYS_PARA_TX)
            answer = b""
            deadline = time.monotonic() + 2.0
            while len(answer) < len(READ_SYS_PARA_RX) and time.monotonic() < deadline:
                answer += port.read(len(READ_SYS_PARA_RX) - len(answer))
    finally:
        sim.stop()
    assert len(answer) == len(READ_SYS_PARA_RX)
    assert answer[:10] == READ_SYS_PARA_RX[:10]  # start, address, PID 07, length 0x13, OK
    shared = slice(16, 26)  # security level, address, packet size code, baud N
    assert answer[shared] == READ_SYS_PARA_RX[shared]
    fields = np.frombuffer(answer[9:-2], dtype=np.uint8)
    checksum = (7 + 0 + 0x13 + int(fields.sum())) & 0xFFFF
    assert int.from_bytes(answer[-2:], "big") == checksum
