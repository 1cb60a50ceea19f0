"""``rekam quality`` and ``rekam inspect`` on real files: images in four codecs, sealed packages."""

from __future__ import annotations

import argparse
import io
import json
import os
from datetime import date
from pathlib import Path

import cv2
import imagecodecs
import numpy as np
import pytest

from domain.vocabulary import CARD_FINGERS, FINGERS, Category, Position, Sex
from quality.config import FingerprintConfig
from quality.matching import extract, minutiae_count
from simulator.synth.face import FaceKnobs, render_face
from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture
from simulator.synth.iris import IrisKnobs, IrisSpec, render_eye
from simulator.synth.signature import make_signature, to_pen_reports
from station.commands import inspect as inspect_command
from station.commands import quality as quality_command
from uploader.content import ImageSample, RecordContent, SignatureSample, Subject
from uploader.keys import STATION_PUBLIC_FILE, CentreKeys, StationKeys
from uploader.nist import encode_wsq
from uploader.package import read_header, seal


def rekam(module, argv: list[str]) -> tuple[int, str]:
    """Run one sub-command as ``rekam`` would, returning its exit status and stdout."""
    parser = argparse.ArgumentParser(prog="rekam")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.func(args, out=out), out.getvalue()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- rekam quality ------------------------------------------------------------------------------


def _write(path: Path, image: np.ndarray) -> Path:
    suffix = path.suffix
    if suffix == ".wsq":
        path.write_bytes(encode_wsq(image))
    elif suffix == ".jp2":
        rgb = image[:, :, ::-1] if image.ndim == 3 else image
        path.write_bytes(bytes(imagecodecs.jpeg2k_encode(np.ascontiguousarray(rgb), level=45)))
    else:
        path.write_bytes(cv2.imencode(suffix, image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
    return path


@pytest.fixture(scope="module")
def finger_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fingers")
    clean = quantise_4bit(render_capture(FingerSpec.random(21), 0))
    heavy = quantise_4bit(render_capture(FingerSpec.random(21), 0, FingerKnobs(pressure=1.0)))
    files = {
        suffix: _write(folder / f"clean{suffix}", clean)
        for suffix in (".png", ".jpg", ".wsq", ".jp2")
    }
    files["heavy"] = _write(folder / "heavy.png", heavy)
    return files


@pytest.mark.parametrize("codec", [".png", ".jpg", ".wsq", ".jp2"])
def test_quality_scores_fingerprints_in_every_codec(finger_files, codec):
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "fingerprint", "--json", str(finger_files[codec])],
    )
    (report,) = json_lines(out)
    assert status == 0, report
    assert report["file"] == str(finger_files[codec])
    assert report["passes"] is True
    # The per-frame score predicts the NFIQ 2 score reported beside it.
    assert report["measures"]["nfiq2"] >= FingerprintConfig().min_nfiq2
    assert abs(report["score"] - report["measures"]["nfiq2"]) <= 15
    assert report["reasons"] == []
    assert {
        "orientation_certainty",
        "local_clarity",
        "frequency_domain_raw",
        "contrast",
        "foreground_area",
    } <= set(report["measures"])


def test_quality_reports_reasons_and_fails_low_scores(finger_files):
    argv = [
        "quality",
        "--modality",
        "fingerprint",
        "--json",
        str(finger_files[".png"]),
        str(finger_files["heavy"]),
    ]
    status, out = rekam(quality_command, argv)
    clean, heavy = json_lines(out)
    assert status == 1
    assert clean["passes"] and not heavy["passes"]
    found = {r["code"]: r for r in heavy["reasons"]}
    assert "press more lightly" in found["FINGER_TOO_HEAVY"]["en"]
    assert "tekan lebih pelan" in found["FINGER_TOO_HEAVY"]["id"]


def test_quality_json_shows_the_nfiq2_score_that_decides(finger_files):
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "fingerprint", "--json", str(finger_files[".png"])],
    )
    (report,) = json_lines(out)
    assert status == 0
    nfiq2 = report["measures"]["nfiq2"]
    assert 35 <= nfiq2 <= 70, "a clean synthetic print scores as clean plain prints do"
    assert report["measures"]["nfiq2_minutiae"] >= 5
    assert report["nfiq2"] == {"score": int(nfiq2), "threshold": 35, "passes": True}


