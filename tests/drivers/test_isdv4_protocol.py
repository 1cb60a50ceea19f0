"""ISDV4 bytes checked against the public hosts' bit layout, independently of both codecs.

``w8001_pen`` and ``xf86_query`` below are transcribed for this test from the Linux kernel's
drivers/input/touchscreen/wacom_w8001.c (parse_pen_data, which w8001_setup also applies to the
query reply) and xf86-input-wacom's include/isdv4.h (isdv4ParseQuery for the version bytes,
isdv4ParseTouchData for touch packets). The simulated pad's packets must decode under them to
what the model meant to send, and the driver's decoder must agree.
"""

from __future__ import annotations

import pytest

from drivers.isdv4 import (
    Isdv4StreamParser,
    PenReport,
    PenTool,
    SampleClock,
    decode_pen_packet,
    decode_query_reply,
)
from simulator.devices.isdv4 import (
    PEN_AND_TOUCH_38400,
    PEN_ONLY_19200,
    PenState,
    eraser_states,
    pen_packet,
    query_reply,
    touch_packet,
    touch_query_reply,
)


def w8001_pen(data: bytes) -> dict[str, int]:
    """wacom_w8001.c parse_pen_data, field for field."""
    return {
        "rdy": data[0] & 0x20,
        "tsw": data[0] & 0x01,
        "f1": data[0] & 0x02,
        "f2": data[0] & 0x04,
        "x": ((data[1] & 0x7F) << 9) | ((data[2] & 0x7F) << 2) | ((data[6] & 0x60) >> 5),
        "y": ((data[3] & 0x7F) << 9) | ((data[4] & 0x7F) << 2) | ((data[6] & 0x18) >> 3),
        "pen_pressure": (data[5] & 0x7F) | ((data[6] & 0x07) << 7),
        "tilt_x": data[7] & 0x7F,
        "tilt_y": data[8] & 0x7F,
    }


def xf86_query(data: bytes) -> dict[str, int]:
    """isdv4.h isdv4ParseQuery: header and control bits, data id, version."""
    return {
        "header": int(bool(data[0] & 0x80)),
        "control": int(bool(data[0] & 0x40)),
        "data_id": data[0] & 0x3F,
        "version": data[9] << 7 | data[10],
    }


STATES = [
    PenState(x=0, y=0),
    PenState(x=15360, y=9600, pressure=255, tip=True),
    PenState(x=12345, y=54321 & 0xFFFF, pressure=1023, tip=True, side=True, tilt=(12, 100)),
    PenState(x=3, y=2, pressure=129, tip=True, eraser=True),
    PenState(x=700, y=800, in_proximity=False),
]


@pytest.mark.parametrize("state", STATES)
def test_model_pen_packets_decode_under_the_kernel_layout(state: PenState) -> None:
    packet = pen_packet(state)
    assert len(packet) == 9 and packet[0] & 0x80 and all(b < 0x80 for b in packet[1:])
    assert not packet[0] & 0x10  # not touch data (w8001_interrupt, isdv4ParseCoordinateData)
    kernel = w8001_pen(packet)
    assert (kernel["x"], kernel["y"], kernel["pen_pressure"]) == (
        state.x,
        state.y,
        state.pressure,
    )
    assert (bool(kernel["rdy"]), bool(kernel["tsw"])) == (state.in_proximity, state.tip)
    assert (bool(kernel["f1"]), bool(kernel["f2"])) == (state.side, state.eraser)
    assert (kernel["tilt_x"], kernel["tilt_y"]) == state.tilt
    # and the driver reads the same bytes the same way
    driver = decode_pen_packet(packet)
    assert (driver.x, driver.y, driver.pressure) == (state.x, state.y, state.pressure)
    assert (driver.proximity, driver.tip, driver.side, driver.eraser) == (
        state.in_proximity,
        state.tip,
        state.side,
        state.eraser,
    )


