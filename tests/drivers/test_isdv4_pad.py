"""The ISDV4 signature pad driver against the simulated pad on a real pty."""

from __future__ import annotations

import threading

import pytest

from drivers.base import DeviceStatus, Modality
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable
from drivers.isdv4 import (
    Isdv4SignaturePad,
    Isdv4StreamParser,
    PenReport,
    QueryReply,
    decode_pen_packet,
    decode_query_reply,
    encode_pen_packet,
    encode_query_reply,
)
from simulator.devices.isdv4 import SimulatedIsdv4Pad

pytestmark = pytest.mark.timeout(30)


def test_pen_packet_round_trips_full_range() -> None:
    report = PenReport(x=0xFFFF, y=12345, pressure=1023, proximity=True, tip=True, side=True)
    packet = encode_pen_packet(report)
    assert len(packet) == 9
    assert packet[0] & 0x80 and all(byte < 0x80 for byte in packet[1:])
    assert decode_pen_packet(packet) == report


def test_query_reply_round_trips() -> None:
    reply = QueryReply(max_x=26202, max_y=16325, max_pressure=255, version=0x0E2, max_tilt_x=63)
    packet = encode_query_reply(reply)
    assert len(packet) == 11 and packet[0] == 0xC0
    assert decode_query_reply(packet) == reply


def test_parser_resyncs_on_lead_bytes() -> None:
    pen = encode_pen_packet(PenReport(x=100, y=200, pressure=5, proximity=True, tip=True))
    parser = Isdv4StreamParser()
    packets = parser.feed(b"\x01\x02" + pen[:4] + pen + pen[:5])
    packets += parser.feed(pen[5:])
    assert packets == [pen, pen]
    assert parser.discarded == 2 + 4


@pytest.fixture
def pad_sim(resident):
    sim = SimulatedIsdv4Pad(resident.signature, speed=8.0)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def pad(pad_sim):
    device = Isdv4SignaturePad("signature-0", pad_sim.port, pen_away_s=0.25)
    device.open()
    try:
        yield device
    finally:
        device.close()


def test_query_fills_identity_and_capabilities(pad) -> None:
    assert pad.query == QueryReply(max_x=15360, max_y=9600, max_pressure=1023, version=20)
    assert pad.identity.vendor == "Wacom" and pad.identity.firmware == "20"
    caps = pad.capabilities
    assert caps.modality == Modality.SIGNATURE
    assert (caps.width, caps.height) == (15360, 9600)
    assert pad.status == DeviceStatus.READY


def test_replayed_signature_arrives_whole(pad, pad_sim, resident) -> None:
    strokes = resident.signature()
    pad_sim.arm()
    trace = pad.capture_signature(timeout=10)
    touching = [p for p in trace.points if p.touching]
    assert len(touching) == sum(len(stroke) for stroke in strokes)
    assert (trace.max_x, trace.max_y, trace.max_pressure) == (15360, 9600, 1023)
    xs = [p.x for p in touching]
    ys = [p.y for p in touching]
    assert min(xs) == round(0.1 * 15360) and max(xs) == round(0.9 * 15360)
    assert min(ys) >= 0 and max(ys) <= 9600
    assert {p.pressure for p in touching} == {round(0.6 * 1023), round(0.9 * 1023)}
    times = [p.t_ms for p in trace.points]
    assert times == sorted(times) and times[0] == 0
    # the pen lifted between the two strokes: a hover run separates them
    lifts = sum(
        1
        for a, b in zip(trace.points, trace.points[1:], strict=False)
        if a.touching and not b.touching
    )
    assert lifts == 2
    assert pad.status == DeviceStatus.READY


def test_no_strokes_is_a_capture_timeout(pad) -> None:
    with pytest.raises(CaptureTimeout) as caught:
        pad.capture_signature(timeout=0.4)
    message = caught.value.message
    assert "pad" in message.render("en") and "bantalan" in message.render("id")


def test_cancel(pad) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CaptureCancelled):
        pad.capture_signature(timeout=5, cancel=cancel)


def test_unplug_mid_signature_is_unavailable(pad, pad_sim) -> None:
    pad_sim.set_fault("unplug_mid_signature", after_packets=30)
    pad_sim.arm()
    with pytest.raises(DeviceUnavailable):
        pad.capture_signature(timeout=5)
    assert pad.status == DeviceStatus.DISCONNECTED


def test_silent_pad_fails_to_open(pad_sim) -> None:
    pad_sim.set_fault("silent")
    device = Isdv4SignaturePad("signature-0", pad_sim.port, query_timeout=0.3)
    with pytest.raises(DeviceUnavailable):
        device.open()
    assert device.status == DeviceStatus.DISCONNECTED
