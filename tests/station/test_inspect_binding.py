"""``rekam inspect`` binds the station a package claims to that station's key, as the centre's
enrollment does: KIT-A's key cannot vouch for a package that says it comes from KIT-B."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from simulator.centre.samples import small_record
from station.cli import build_parser
from uploader.keys import CentreKeys, StationKeys
from uploader.package import seal


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("binding")
    centre = CentreKeys.generate()
    kit_a, kit_b = StationKeys.generate(), StationKeys.generate()
    (root / "kit-a.pem").write_bytes(kit_a.public_pem())
    (root / "kit-b.pem").write_bytes(kit_b.public_pem())
    (root / "stations.txt").write_text(
        "# the centre's enrolled stations\nKIT-A kit-a.pem\nKIT-B kit-b.pem\n"
    )
    forged = seal(small_record("R-FORGED", 1, "KIT-B"), kit_a, centre.public_key)
    genuine = seal(small_record("R-GENUINE", 2, "KIT-B"), kit_b, centre.public_key)
    (root / "forged.pkg").write_bytes(forged.data)
    (root / "genuine.pkg").write_bytes(genuine.data)
    return {"root": root}


def inspect(*argv: str) -> tuple[int, str]:
    args = build_parser().parse_args(["inspect", *argv])
    out = io.StringIO()
    return args.func(args, out), out.getvalue()


def test_a_package_sealed_with_another_stations_key_is_refused(world, capsys):
    root = world["root"]
    status, _ = inspect(str(root / "forged.pkg"), "--stations", str(root / "stations.txt"))
    assert status == 1
    error = capsys.readouterr().err
    assert "UNKNOWN_STATION" in error and "KIT-B" in error


def test_without_a_station_list_the_station_is_unverified(world):
    root = world["root"]
    status, out = inspect(str(root / "forged.pkg"), "--station-key", str(root / "kit-a.pem"))
    assert status == 0
    assert "signature valid" in out and "Station KIT-B is not verified" in out
    status, out = inspect(
        str(root / "forged.pkg"), "--station-key", str(root / "kit-a.pem"), "--json"
    )
    assert json.loads(out)["station_verified"] is False


def test_the_genuine_package_is_verified_against_the_list(world):
    root = world["root"]
    status, out = inspect(str(root / "genuine.pkg"), "--stations", str(root / "stations.txt"))
    assert status == 0
    assert "Station KIT-B verified" in out
    status, out = inspect(
        str(root / "genuine.pkg"), "--stations", str(root / "stations.txt"), "--json"
    )
    assert json.loads(out)["station_verified"] is True


def test_inspect_needs_a_station_list_or_key(world, capsys):
    assert inspect(str(world["root"] / "genuine.pkg"))[0] == 2
    assert "--stations" in capsys.readouterr().err
