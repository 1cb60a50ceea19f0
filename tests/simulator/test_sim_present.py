"""``rekam sim present`` steers the simulated resident: it prints (or fixes) the NIK, birth date
and sex an app enrolls them with, and the face camera's backdrop follows that birth year."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from domain.vocabulary import Sex, nik_birth_date_part
from quality.face import expected_background
from simulator.cli import FAULTS
from simulator.control import KitControlServer
from simulator.devices.isdv4 import ISDV4_FAULTS
from simulator.devices.mjpeg import CAMERA_FAULTS
from simulator.devices.r30x import R30X_FAULTS
from simulator.devices.vcom5s_usb import SimulatedVcom5s
from simulator.kit import FACE_SIZE, SimulatedKit
from simulator.personas import make_persona
from station.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
DEVICE_FAULTS = {
    "fingerprint-0": R30X_FAULTS,
    "fingerprint-usb-0": SimulatedVcom5s.FAULTS,
    "signature-0": ISDV4_FAULTS,
    "face-camera-0": CAMERA_FAULTS,
    "iris-camera-0": CAMERA_FAULTS,
}


@pytest.fixture(scope="module")
def control() -> Iterator[tuple[SimulatedKit, str]]:
    kit = SimulatedKit(start=False)
    server = KitControlServer(kit, make_persona).start()
    yield kit, server.url
    server.stop()
    kit.close()


def _present(capsys: pytest.CaptureFixture[str], url: str, *options: str) -> tuple[int, dict]:
    status = main(["sim", "present", "--control", url, *options])
    out, _ = capsys.readouterr()
    return status, (json.loads(out) if status == 0 else {})


def _backdrop_bgr(kit: SimulatedKit) -> np.ndarray:
    assert kit.resident is not None
    frame = kit.resident.face_frame(*FACE_SIZE, 0)
    return frame[5:40, 5:40].reshape(-1, 3).mean(axis=0)


def test_present_prints_who_to_enroll(control, capsys) -> None:
    _kit, url = control
    status, answer = _present(capsys, url, "--kind", "adult", "--seed", "4")
    assert status == 0
    resident = answer["resident"]
    birth = date.fromisoformat(resident["birth_date"])
    assert len(resident["nik"]) == 16
    assert resident["nik"][6:12] == nik_birth_date_part(birth, Sex(resident["sex"]))
    assert resident["backdrop"] == expected_background(birth.year)
    assert resident["category"] == "regular" and resident["name"]


@pytest.mark.parametrize(("year", "colour"), [(1991, "red"), (1992, "blue")])
def test_a_fixed_birth_date_sets_the_nik_and_the_backdrop(control, capsys, year, colour) -> None:
    kit, url = control
    options = ("--kind", "adult", "--seed", "4", "--birth-date", f"{year}-02-03", "--sex", "female")
    status, answer = _present(capsys, url, *options)
    assert status == 0
    resident = answer["resident"]
    assert resident["nik"][6:12] == f"4302{year % 100:02d}"  # DD + 40 for a woman
    assert resident["backdrop"] == colour == expected_background(year)
    blue, _, red = _backdrop_bgr(kit)
    assert (red > blue + 60) if colour == "red" else (blue > red + 60)


def test_a_nik_alone_gives_birth_date_and_sex(control, capsys) -> None:
    _kit, url = control
    status, answer = _present(capsys, url, "--kind", "elderly", "--nik", "3171015708450001")
    assert status == 0
    resident = answer["resident"]
    assert (resident["birth_date"], resident["sex"]) == ("1945-08-17", "female")
    assert resident["backdrop"] == "red"


def test_a_nik_that_disagrees_is_refused(control, capsys) -> None:
    _kit, url = control
    options = ("--kind", "adult", "--nik", "3171011708450001", "--birth-date", "1945-08-18")
    with pytest.raises(RuntimeError, match="does not agree"):
        main(["sim", "present", "--control", url, *options])


def test_the_same_seed_keeps_its_biometrics_under_fixed_demographics() -> None:
    drawn = make_persona("adult", 9, on=date(2026, 1, 1))
    fixed = make_persona("adult", 9, on=date(2026, 1, 1), birth_date=date(2000, 1, 1))
    assert fixed.fingerprint(2, 1).tobytes() == drawn.fingerprint(2, 1).tobytes()
    assert (fixed.birth_date, fixed.face_knobs.background) == (date(2000, 1, 1), "blue")


def test_nobody_is_presented_without_a_kind(control, capsys) -> None:
    kit, url = control
    status, answer = _present(capsys, url)
    assert status == 0
    assert answer == {"resident": None} and kit.resident is None


def test_help_and_readme_name_every_control_and_fault(capsys) -> None:
    assert {d: tuple(names.split()) for d, names in FAULTS.items()} == DEVICE_FAULTS
    with pytest.raises(SystemExit):
        main(["sim", "fault", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    readme = " ".join(README.read_text().split())
    for device, names in DEVICE_FAULTS.items():
        assert device in help_text and device in readme
        for name in names:
            assert name in help_text, f"{device} {name} is not in rekam sim fault --help"
            assert f"`{name}`" in readme, f"{device} {name} is not in the README"
    assert "'fault DEVICE clear'" in help_text and "clear" in readme
    with pytest.raises(SystemExit):
        main(["sim", "present", "--help"])
    present_help = capsys.readouterr().out
    for option in ("--kind", "--seed", "--nik", "--birth-date", "--sex", "--position"):
        assert option in present_help and option in readme
    assert "red for an odd birth year" in readme
