"""Sealing refuses a record while the kit's clock cannot be trusted (it would stamp the record
with a wrong date), and seals it once the clock is set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_sealing import STATION, finished_enrollment

from capture.errors import ErrorKind, WorkflowError
from domain.clock import KitClock
from station.devices import DeviceManager
from station.sealing import RecordSealer
from uploader.keys import CentreKeys, StationKeys
from uploader.outbox import Outbox

NOW = datetime.now(UTC).timestamp()


def test_a_clock_25_years_behind_refuses_sealing_until_it_is_set(tmp_path):
    wall = {"s": NOW - 25 * 365.25 * 86400}
    clock = KitClock(wall=lambda: wall["s"])
    centre = CentreKeys.load_or_create(tmp_path / "centre-keys")
    assert centre.public_key_path is not None
    with Outbox(tmp_path / "outbox") as outbox:
        sealer = RecordSealer(
            STATION,
            StationKeys.load_or_create(tmp_path / "station-keys"),
            centre.public_key_path,
            outbox,
            DeviceManager([]),
            clock=clock,
        )
        enrollment = finished_enrollment()
        with pytest.raises(WorkflowError) as refused:
            sealer(enrollment, "op-ani")
        assert refused.value.kind is ErrorKind.FAILED_PRECONDITION
        assert refused.value.reason == "CLOCK_WRONG"
        assert "Set the kit's date and time" in refused.value.message.render()
        assert outbox.list() == []
        wall["s"] = NOW
        receipt = sealer(enrollment, "op-ani")
        assert outbox.get(receipt.record_id) is not None
