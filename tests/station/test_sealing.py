"""A real enrollment sealed by the daemon's sealer, opened again with the centre's key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from capture.enrollment import Enrollment, ExceptionMark, Sample, utcnow
from capture.subject import Subject
from domain.categories import policy_for
from domain.vocabulary import CARD_FINGERS, EYES, FINGERS, Category, Position, Sex
from drivers.base import PenPoint, SignatureTrace
from quality.base import QualityResult
from quality.matching import BOZORTH3_THRESHOLD, FingerTemplate, bozorth3, extract
from simulator.synth import FingerSpec, render_capture
from station.devices import DeviceManager
from station.sealing import RecordSealer
from uploader.keys import CentreKeys, StationKeys
from uploader.outbox import Outbox
from uploader.package import open_package

STATION = "KIT-SEAL-01"


def finished_enrollment() -> Enrollment:
    """A regular resident with a face, two prints, a signature; the rest are exceptions."""
    subject = Subject("3174051203900001", "Siti", date(1990, 3, 12), Sex.MALE, Category.REGULAR)
    enrollment = Enrollment(subject=subject, plan=policy_for(Category.REGULAR), operator="op-ani")
    rng = np.random.default_rng(7)
    enrollment.samples[Position.FACE] = Sample(
        Position.FACE,
        QualityResult("face", 80),
        50,
        "face-0",
        image=rng.integers(0, 255, (160, 120, 3), dtype=np.uint8),
        approved=True,
    )
    for finger in FINGERS:
        if finger in CARD_FINGERS:
            enrollment.samples[finger] = Sample(
                finger,
                QualityResult("fingerprint", 60),
                40,
                "fingerprint-0",
                image=rng.integers(0, 255, (288, 256), dtype=np.uint8),
            )
        else:
            enrollment.exceptions[finger] = ExceptionMark(finger, "amputated", "", "sup-budi")
    for eye in EYES:
        enrollment.exceptions[eye] = ExceptionMark(eye, "blind", "", "sup-budi")
    points = [PenPoint(i * 7, 1000 + 40 * i, 2000 + (i % 30) * 20, 400, True) for i in range(40)]
    enrollment.samples[Position.SIGNATURE] = Sample(
        Position.SIGNATURE,
        QualityResult("signature", 70),
        50,
        "pad-0",
        trace=SignatureTrace(points, 24576, 18432, 1023),
    )
    assert enrollment.missing() == []
    return enrollment


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


class SealingKit:
    """A station's and a centre's keys, an outbox, and the sealer between them."""

    def __init__(self, root: Path, outbox: Outbox) -> None:
        self.outbox = outbox
        self.station_keys = StationKeys.load_or_create(root / "station-keys")
        self.centre_keys = CentreKeys.load_or_create(root / "centre-keys")
        assert self.centre_keys.public_key_path is not None
        self.sealer = RecordSealer(
            STATION, self.station_keys, self.centre_keys.public_key_path, outbox, DeviceManager([])
        )

    def open(self, record_id: str):
        """The sealed package, opened as the centre opens it."""
        return open_package(
            self.outbox.read_package(record_id),
            self.centre_keys.private_key,
            {STATION: self.station_keys.public_key},
        )


@pytest.fixture
def kit(tmp_path, outbox) -> SealingKit:
    return SealingKit(tmp_path, outbox)


def test_the_sealed_manifest_carries_the_completion_time(kit):
    enrollment = finished_enrollment()

    before = utcnow()
    receipt = kit.sealer(enrollment, "op-ani")
    after = utcnow()

    opened = kit.open(receipt.record_id)
    assert opened.manifest["completed_at"] is not None
    completed_at = datetime.fromisoformat(opened.manifest["completed_at"])
    assert before <= completed_at <= after
    assert datetime.fromisoformat(opened.manifest["started_at"]) <= completed_at


def test_the_card_fingers_minutiae_are_sealed_with_their_prints(kit):
    enrollment = finished_enrollment()
    for seed, finger in enumerate(CARD_FINGERS):
        enrollment.samples[finger].image = render_capture(FingerSpec.random(seed), 0)

    receipt = kit.sealer(enrollment, "op-ani")

    opened = kit.open(receipt.record_id)
    minutiae = opened.transaction.minutiae
    assert set(minutiae) == set(CARD_FINGERS)
    for finger, data in minutiae.items():
        template = FingerTemplate.from_bytes(data)
        assert template.position == Position(finger).finger_code
        assert template.quality == 60 and template.count >= 12
        printed = extract(opened.transaction.fingerprints[finger])
        assert bozorth3(template, printed) >= BOZORTH3_THRESHOLD  # the template is that print's
