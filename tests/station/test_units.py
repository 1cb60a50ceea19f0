"""Station pieces that need no running kit: mailbox, configuration, loopback rule."""

import threading

import pytest

from drivers.base import Modality
from station.config import StationConfig
from station.mailbox import Closed, PreviewMailbox
from station.server import is_loopback


def test_mailbox_keeps_one_preview_and_never_drops_results():
    box: PreviewMailbox[str] = PreviewMailbox()
    box.put("prompt")
    for index in range(50):
        box.put(f"preview-{index}", droppable=True)
    assert box.get(timeout=0.1) == ("prompt", 0)
    assert box.get(timeout=0.1) == ("preview-49", 49)
    box.put("preview-50", droppable=True)
    box.put("result")  # the result jumps the frame waiting before it
    box.close()
    taken = []
    while True:
        try:
            item = box.get(timeout=0.1)
        except Closed:
            break
        assert item is not None
        taken.append(item)
    assert taken == [("result", 0)]
    assert box.dropped_total == 50


def test_mailbox_get_times_out_then_wakes_on_put():
    box: PreviewMailbox[int] = PreviewMailbox()
    assert box.get(timeout=0.01) is None
    threading.Timer(0.05, box.put, args=(7,)).start()
    assert box.get(timeout=5) == (7, 0)


def test_config_from_toml_mapping():
    config = StationConfig.from_mapping(
        {
            "station": {"id": "KIT-9", "data_dir": "/tmp/x", "listen": "127.0.0.1:6000"},
            "centre": {"url": "http://127.0.0.1:8700", "public_key": "/etc/centre.pem"},
            "quality": {"fingerprint": {"min_score": 55}},
            "relaxed_thresholds": {"fingerprint": 25},
            "devices": [{"id": "fp", "driver": "r30x", "port": "/dev/ttyUSB0"}],
        }
    )
    assert config.station_id == "KIT-9" and config.port == 6000
    assert config.thresholds.normal[Modality.FINGERPRINT] == 55
    assert config.thresholds.relaxed[Modality.FINGERPRINT] == 25
    assert config.devices[0]["driver"] == "r30x"


@pytest.mark.parametrize(
    "bad",
    [
        {"station": {"colour": "red"}},
        {"stations": {}},
        {"relaxed_thresholds": {"nose": 3}},
        {"relaxed_thresholds": {"iris": 300}},
        {"quality": {"face": {"no_such_knob": 1}}},
    ],
)
def test_config_rejects_unknown_or_bad_keys(bad):
    with pytest.raises((ValueError, TypeError)):
        StationConfig.from_mapping(bad)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.0.2.10", False),
        ("", False),
        ("example.org", False),
    ],
)
def test_loopback_rule(host, expected):
    assert is_loopback(host) is expected


def test_record_names_every_approving_supervisor_and_forced_capture():
    from datetime import date

    import numpy as np

    from capture.enrollment import Enrollment, ExceptionMark, Sample
    from capture.subject import Subject
    from domain.categories import policy_for
    from domain.vocabulary import Category
    from quality.base import QualityResult
    from station.sealing import record_content

    subject = Subject("3174051203900001", "Siti", date(1990, 3, 12), "male", Category.REGULAR)
    enrollment = Enrollment(subject=subject, plan=policy_for(Category.REGULAR), operator="ani")
    finger = np.full((288, 256), 128, np.uint8)
    enrollment.samples["right_thumb"] = Sample(
        "right_thumb",
        QualityResult("fingerprint", 31),
        40,
        "fp-0",
        image=finger,
        forced=True,
        forced_reason="worn ridges",
        forced_approved_by="sup-budi",
    )
    enrollment.exceptions["right_index"] = ExceptionMark("right_index", "amputated", "", "sup-wati")
    content = record_content(enrollment, "KIT-1", "ani", [])
    assert content.supervisor == "sup-wati, sup-budi"
    assert "FORCED:right_thumb:sup-budi" in content.flags
    excepted = next(s for s in content.samples if s.position == "right_index")
    assert excepted.exception == "amputated" and excepted.image is None


def test_the_documented_example_configuration_loads():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "docs" / "rekam.example.toml"
    config = StationConfig.load(example)
    assert config.station_id == "KIT-3174-0007"
    assert {d["driver"] for d in config.devices} == {
        "r30x",
        "vcom5s",
        "isdv4",
        "face-camera",
        "iris-camera",
    }
    assert config.thresholds.relaxed[Modality.FINGERPRINT] == 5  # on NFIQ 2's scale