@pytest.mark.parametrize("model", [PEN_ONLY_19200, PEN_AND_TOUCH_38400])
def test_model_query_reply_decodes_under_both_hosts(model) -> None:
    packet = query_reply(model)
    assert len(packet) == 11
    maxima = w8001_pen(packet)  # w8001_setup: parse_pen_data(w8001->response, &coord)
    assert (maxima["x"], maxima["y"], maxima["pen_pressure"]) == (
        model.max_x,
        model.max_y,
        model.max_pressure,
    )
    assert (maxima["tilt_x"], maxima["tilt_y"]) == model.max_tilt
    assert xf86_query(packet) == {"header": 1, "control": 1, "data_id": 0, "version": model.version}
    reply = decode_query_reply(packet)
    assert (reply.max_x, reply.max_y, reply.max_pressure, reply.version) == (
        model.max_x,
        model.max_y,
        model.max_pressure,
        model.version,
    )


def test_touch_query_reply_has_data_id_one_and_the_sensor() -> None:
    touch = touch_query_reply(PEN_AND_TOUCH_38400)
    assert xf86_query(touch)["data_id"] == 1
    assert touch[2] & 0x7 == PEN_AND_TOUCH_38400.touch_sensor  # isdv4ParseTouchQuery
    # pen-only: "their second byte is empty" (wacom_w8001.c w8001_setup)
    assert touch_query_reply(PEN_ONLY_19200)[1] == 0


def test_touch_packets_are_skipped_between_pen_packets() -> None:
    touch = touch_packet(PEN_AND_TOUCH_38400, 2000, 3000, touching=True)
    assert len(touch) == 5 and touch[0] & 0x90 == 0x90  # isdv4.h ISDV4_PKGLEN_TOUCH93
    assert (touch[1] << 7 | touch[2], touch[3] << 7 | touch[4]) == (2000, 3000)
    pen = pen_packet(PenState(x=100, y=200, pressure=5, tip=True))
    assert Isdv4StreamParser().feed(pen + touch + pen + touch) == [pen, pen]


def _report(**fields: object) -> PenReport:
    base: dict[str, object] = {"x": 1, "y": 1, "pressure": 0, "proximity": True, "tip": False}
    return PenReport(**{**base, **fields})  # type: ignore[arg-type]


def test_eraser_is_told_from_the_second_side_switch() -> None:
    tool = PenTool()
    eraser_run = [decode_pen_packet(pen_packet(s)) for s in eraser_states(PEN_ONLY_19200, 3)]
    seen = []
    for report in eraser_run:
        tool.follow(report)
        seen.append(tool.eraser)
    assert seen[:-1] == [True] * (len(eraser_run) - 1) and seen[-1] is False
    # the pen tip comes in, then its second side switch (0x04) is pressed: still the pen
    for report in (_report(tip=True), _report(tip=True, eraser=True)):
        tool.follow(report)
        assert tool.eraser is False
    # the eraser bit clearing after an eraser proximity-in turns it back into the pen
    tool.follow(_report(proximity=False))
    tool.follow(_report(eraser=True))
    assert tool.eraser is True
    tool.follow(_report())
    assert tool.eraser is False


def test_sample_clock_spaces_a_burst_at_the_report_period() -> None:
    clock = SampleClock(report_hz=100.0, packet_line_s=0.001, max_lag_s=0.1)
    first = clock.stamp(10.0)
    burst = [clock.stamp(10.045 - (4 - i) * 0.001) for i in range(5)]  # five read at once
    assert first == 10.0
    assert burst == pytest.approx([10.01, 10.02, 10.03, 10.04, 10.045])  # last: arrival bound


def test_sample_clock_never_passes_arrival_nor_lags_beyond_the_bound() -> None:
    clock = SampleClock(report_hz=1000.0, packet_line_s=0.0, max_lag_s=0.05)
    clock.stamp(0.0)
    stamps = [clock.stamp(0.5 + i * 0.01) for i in range(20)]  # a slower pad than configured
    arrivals = [0.5 + i * 0.01 for i in range(20)]
    assert all(a - 0.05 <= s <= a for s, a in zip(stamps, arrivals, strict=True))
    assert stamps == sorted(stamps)
    fast = SampleClock(report_hz=10.0, packet_line_s=0.0, max_lag_s=0.05)
    assert [fast.stamp(t) for t in (1.0, 1.01, 1.02)] == [1.0, 1.01, 1.02]  # capped at arrival


def test_sample_clock_restarts_at_arrival_after_proximity_out() -> None:
    clock = SampleClock(report_hz=100.0, packet_line_s=0.0, max_lag_s=0.1)
    clock.stamp(1.0)
    clock.restart()
    assert clock.stamp(3.0) == 3.0
