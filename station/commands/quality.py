"""``rekam quality``: score image files with the station's quality engine.

    rekam quality --modality fingerprint right_index.wsq left_index.png
    rekam quality --modality face --birth-year 1987 portrait.jp2
    rekam quality --modality iris --json eye-*.png > iris.jsonl
    rekam quality --modality face --config /etc/rekam/rekam.toml photo.jpg   # site thresholds

Reads PNG, JPEG, WSQ and JPEG 2000 (JP2 or raw codestream). Fingerprints are 500 ppi grey,
iris images one near-infrared eye. ``--json`` prints one JSON object per file and line, with
``score``, ``threshold``, ``passes``, ``measures`` and ``reasons`` (code, English, Bahasa
Indonesia), or ``error`` for a file that could not be read. A fingerprint's ``score`` is the
per-frame score the preview shows; ``measures.nfiq2`` is the NIST NFIQ 2 score that decides
whether the station keeps a capture, and ``nfiq2`` says how it compares with
``[quality.fingerprint] min_nfiq2`` (``score``, ``threshold``, ``passes``).

Exit status: 0 when every file passed its threshold (and, for fingerprints, NFIQ 2's), 1 when
one scored below it, 2 when a file could not be read or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from domain.messages import negotiate
from quality.base import QualityResult, reason_to_dict
from quality.config import QualityConfig
from quality.reasons import reason

MODALITIES = ("fingerprint", "face", "iris")
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"
_WSQ_SOI = b"\xff\xa0"
MAX_FILE_BYTES = 64 * 1024 * 1024


class UnreadableImage(ValueError):
    """A file that is not an image this command can decode."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam quality`` to the ``rekam`` command."""
    parser = subparsers.add_parser(
        "quality",
        help="score fingerprint, face or iris image files (technicians, integrators)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--modality", required=True, choices=MODALITIES)
    parser.add_argument(
        "--birth-year", type=int, help="face: the resident's birth year (backdrop colour)"
    )
    parser.add_argument("--config", type=Path, help="station TOML whose [quality] thresholds apply")
    parser.add_argument("--json", action="store_true", help="one JSON object per file and line")
    parser.add_argument("--language", default="en", help="reason language: en or id")
    parser.set_defaults(func=run)


def _is_jpeg2000(data: bytes) -> bool:
    return data.startswith(_JP2_SIGNATURE) or data.startswith(_J2K_CODESTREAM)


def _decode_wsq(data: bytes) -> np.ndarray:
    import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


