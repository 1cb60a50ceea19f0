"""Property-based fuzzing of the serial protocol parsers (R30x UART packets, ISDV4 pen
stream), seeded with the committed corpus. Whatever arrives on the wire, a parser answers with
packets or its own protocol error, keeps its buffer bounded, and resynchronises."""

from __future__ import annotations

import itertools

import pytest
from fuzz_material import corpus
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drivers import isdv4
from drivers import r30x_protocol as r30x

FUZZ = settings(
    max_examples=150, deadline=500, suppress_health_check=[HealthCheck.too_slow], database=None
)
MAX_PACKET = r30x.HEADER_SIZE + r30x.MAX_PAYLOAD + 2
R30X_SEEDS = [p.read_bytes() for p in corpus("r30x")]
ISDV4_SEEDS = [p.read_bytes() for p in corpus("isdv4")]


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _drain(decoder: r30x.PacketDecoder, fed: int) -> tuple[list[r30x.Packet], int]:
    """Every packet the decoder can give now; bounded by the bytes fed."""
    packets, bad = [], 0
    for _ in range(fed // r30x.HEADER_SIZE + 2):
        try:
            packet = decoder.next_packet()
        except r30x.ChecksumError:
            bad += 1
            continue
        if packet is None:
            return packets, bad
        packets.append(packet)
    raise AssertionError("the decoder produced more packets than the bytes allow")


def _mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Corpus seeds with bytes flipped, dropped or spliced, plus plain random bytes."""
    seed = st.sampled_from(seeds)
    flipped = st.tuples(seed, st.integers(0, 10**6), st.integers(1, 255)).map(
        lambda t: (
            t[0][: t[1] % max(1, len(t[0]))]
            + bytes([t[0][t[1] % len(t[0])] ^ t[2]] if t[0] else [])
            + t[0][t[1] % max(1, len(t[0])) + 1 :]
        )
    )
    spliced = st.lists(seed, min_size=1, max_size=4).map(b"".join)
    cut = st.tuples(seed, st.integers(0, 10**6)).map(lambda t: t[0][: t[1] % (len(t[0]) + 1)])
    return st.one_of(flipped, spliced, cut, st.binary(max_size=2048))


@pytest.mark.parametrize("path", corpus("r30x"), ids=lambda p: p.stem)
def test_r30x_corpus_decodes_or_fails_as_the_protocol_says(path):
    data = path.read_bytes()
    decoder = r30x.PacketDecoder()
    decoder.feed(data)
    packets, bad = _drain(decoder, len(data))
    assert decoder.pending < r30x.HEADER_SIZE + r30x.MAX_PAYLOAD + 2
    if path.stem in ("ack-sysparams", "noise-then-packet", "foreign-address"):
        assert packets[-1].payload == bytes([0]) + bytes(range(16))
    if path.stem == "bad-checksum":
        assert bad == 1 and not packets


@FUZZ
@given(data=_mutations(R30X_SEEDS), cuts=st.lists(st.integers(0, 4096), max_size=8))
@example(data=b"\xef\x01" * 40, cuts=[3, 5])
def test_r30x_decoder_survives_any_bytes_in_any_split(data, cuts):
    decoder = r30x.PacketDecoder()
    for chunk in _chunks(data, cuts):
        decoder.feed(chunk)
        packets, _ = _drain(decoder, len(data))
        assert all(len(p.payload) <= r30x.MAX_PAYLOAD for p in packets)
        assert all(p.pid in r30x.Pid._value2member_map_ for p in packets)
        assert decoder.pending < MAX_PACKET


@FUZZ
@given(
    noise=st.binary(max_size=200).map(lambda b: b.replace(b"\xef", b"")),
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 4096), max_size=6),
)
def test_r30x_decoder_resynchronises_after_noise(noise, payloads, cuts):
    stream = noise + b"".join(r30x.encode_packet(r30x.Pid.DATA, p) for p in payloads)
    decoder = r30x.PacketDecoder()
    packets: list[r30x.Packet] = []
    for chunk in _chunks(stream, cuts):
        decoder.feed(chunk)
        packets.extend(_drain(decoder, len(stream))[0])
    assert [p.payload for p in packets] == payloads
    assert decoder.discarded == len(noise)


@FUZZ
@given(data=st.binary(max_size=120))
def test_r30x_parameter_blocks_parse_or_refuse_short_input(data):
    """Any long-enough reply parses (ASCII fields decoded leniently); a short one is refused."""
    for unpack, size in ((r30x.SystemParameters.unpack, 16), (r30x.ProductInfo.unpack, 46)):
        if len(data) >= size:
            assert unpack(data) is not None
        else:
            with pytest.raises(ValueError):
                unpack(data)


@settings(max_examples=20, deadline=None, database=None)
@given(size=st.integers(0, r30x.IMAGE_BYTES + 10), fill=st.integers(0, 255))
def test_r30x_image_needs_exactly_its_size(size, fill):
    data = bytes([fill]) * size
    if size == r30x.IMAGE_BYTES:
        image = r30x.unpack_image(data)
        assert image.shape == (288, 256) and int(image.max()) <= 15
    else:
        with pytest.raises(ValueError):
            r30x.unpack_image(data)


@pytest.mark.parametrize("path", corpus("isdv4"), ids=lambda p: p.stem)
def test_isdv4_corpus_parses_into_whole_packets(path):
    parser = isdv4.Isdv4StreamParser()
    packets = parser.feed(path.read_bytes())
    for packet in packets:
        assert len(packet) in (isdv4.PEN_PACKET_SIZE, isdv4.QUERY_PACKET_SIZE)
    if path.stem in ("pen", "partial-then-pen", "stray-bytes", "touch-packet"):
        assert isdv4.decode_pen_packet(packets[-1]).pressure == 300
    if path.stem == "pen-stream":
        assert len(packets) == 5
    if path.stem == "query-reply":
        assert isdv4.decode_query_reply(packets[0]).max_x == 24576


@FUZZ
@given(data=_mutations(ISDV4_SEEDS), cuts=st.lists(st.integers(0, 4096), max_size=8))
def test_isdv4_parser_yields_only_well_formed_packets(data, cuts):
    parser = isdv4.Isdv4StreamParser()
    for chunk in _chunks(data, cuts):
        for packet in parser.feed(chunk):
            assert packet[0] & isdv4.LEAD_BIT
            assert not any(b & isdv4.LEAD_BIT for b in packet[1:])
            if packet[0] & isdv4.CONTROL_BIT:
                assert len(packet) == isdv4.QUERY_PACKET_SIZE
                reply = isdv4.decode_query_reply(packet)
                assert 0 <= reply.max_pressure < 1024
            else:
                assert len(packet) == isdv4.PEN_PACKET_SIZE
                report = isdv4.decode_pen_packet(packet)
                assert 0 <= report.x < 65536 and 0 <= report.pressure < 1024


@FUZZ
@given(
    x=st.integers(0, 65535),
    y=st.integers(0, 65535),
    pressure=st.integers(0, 1023),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    tilt=st.tuples(st.integers(0, 127), st.integers(0, 127)),
    junk=st.binary(max_size=20).map(lambda b: bytes(c & 0x7F for c in b)),
)
def test_isdv4_pen_packets_round_trip_through_stray_bytes(x, y, pressure, flags, tilt, junk):
    report = isdv4.PenReport(x, y, pressure, *flags, *tilt)
    wire = isdv4.encode_pen_packet(report)
    assert isdv4.Isdv4StreamParser().feed(junk + wire) == [wire]
    assert isdv4.decode_pen_packet(wire) == report


def test_isdv4_parser_buffer_stays_bounded_on_touch_packets():
    parser = isdv4.Isdv4StreamParser()
    parser.feed(bytes([isdv4.LEAD_BIT | isdv4.TOUCH_BIT]) + bytes(10_000))
    assert len(parser._packet) <= isdv4.QUERY_PACKET_SIZE