def test_quality_nfiq2_threshold_comes_from_the_configuration(tmp_path, finger_files):
    config = tmp_path / "rekam.toml"
    config.write_text("[quality.fingerprint]\nmin_nfiq2 = 90\n")
    argv = ["quality", "--modality", "fingerprint", "--config", str(config)]
    status, out = rekam(quality_command, [*argv, str(finger_files[".png"])])
    assert "NFIQ 2" in out and "(FAIL, threshold 90)" in out
    assert status == 1, "a print the station would not keep fails"
    _, out = rekam(quality_command, [*argv, "--json", str(finger_files[".png"])])
    (report,) = json_lines(out)
    assert report["nfiq2"]["threshold"] == 90 and report["nfiq2"]["passes"] is False


def test_quality_text_output_in_bahasa_indonesia(finger_files):
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "fingerprint", "--language", "id", str(finger_files["heavy"])],
    )
    assert status == 1
    assert "FAIL" in out and "tekan lebih pelan" in out


def test_quality_face_backdrop_follows_the_birth_year(tmp_path):
    photo = _write(tmp_path / "face.jp2", render_face(640, 480, FaceKnobs(background="red")))
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "face", "--birth-year", "1987", "--json", str(photo)],
    )
    assert status == 0 and json_lines(out)[0]["reasons"] == []
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "face", "--birth-year", "1990", "--json", str(photo)],
    )
    (report,) = json_lines(out)
    assert status == 1
    wrong = {r["code"]: r for r in report["reasons"]}["WRONG_BACKGROUND_COLOUR"]
    assert wrong["en"] == "Wrong background colour for birth year 1990: use blue."


def test_quality_measures_iris_radii(tmp_path):
    image, truth = render_eye(IrisSpec.random(5), IrisKnobs())
    status, out = rekam(
        quality_command,
        ["quality", "--modality", "iris", "--json", str(_write(tmp_path / "eye.png", image))],
    )
    (report,) = json_lines(out)
    assert status == 0
    assert report["measures"]["iris_radius"] == pytest.approx(truth.iris_radius, rel=0.05)


def test_quality_thresholds_come_from_the_station_configuration(tmp_path, finger_files):
    config = tmp_path / "rekam.toml"
    config.write_text("[quality.fingerprint]\nmin_score = 99\n")
    status, out = rekam(
        quality_command,
        [
            "quality",
            "--modality",
            "fingerprint",
            "--json",
            "--config",
            str(config),
            str(finger_files[".png"]),
        ],
    )
    (report,) = json_lines(out)
    assert report["threshold"] == 99 and status == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"not an image at all", b"\xff\xa0garbage", b"\x00\x00\x00\x0cjP  \r\n\x87\n"],
    ids=["empty", "text", "bad-wsq", "bad-jp2"],
)
def test_quality_unreadable_files_are_reported(tmp_path, content):
    bad = tmp_path / "bad.img"
    bad.write_bytes(content)
    missing = tmp_path / "missing.png"
    status, out = rekam(
        quality_command, ["quality", "--modality", "iris", "--json", str(bad), str(missing)]
    )
    reports = json_lines(out)
    assert status == 2
    assert [r["error"]["code"] for r in reports] == ["INVALID_IMAGE", "INVALID_IMAGE"]
    assert all(r["error"]["en"] and r["error"]["id"] for r in reports)


def test_quality_tiny_image_is_an_error_not_a_crash(tmp_path):
    tiny = _write(tmp_path / "tiny.png", np.zeros((1, 1), np.uint8))
    status, out = rekam(quality_command, ["quality", "--modality", "fingerprint", str(tiny)])
    assert status == 2 and "INVALID_IMAGE" in out


# -- rekam inspect ------------------------------------------------------------------------------


