"""The ISDV4 signature pad driver against the independent pad models on a real pty."""

from __future__ import annotations

import itertools
import statistics
import threading
import time

import pytest
import serial

from drivers import isdv4
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
from simulator.devices.isdv4 import PEN_AND_TOUCH_38400, PEN_ONLY_19200, SimulatedIsdv4Pad

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


def _start(sim: SimulatedIsdv4Pad):
    sim.start()
    return sim


@pytest.fixture
def pad_sim(resident):
    sim = _start(SimulatedIsdv4Pad(resident.signature, speed=8.0))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def touch_sim(resident):
    sim = _start(SimulatedIsdv4Pad(resident.signature, model=PEN_AND_TOUCH_38400, speed=8.0))
    try:
        yield sim
    finally:
        sim.stop()


def _driver(sim: SimulatedIsdv4Pad, **options) -> Isdv4SignaturePad:
    options.setdefault("report_hz", sim.report_hz)
    return Isdv4SignaturePad("signature-0", sim.port, pen_away_s=0.25, **options)


@pytest.fixture
def pad(pad_sim):
    device = _driver(pad_sim)
    device.open()
    try:
        yield device
    finally:
        device.close()


def test_query_fills_identity_and_capabilities(pad, pad_sim) -> None:
    assert pad.query == QueryReply(max_x=15360, max_y=9600, max_pressure=255, version=0x0E2)
    assert pad.identity.vendor == "Wacom" and pad.identity.firmware == str(0x0E2)
    assert pad.identity.mode["baudrate"] == "19200" and pad.baudrate == 19200
    caps = pad.capabilities
    assert caps.modality == Modality.SIGNATURE
    assert (caps.width, caps.height, caps.max_pressure) == (15360, 9600, 255)
    assert pad.status == DeviceStatus.READY
    assert pad_sim.queries_dropped == 0  # the driver waited for the pad to settle


@pytest.mark.parametrize(
    ("model", "configured"),
    [(PEN_ONLY_19200, 38400), (PEN_AND_TOUCH_38400, 19200), (PEN_AND_TOUCH_38400, 38400)],
)
def test_line_speed_is_found_from_either_rate(resident, model, configured) -> None:
    sim = _start(SimulatedIsdv4Pad(resident.signature, model=model))
    device = _driver(sim, baudrate=configured, query_timeout=0.3)
    try:
        device.open()
        assert device.baudrate == model.baudrate
        assert device.identity.mode["baudrate"] == str(model.baudrate)
        assert device.query.max_pressure == model.max_pressure
    finally:
        device.close()
        sim.stop()


def test_a_pad_drops_a_query_sent_before_it_settles(pad_sim) -> None:
    assert PEN_ONLY_19200.settle_s > 0
    with serial.Serial(pad_sim.port, 19200, timeout=0.3) as host:
        host.write(b"0*")
        assert host.read(11) == b""
        assert pad_sim.queries_dropped == 1
        host.write(b"0")
        time.sleep(isdv4.STOP_SETTLE_S)
        host.write(b"*")
        assert decode_query_reply(host.read(11)).max_x == PEN_ONLY_19200.max_x


def test_without_the_settle_the_slow_pad_never_answers(pad_sim, monkeypatch) -> None:
    monkeypatch.setattr(isdv4, "STOP_SETTLE_S", 0.0)
    device = _driver(pad_sim, query_timeout=0.2)
    with pytest.raises(DeviceUnavailable):
        device.open()
    assert pad_sim.queries_dropped >= 1


def test_replayed_signature_arrives_whole(pad, pad_sim, resident) -> None:
    strokes = resident.signature()
    pad_sim.arm()
    trace = pad.capture_signature(timeout=10)
    touching = [p for p in trace.points if p.touching]
    assert len(touching) == sum(len(stroke) for stroke in strokes)
    assert (trace.max_x, trace.max_y, trace.max_pressure) == (15360, 9600, 255)
    xs = [p.x for p in touching]
    ys = [p.y for p in touching]
    assert min(xs) == round(0.1 * 15360) and max(xs) == round(0.9 * 15360)
    assert min(ys) >= 0 and max(ys) <= 9600
    assert {p.pressure for p in touching} == {round(0.6 * 255), round(0.9 * 255)}
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


def test_eraser_strokes_are_not_ink(pad, pad_sim, resident) -> None:
    pad_sim.set_fault("eraser", samples=30)
    pad_sim.arm()
    trace = pad.capture_signature(timeout=10)
    touching = [p for p in trace.points if p.touching]
    assert len(touching) == sum(len(stroke) for stroke in resident.signature())
    assert {p.pressure for p in touching} == {round(0.6 * 255), round(0.9 * 255)}
    # not even as hover: the trace holds exactly the pen's reports in proximity
    pen_in_proximity = [s for s in pad_sim.last_replay if s.in_proximity]
    assert [(p.x, p.y) for p in trace.points] == [(s.x, s.y) for s in pen_in_proximity]


def test_palm_touch_packets_do_not_disturb_the_pen(touch_sim, resident) -> None:
    touch_sim.set_fault("palm_touch", every=3)
    device = _driver(touch_sim, baudrate=38400)
    device.open()
    try:
        touch_sim.arm()
        trace = device.capture_signature(timeout=10)
    finally:
        device.close()
    touching = [p for p in trace.points if p.touching]
    assert len(touching) == sum(len(stroke) for stroke in resident.signature())
    assert max(p.pressure for p in touching) == round(0.9 * 1023)


def test_reports_read_in_bursts_keep_the_pads_spacing(resident) -> None:
    """The simulated pad writes its reports in bursts (every poll of its I/O loop, and in
    64-byte chunks on a paced line); stamps must follow the report period, not the reads."""
    sim = _start(SimulatedIsdv4Pad(resident.signature, speed=2.0))
    sim.set_fault("slow_link", baudrate=19200)
    device = _driver(sim)
    try:
        device.open()
        sim.arm()
        trace = device.capture_signature(timeout=10)
    finally:
        device.close()
        sim.stop()
    times = [p.t_ms for p in trace.points]
    steps = [b - a for a, b in itertools.pairwise(times)]
    period_ms = 1000 / sim.report_hz
    assert sum(1 for step in steps if step == 0) <= len(steps) // 10
    assert period_ms * 0.5 <= statistics.median(steps) <= period_ms * 1.5


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


def test_silent_pad_fails_to_open_at_both_rates(pad_sim) -> None:
    pad_sim.set_fault("silent")
    device = _driver(pad_sim, query_timeout=0.3)
    with pytest.raises(DeviceUnavailable) as caught:
        device.open()
    assert "19200, 38400" in str(caught.value)
    assert device.status == DeviceStatus.DISCONNECTED
