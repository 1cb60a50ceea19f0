"""The R30x packet codec: encoding, checksums, resync, image packing."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import r30x_protocol as proto


def test_genimg_command_matches_the_datasheet_bytes() -> None:
    # EF01 FFFFFFFF 01 0003 01 0005 (checksum = 01 + 00 + 03 + 01)
    assert proto.command(proto.Instruction.GEN_IMG) == bytes.fromhex("ef01ffffffff010003010005")


def test_readsyspara_checksum() -> None:
    assert proto.command(proto.Instruction.READ_SYS_PARA)[-2:] == bytes.fromhex("0013")


def test_decoder_returns_packets_fed_one_byte_at_a_time() -> None:
    wire = proto.ack(0x00, b"\x01\x02") + proto.encode_packet(proto.Pid.DATA, bytes(range(40)))
    decoder = proto.PacketDecoder()
    packets = []
    for byte in wire:
        decoder.feed(bytes([byte]))
        packet = decoder.next_packet()
        if packet is not None:
            packets.append(packet)
    assert [p.pid for p in packets] == [proto.Pid.ACK, proto.Pid.DATA]
    assert packets[0].payload == b"\x00\x01\x02"
    assert packets[1].payload == bytes(range(40))


def test_decoder_resyncs_after_garbage_and_false_headers() -> None:
    garbage = b"\x55\x00\xef\xff\xef\x01\x00"  # power-on byte, noise, a broken header
    decoder = proto.PacketDecoder(address=proto.DEFAULT_ADDRESS)
    decoder.feed(garbage + proto.ack(0x02))
    packet = decoder.next_packet()
    assert packet is not None and packet.payload == b"\x02"
    assert decoder.discarded >= len(garbage)


def test_decoder_reports_a_bad_checksum_and_continues() -> None:
    bad = bytearray(proto.ack(0x00))
    bad[-1] ^= 0xFF
    decoder = proto.PacketDecoder()
    decoder.feed(bytes(bad) + proto.ack(0x02))
    with pytest.raises(proto.ChecksumError):
        decoder.next_packet()
    packet = decoder.next_packet()
    assert packet is not None and packet.payload == b"\x02"


def test_decoder_waits_for_the_rest_of_a_truncated_packet() -> None:
    wire = proto.encode_packet(proto.Pid.DATA, bytes(128))
    decoder = proto.PacketDecoder()
    decoder.feed(wire[:60])
    assert decoder.next_packet() is None
    decoder.feed(wire[60:])
    assert decoder.next_packet() is not None


def test_image_packing_is_high_nibble_first_and_round_trips() -> None:
    image = np.random.default_rng(3).integers(0, 16, (288, 256), dtype=np.uint8)
    packed = proto.pack_image(image)
    assert len(packed) == proto.IMAGE_BYTES == 36864
    assert packed[0] == (image[0, 0] << 4) | image[0, 1]
    assert np.array_equal(proto.unpack_image(packed), image)
    assert proto.expand_nibbles(np.array([0, 15], dtype=np.uint8)).tolist() == [0, 255]


def test_system_parameters_and_product_info_round_trip() -> None:
    params = proto.SystemParameters(0x8, 0, 200, 3, 0xFFFFFFFF, 2, 6)
    assert proto.SystemParameters.unpack(params.pack()) == params
    assert params.baudrate == 57600 and params.packet_size == 128
    info = proto.ProductInfo("R503", "2311", "SN1", "1.2", "FPC", 256, 288, 1536, 200)
    assert len(info.pack()) == 50
    assert proto.ProductInfo.unpack(info.pack()) == info


def test_a_192x192_image_unpacks_with_its_geometry() -> None:
    geometry = proto.Geometry(192, 192)
    image = np.random.default_rng(4).integers(0, 16, (192, 192), dtype=np.uint8)
    packed = proto.pack_image(image)
    assert len(packed) == geometry.packed_bytes == 18432
    assert np.array_equal(proto.unpack_image(packed, geometry), image)
    with pytest.raises(ValueError, match="256x288 image needs 36864 bytes, got 18432"):
        proto.unpack_image(packed)


@pytest.mark.parametrize(
    ("width", "height", "geometry"),
    [(192, 192, proto.Geometry(192, 192)), (0, 0, None), (193, 192, None), (4096, 288, None)],
)
def test_product_info_geometry_is_used_only_when_plausible(width, height, geometry) -> None:
    info = proto.ProductInfo("R503", "2311", "SN1", "1.2", "FPC", width, height)
    assert info.geometry == geometry
    assert proto.ProductInfo.unpack(info.pack()[:46]).geometry == geometry  # 46 or 50 bytes