def _decode_jpeg2000(data: bytes) -> np.ndarray:
    import imagecodecs

    image = np.asarray(imagecodecs.jpeg2k_decode(data))
    if image.dtype != np.uint8:  # 16-bit or wider: scale the used range to 8 bits
        top = max(float(image.max()), 1.0)
        image = np.clip(image.astype(np.float64) * (255.0 / top), 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3:
        image = np.ascontiguousarray(image[:, :, ::-1])  # RGB -> BGR, as OpenCV decodes
    return image


def decode_image(data: bytes, colour: bool) -> np.ndarray:
    """Decode PNG, JPEG, WSQ or JPEG 2000 bytes to uint8 BGR (``colour``) or grey."""
    try:
        if data.startswith(_WSQ_SOI):
            image = _decode_wsq(data)
        elif _is_jpeg2000(data):
            image = _decode_jpeg2000(data)
        else:
            flags = cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE
            image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except Exception as exc:  # codec libraries raise their own exception types
        raise UnreadableImage(f"cannot decode the image: {exc}") from exc
    if image is None or image.size == 0:
        raise UnreadableImage("not a PNG, JPEG, WSQ or JPEG 2000 image")
    if colour and image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif not colour and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(image)


def read_image(path: Path, colour: bool) -> np.ndarray:
    """Read and decode one image file (see :func:`decode_image`)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableImage(f"file of {size} bytes is larger than any capture")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableImage(exc.strerror or str(exc)) from exc
    return decode_image(data, colour)


def assessor(
    modality: str, config: QualityConfig, birth_year: int | None
) -> tuple[Callable[[np.ndarray], QualityResult], int]:
    """The quality function for ``modality`` and its pass threshold."""
    from quality.face import assess_face
    from quality.fingerprint import assess_fingerprint
    from quality.iris import assess_iris

    if modality == "fingerprint":
        from quality.nfiq2 import final_fingerprint_quality

        def fingerprint(image: np.ndarray) -> QualityResult:
            # The per-frame score, with the NFIQ 2 score that judges a kept capture.
            live = assess_fingerprint(image, config.fingerprint)
            final = final_fingerprint_quality(
                image, live, config.fingerprint.min_nfiq2, config.fingerprint
            )
            live.measures.update(
                {name: value for name, value in final.measures.items() if "nfiq2" in name}
            )
            return live

        return fingerprint, config.fingerprint.min_score
    if modality == "face":
        return (lambda image: assess_face(image, birth_year, config.face)), config.face.min_score
    return (lambda image: assess_iris(image, config.iris)), config.iris.min_score


def score_file(
    path: Path,
    modality: str,
    measure: Callable[[np.ndarray], QualityResult],
    threshold: int,
    nfiq2_threshold: int | None = None,
) -> dict[str, Any]:
    """One file's report: score, threshold, measures and reasons, or an ``error``."""
    report: dict[str, Any] = {"file": str(path), "modality": modality}
    try:
        result = measure(read_image(path, colour=modality == "face"))
    except ValueError as exc:  # unreadable file, or an image the measure cannot judge
        invalid = reason_to_dict(reason("INVALID_IMAGE"))
        report["error"] = {"code": invalid.pop("code"), "detail": str(exc), **invalid}
        return report
    report.update(
        score=result.score,
        threshold=threshold,
        passes=result.passes(threshold),
        measures={name: round(float(value), 4) for name, value in result.measures.items()},
        reasons=[reason_to_dict(r) for r in result.reasons],
    )
    if "nfiq2" in result.measures and nfiq2_threshold is not None:
        score = int(result.measures["nfiq2"])
        report["nfiq2"] = {
            "score": score,
            "threshold": nfiq2_threshold,
            "passes": score >= nfiq2_threshold and "nfiq2_failed" not in result.measures,
        }
    return report


def _print_text(report: dict[str, Any], language: str, out: TextIO) -> None:
    key = negotiate(language)
    if "error" in report:
        error = report["error"]
        print(f"{report['file']}: {error['code']}: {error[key]} ({error['detail']})", file=out)
        return
    verdict = "pass" if report["passes"] else "FAIL"
    detail = ""
    if "nfiq2" in report:
        nfiq2 = report["nfiq2"]
        kept = "pass" if nfiq2["passes"] else "FAIL"
        detail = f"; NFIQ 2 {nfiq2['score']} ({kept}, threshold {nfiq2['threshold']})"
    print(
        f"{report['file']}: {report['modality']} score {report['score']} "
        f"({verdict}, threshold {report['threshold']}{detail})",
        file=out,
    )
    for item in report["reasons"]:
        print(f"  {item['code']}: {item[key]}", file=out)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Score every file; see the module docstring for the exit status."""
    out = out or sys.stdout
    config = QualityConfig()
    if args.config is not None:
        from station.cli import load_config

        config = load_config(args.config, "quality").quality
    measure, threshold = assessor(args.modality, config, args.birth_year)
    status = 0
    for path in args.files:
        report = score_file(
            path,
            args.modality,
            measure,
            threshold,
            config.fingerprint.min_nfiq2 if args.modality == "fingerprint" else None,
        )
        if args.json:
            print(json.dumps(report, ensure_ascii=False), file=out)
        else:
            _print_text(report, args.language, out)
        if "error" in report:
            status = 2
        elif not report["passes"] or not report.get("nfiq2", {}).get("passes", True):
            status = max(status, 1)
    return status