def full_record(seed: int) -> RecordContent:
    """Ten prints, a face, two irises and a signature of one synthetic resident."""
    samples = [
        ImageSample(
            name,
            "fingerprint",
            quantise_4bit(render_capture(FingerSpec.random(seed * 100 + code), 0)),
            80 + code,
            1,
            False,
        )
        for name, code in ((f, f.finger_code) for f in FINGERS)
    ]
    samples.append(
        ImageSample("face", "face", render_face(640, 480, FaceKnobs(), seed), 90, 1, False)
    )
    for offset, eye in enumerate(("right_eye", "left_eye")):
        samples.append(
            ImageSample(eye, "iris", render_eye(IrisSpec.random(seed + offset))[0], 85, 2, False)
        )
    pad = (24576, 18432)
    return RecordContent(
        record_id=f"BENCH-{seed:04d}",
        station_id="KIT-BENCH",
        operator="op-ani",
        supervisor="",
        subject=Subject(
            "3174010101900001", "Ani", date(1990, 1, 1), Sex.FEMALE, Category.REGULAR, "KK-0001"
        ),
        samples=samples,
        signature=SignatureSample(to_pen_reports(make_signature(seed), *pad), *pad, 1023),
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A station and a centre with key files, and one sealed package written to disk."""
    root = tmp_path_factory.mktemp("inspect")
    station = StationKeys.load_or_create(root / "station-keys")
    centre = CentreKeys.load_or_create(root / "centre-keys")
    record = full_record(7)
    record.samples[3].image = None
    record.samples[3].exception = "amputated"
    for sample in record.samples:  # what the sealer adds: the card fingers' minutiae
        if sample.position in CARD_FINGERS:
            code = Position(sample.position).finger_code
            sample.minutiae = extract(sample.image, code, sample.quality).to_bytes()
    package = root / "record.pkg"
    package.write_bytes(seal(record, station, centre.public_key).data)
    return {
        "root": root,
        "package": package,
        "station_pub": root / "station-keys" / STATION_PUBLIC_FILE,
        "station_dir": root / "station-keys",
        "centre_key": root / "centre-keys" / "centre_x25519.pem",
        "record": record,
    }


def inspect(kit, package: Path | None = None, *extra: str) -> tuple[int, str]:
    return rekam(inspect_command, ["inspect", str(package or kit["package"]), *extra])


def test_inspect_verifies_the_signature_without_the_centre_key(kit):
    status, out = inspect(kit, None, "--station-key", str(kit["station_pub"]))
    assert status == 0
    assert "station    KIT-BENCH" in out and "signature valid" in out
    assert "BENCH-0007" in out and "pass --centre-key" in out
    assert kit["record"].subject.nik not in out  # nothing inside is readable without the key


def test_inspect_opens_and_summarises_with_the_centre_key(kit):
    status, out = inspect(
        kit, None, "--station-key", str(kit["station_dir"]), "--centre-key", str(kit["centre_key"])
    )
    assert status == 0, out
    assert f"NIK {kit['record'].subject.nik}" in out
    assert "right_ring" in out and "exception amputated" in out
    assert "decoded    9 fingerprints, a face, 2 irises" in out


def test_inspect_json_summary(kit):
    status, out = inspect(
        kit,
        None,
        "--station-key",
        str(kit["station_pub"]),
        "--centre-key",
        str(kit["centre_key"]),
        "--json",
    )
    summary = json.loads(out)
    assert status == 0
    assert summary["station_id"] == "KIT-BENCH" and summary["signature"] == "valid"
    content = summary["content"]
    assert content["subject"]["nik"] == kit["record"].subject.nik
    assert content["quality"]["fingerprint"]["captured"] == 9
    assert {"position": "right_ring", "exception": "amputated"} in content["exceptions"]
    assert all(len(s["sha256"]) == 64 for s in content["samples"] if s["encoding"])
    expected = {
        s.position: minutiae_count(s.minutiae) for s in kit["record"].samples if s.minutiae
    }
    assert set(expected) == {"right_index", "left_index"}
    assert content["decoded"]["minutiae"] == expected and min(expected.values()) >= 12


def test_inspect_shows_the_card_fingers_minutiae_counts(kit):
    status, out = inspect(
        kit, None, "--station-key", str(kit["station_dir"]), "--centre-key", str(kit["centre_key"])
    )
    counts = {s.position: minutiae_count(s.minutiae) for s in kit["record"].samples if s.minutiae}
    assert status == 0, out
    assert (
        f"templates  right_index {counts['right_index']} minutiae, "
        f"left_index {counts['left_index']} minutiae (ISO/IEC 19794-2, Type-9)"
    ) in out


def _variant(kit, name: str, data: bytes) -> Path:
    path = kit["root"] / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("damage", "reason", "words"),
    [
        (lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:], "SIGNATURE_INVALID", "altered"),
        (lambda d: d[: len(d) // 2], "TRUNCATED_PACKAGE", "truncated"),
        (lambda d: d[:-1], "TRUNCATED_PACKAGE", "truncated"),
        (lambda d: b"PK\x03\x04" + d[4:], "NOT_A_PACKAGE", "not a Rekam package"),
    ],
    ids=["flipped-byte", "truncated-half", "truncated-last-byte", "not-a-package"],
)
def test_inspect_refuses_damaged_packages(kit, damage, reason, words, capsys):
    damaged = _variant(kit, f"damaged-{reason}.pkg", damage(kit["package"].read_bytes()))
    for extra in ([], ["--centre-key", str(kit["centre_key"])]):
        status, _ = inspect(kit, damaged, "--station-key", str(kit["station_pub"]), *extra)
        err = capsys.readouterr().err
        assert status == 1
        assert reason in err and words in err


def test_inspect_names_the_station_an_unknown_package_claims(kit, tmp_path, capsys):
    other = StationKeys.load_or_create(tmp_path / "other")
    status, _ = inspect(kit, None, "--station-key", str(tmp_path / "other" / STATION_PUBLIC_FILE))
    err = capsys.readouterr().err
    assert status == 1
    assert "UNKNOWN_STATION" in err and "'KIT-BENCH'" in err
    claimed = read_header(kit["package"].read_bytes()).station_key_id
    assert claimed != other.key_id and claimed.hex() in err


def test_inspect_refuses_the_wrong_centre_key(kit, tmp_path, capsys):
    CentreKeys.load_or_create(tmp_path / "other-centre")
    status, _ = inspect(
        kit,
        None,
        "--station-key",
        str(kit["station_pub"]),
        "--centre-key",
        str(tmp_path / "other-centre" / "centre_x25519.pem"),
    )
    err = capsys.readouterr().err
    assert status == 1 and "WRONG_CENTRE_KEY" in err


def test_inspect_json_error(kit):
    truncated = _variant(kit, "cut.pkg", kit["package"].read_bytes()[:500])
    status, out = inspect(kit, truncated, "--station-key", str(kit["station_pub"]), "--json")
    assert status == 1
    assert json.loads(out)["error"]["reason"] == "TRUNCATED_PACKAGE"


def test_inspect_key_problems_are_usage_errors(kit, tmp_path, capsys):
    public_centre = tmp_path / "centre.pub.pem"
    public_centre.write_bytes(CentreKeys.generate().public_pem())
    status, _ = inspect(
        kit, None, "--station-key", str(kit["station_pub"]), "--centre-key", str(public_centre)
    )
    assert status == 2 and "not a private key" in capsys.readouterr().err
    readable = tmp_path / "readable.pem"
    readable.write_bytes(kit["centre_key"].read_bytes())
    os.chmod(readable, 0o644)
    status, _ = inspect(
        kit, None, "--station-key", str(kit["station_pub"]), "--centre-key", str(readable)
    )
    assert status == 2 and "readable by others" in capsys.readouterr().err
    empty = tmp_path / "no-keys"
    empty.mkdir()
    status, _ = inspect(kit, None, "--station-key", str(empty))
    assert status == 2 and "no Ed25519 station public key" in capsys.readouterr().err
    status, _ = inspect(kit, tmp_path / "missing.pkg", "--station-key", str(kit["station_pub"]))
    assert status == 2 and "cannot read" in capsys.readouterr().err
