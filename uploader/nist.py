"""The record as an ANSI/NIST-ITL 1-2011 transaction (built and parsed with ``nistitl``).

Layout of a Rekam transaction:

- Type-1: TOT "KTPEL", ORI = station id, TCN = record id, GMT = completion time,
  NSR/NTR 19.69 px/mm (500 ppi).
- Type-2 (IDC 0), this domain's user-defined fields: 2.010 NIK, 2.011 demographics
  reference, 2.012 category, 2.013 birth date (YYYYMMDD, needed for the card-age rule).
  Name, sex and address stay in the demographic system.
- Type-14, one per finger: 14.013 FGP = position code 1..10, WSQ at 500 ppi (CGA "WSQ20"),
  14.024 FQM = position/score/vendor/product (NFIQ 2's score with its CBEFF identifiers,
  0101/57, where NFIQ 2 measured the print). A finger that could not be printed carries
  14.018 AMP = position/"XX" (amputated) or "UP" (unable to print) and no 14.999 image.
- Type-10 face: IMT "FACE", SAP 14 (ISO/IEC 19794-5 full frontal), JPEG 2000 ("JP2"), sRGB,
  10.024 SQS quality.
- Type-17 iris, one per eye: 17.003 ELR (1 right, 2 left), JPEG 2000 grey, 17.024 IQS quality;
  an eye that was not captured carries 17.028 DME ("MA" missing, "UC" unable to capture) and
  no image.
- Type-9, one per card finger (the two index fingers the KTP-el chip holds), with the IDC of
  that finger's Type-14: 9.003 IMP 0, 9.004 FMT "U" (not the legacy standard minutiae fields),
  the other-feature-set block 9.176 OOD "ISO/IEC JTC 1/SC 37", 9.177 PAG "NIST NBIS MINDTCT",
  9.178 SOD station id, and 9.180 (user-defined in that block) the ISO/IEC 19794-2:2005 finger
  minutiae record, base64: the Type-9 is a tagged ASCII record, and binary bytes would collide
  with its separators.
- Type-8 signature as vector data (8.004 SRT = 2): 5-byte vectors (X, Y in 0.0254 mm from the
  bottom-left corner, pressure 0 = pen up, 1..254, 255 = end of list).
- Type-21 associated context, one per exception's proof photo (the amputated hand, the blind
  eyes): 21.003 SRC station id, 21.005 ACD date, 21.015 AFT file type ("JPG" or "PNG"),
  21.020 COM "PROOF <position>", 21.021 ACN 1.., 21.999 the photo's bytes as taken. The
  excepted finger's Type-14 or eye's Type-17 names it in its xx.995 ASC (associated context).
  ANSI/NIST-ITL 1-2011 (Update 2013), sections 8.21 and 7.3.3.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

import imagecodecs
import numpy as np
import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
from PIL import Image

from domain.vocabulary import EYES, FINGERS, ExceptionKind, Position
from uploader.content import RecordContent
from uploader.image_limits import checked_header, decoded_as_declared

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nistitl

TOT = "KTPEL"
QUALITY_VENDOR = "0000"  # no registered vendor id: the station's own 0..100 quality measure
QUALITY_PRODUCT = "1"
# A fingerprint's NFIQ 2 score carries NFIQ 2's CBEFF quality algorithm identifiers, as NIST's
# reference implementation declares them (usnistgov/NFIQ2,
# NFIQ2/NFIQ2Algorithm/src/nfiq2/nfiq2_cbeff.cpp, NFIQ2::Identifiers::CBEFF): vendor 0x0101
# (ISO/IEC JTC 1/SC 37, an IBIA-registered CBEFF biometric organisation) as the four hex
# digits of 14.024's QAV, and NFIQ 2.3's algorithm 0x39 ("NFIQ2Rev3") as QAP's decimal code.
NFIQ2_VENDOR = "0101"
NFIQ2_PRODUCT = str(0x39)
FACE_JP2_LEVEL = 40
IRIS_JP2_LEVEL = 42
# ANSI/NIST-ITL 1-2011 amputated-or-bandaged codes: XX amputated, UP unable to print.
AMPUTATION_CODES = {
    ExceptionKind.AMPUTATED: "XX",
    ExceptionKind.UNUSABLE: "UP",
    ExceptionKind.BANDAGED: "UP",
}
# Type-17 damaged or missing eye: MA missing; any other exception: UC unable to capture.
EYE_DAMAGE_CODES = {ExceptionKind.EYE_ABSENT: "MA"}
FINGER_BY_CODE: dict[int, Position] = {finger.finger_code: finger for finger in FINGERS}
SIGNATURE_END = 255


class TransactionError(ValueError):
    """The transaction could not be built (bad content) or parsed (bad bytes)."""


@dataclass
class SampleSummary:
    """What the manifest says about one encoded sample."""

    position: str
    modality: str
    quality: int
    attempts: int
    forced: bool
    exception: str
    encoding: str
    width: int
    height: int
    encoded_bytes: int
    sha256: str = ""  # of the encoded image as stored in the transaction
    nfiq2: int | None = None  # a fingerprint's NFIQ 2 score, when it was measured

    def to_dict(self) -> dict:
        """JSON-ready; ``nfiq2`` only where it was measured."""
        out = self.__dict__.copy()
        if out["nfiq2"] is None:
            del out["nfiq2"]
        return out


@dataclass
class DecodedTransaction:
    """The images and fields read back from a transaction."""

    record_id: str = ""
    station_id: str = ""
    type2: dict[str, str] = field(default_factory=dict)
    fingerprints: dict[str, np.ndarray] = field(default_factory=dict)
    finger_quality: dict[str, int] = field(default_factory=dict)
    # 14.024 FQM's quality algorithm per finger: (vendor id, product code), e.g. ("0101", "57").
    finger_quality_algorithm: dict[str, tuple[str, str]] = field(default_factory=dict)
    finger_exceptions: dict[str, str] = field(default_factory=dict)
    face: np.ndarray | None = None
    irises: dict[str, np.ndarray] = field(default_factory=dict)
    eye_exceptions: dict[str, str] = field(default_factory=dict)
    signature_vectors: list[tuple[int, int, int]] = field(default_factory=list)
    # ISO/IEC 19794-2:2005 finger minutiae records from the Type-9 records, by finger.
    minutiae: dict[str, bytes] = field(default_factory=dict)
    # The exceptions' proof photos (Type-21), as stored, by position.
    proof_photos: dict[str, bytes] = field(default_factory=dict)


def _date(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y%m%d")


def _quality_subfield(position_code: int | None, score: int, nfiq2: bool = False) -> list:
    vendor, product = (NFIQ2_VENDOR, NFIQ2_PRODUCT) if nfiq2 else (QUALITY_VENDOR, QUALITY_PRODUCT)
    items = [str(max(0, min(100, int(score)))), vendor, product]
    return [[str(position_code), *items]] if position_code is not None else [items]


def encode_wsq(image: np.ndarray) -> bytes:
    """WSQ-compress a uint8 grey 500 ppi fingerprint through the Pillow WSQ plugin."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), mode="L").save(out, "WSQ")
    return out.getvalue()


def decode_wsq(data: bytes) -> np.ndarray:
    """Decode a WSQ fingerprint whose header declares a size worth decoding
    (``uploader.image_limits``); raises ImageRefused (a ValueError) otherwise."""
    header = checked_header(data, "WSQ")
    with Image.open(io.BytesIO(data)) as img:
        return decoded_as_declared(np.asarray(img.convert("L")), header)


def decode_jpeg2000(data: bytes) -> np.ndarray:
    """Decode a JPEG 2000 image whose header declares a size worth decoding
    (``uploader.image_limits``); raises ImageRefused (a ValueError) otherwise."""
    header = checked_header(data, "JPEG 2000")
    return decoded_as_declared(np.asarray(imagecodecs.jpeg2k_decode(data)), header)


def _text(value: str, what: str) -> str:
    """A field value that cannot break the transaction: printable Latin-1, no separators."""
    value = str(value)
    if any(ord(ch) < 0x20 or ord(ch) > 0xFF or ch == "\x7f" for ch in value):
        raise TransactionError(f"{what} contains characters a transaction cannot carry")
    return value


_EXCEPTION_PATTERN = re.compile(r"^[A-Za-z0-9_ -]{1,64}$")


def _exception(value: str) -> str:
    """An exception code (e.g. "amputated"); kept to a safe vocabulary of characters."""
    if not _EXCEPTION_PATTERN.match(value):
        raise TransactionError(f"exception {value!r} must be 1..64 of [A-Za-z0-9_ -]")
    return value


def _require_image(image: np.ndarray | None, channels: int, what: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TransactionError(f"{what}: image must be a uint8 numpy array")
    if channels == 1 and image.ndim != 2:
        raise TransactionError(f"{what}: expected a 2-D grey image, got shape {image.shape}")
    if channels == 3 and (image.ndim != 3 or image.shape[2] != 3):
        raise TransactionError(f"{what}: expected an HxWx3 BGR image, got shape {image.shape}")
    if min(image.shape[:2]) < 16:
        raise TransactionError(f"{what}: image too small {image.shape}")
    return image


def _type1(msg: nistitl.Message, content: RecordContent) -> None:
    when = content.completed_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    r1 = msg[0]
    r1.TOT = TOT
    r1.DAT = _date(when)
    r1.DAI = "KTPEL-PUSAT"
    r1.ORI = content.station_id
    r1.TCN = content.record_id
    r1.NSR = "19.69"
    r1.NTR = "19.69"
    r1.DOM = [["REKAM", "1.0"]]
    r1.GMT = when.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def _type2(msg: nistitl.Message, content: RecordContent) -> None:
    r2 = nistitl.AsciiRecord(2)
    r2.IDC = 0
    r2._10 = _text(content.subject.nik, "NIK")
    r2._11 = _text(content.subject.demographics_ref, "demographics reference")
    r2._12 = _text(content.subject.category, "category")
    r2._13 = content.subject.birth_date.strftime("%Y%m%d")
    msg += r2


def build_transaction(content: RecordContent) -> tuple[bytes, list[SampleSummary]]:
    """Encode ``content`` as an ANSI/NIST-ITL transaction; returns its bytes and a summary."""
    msg = nistitl.Message()
    _type1(msg, content)
    _type2(msg, content)
    day = _date(content.completed_at)
    summaries: list[SampleSummary] = []
    idc = 1
    seen: set[str] = set()
    context_numbers = {position: acn for acn, position in enumerate(content.proof_photos, 1)}
    for sample in content.samples:
        if sample.position in seen:
            raise TransactionError(f"{sample.position}: more than one sample for this position")
        seen.add(sample.position)
        if sample.position in FINGERS:
            record, summary = _finger_record(sample, content.station_id, day)
        elif sample.position in EYES:
            record, summary = _iris_record(sample, content.station_id, day)
        elif sample.position == Position.FACE:
            record, summary = _face_record(sample, content.station_id, day)
        else:
            raise TransactionError(f"unknown sample position {sample.position!r}")
        record.IDC = idc
        if sample.position in context_numbers:
            record._995 = [[str(context_numbers[sample.position])]]
        msg += record
        if sample.position in FINGERS and sample.minutiae and sample.image is not None:
            minutiae = _minutiae_record(sample, content.station_id)
            minutiae.IDC = idc  # the Type-14 of the same print
            msg += minutiae
        idc += 1
        summaries.append(summary)
    if content.signature is not None and content.signature.exception != ExceptionKind.CANNOT_SIGN:
        record = _signature_record(content)
        record.IDC = idc
        msg += record
        idc += 1
    for position, acn in context_numbers.items():
        record = _proof_record(position, content.proof_photos[position], acn, content, day)
        record.IDC = idc
        msg += record
        idc += 1
    return msg.NIST, summaries


PROOF_COMMENT = "PROOF "
PHOTO_FILE_TYPES = {b"\xff\xd8\xff": "JPG", b"\x89PNG\r\n\x1a\n": "PNG"}


def _proof_record(position: str, photo: bytes, acn: int, content: RecordContent, day: str):
    """An exception's proof photo as a Type-21 associated-context record."""
    file_type = next((t for magic, t in PHOTO_FILE_TYPES.items() if photo.startswith(magic)), "")
    if not file_type:
        raise TransactionError(f"{position}: the proof photo is neither JPEG nor PNG")
    r = nistitl.AsciiRecord(21)
    r._3 = content.station_id
    r._5 = day
    r._15 = [[file_type]]
    r._20 = PROOF_COMMENT + _text(str(position), "proof photo position")
    r._21 = str(acn)
    r._999 = photo
    return r


def _finger_record(sample, station_id: str, day: str):
    code = Position(sample.position).finger_code
    r = nistitl.AsciiRecord(14)
    r.IMP = "0"
    r.SRC = station_id
    r.FCD = day
    r.FGP = str(code)
    amputation = AMPUTATION_CODES.get(sample.exception)
    if sample.image is None or amputation:
        if not sample.exception:
            raise TransactionError(f"{sample.position}: no image and no exception")
        r.AMP = [[str(code), amputation or "UP"]]
        r.COM = _exception(sample.exception)
        return r, _summary(sample, "", 0, 0, b"")
    image = _require_image(sample.image, 1, sample.position)
    data = encode_wsq(image)
    r.HLL = str(image.shape[1])
    r.VLL = str(image.shape[0])
    r.SLC = "1"
    r.THPS = "500"
    r.TVPS = "500"
    r.CGA = "WSQ20"
    r.BPX = "8"
    nfiq2 = getattr(sample, "nfiq2", None)
    if nfiq2 is not None:
        r.FQM = _quality_subfield(code, nfiq2, nfiq2=True)
    else:
        r.FQM = _quality_subfield(code, sample.quality)
    if sample.exception:
        r.COM = _exception(sample.exception)
    r.DATA = data
    return r, _summary(sample, "WSQ20", image.shape[1], image.shape[0], data)


MINUTIAE_OWNER = "ISO/IEC JTC 1/SC 37"
MINUTIAE_ALGORITHM = "NIST NBIS MINDTCT"


def _minutiae_record(sample, station_id: str):
    if not sample.minutiae.startswith(b"FMR\x00"):
        raise TransactionError(f"{sample.position}: minutiae are not an ISO/IEC 19794-2 record")
    r = nistitl.AsciiRecord(9)
    r._3 = "0"
    r._4 = "U"
    r._176 = MINUTIAE_OWNER
    r._177 = MINUTIAE_ALGORITHM
    r._178 = station_id
    r._180 = base64.b64encode(sample.minutiae).decode("ascii")
    return r


def _face_record(sample, station_id: str, day: str):
    r = nistitl.AsciiRecord(10)
    r.IMT = "FACE"
    r.SRC = station_id
    r.PHD = day
    image = _require_image(sample.image, 3, "face")
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    data = imagecodecs.jpeg2k_encode(rgb, level=FACE_JP2_LEVEL, numthreads=2)
    r.HLL = str(image.shape[1])
    r.VLL = str(image.shape[0])
    r.SLC = "0"
    r.THPS = "1"
    r.TVPS = "1"
    r.CGA = "JP2"
    r.CSP = "SRGB"
    r.SAP = "14"
    r.POS = "F"
    r.SQS = _quality_subfield(None, sample.quality)
    r.DATA = bytes(data)
    return r, _summary(sample, "JP2", image.shape[1], image.shape[0], bytes(data))


def _iris_record(sample, station_id: str, day: str):
    r = nistitl.AsciiRecord(17)
    r._3 = "1" if sample.position == Position.RIGHT_EYE else "2"
    r._4 = station_id
    r._5 = day
    if sample.image is None:
        if not sample.exception:
            raise TransactionError(f"{sample.position}: no image and no exception")
        r._28 = EYE_DAMAGE_CODES.get(sample.exception, "UC")
        r._21 = _exception(sample.exception)
        return r, _summary(sample, "", 0, 0, b"")
    image = _require_image(sample.image, 1, sample.position)
    data = imagecodecs.jpeg2k_encode(image, level=IRIS_JP2_LEVEL, numthreads=2)
    r._6 = str(image.shape[1])
    r._7 = str(image.shape[0])
    r._8 = "0"
    r._9 = "1"
    r._10 = "1"
    r._11 = "JP2"
    r._12 = "8"
    r._13 = "GRAY"
    r._24 = _quality_subfield(None, sample.quality)
    if sample.exception:
        r._21 = _exception(sample.exception)
    r._999 = bytes(data)
    return r, _summary(sample, "JP2", image.shape[1], image.shape[0], bytes(data))


def _summary(sample, encoding: str, width: int, height: int, data: bytes) -> SampleSummary:
    return SampleSummary(
        position=sample.position,
        modality=sample.modality,
        quality=int(sample.quality),
        attempts=int(sample.attempts),
        forced=bool(sample.forced),
        exception=sample.exception,
        encoding=encoding,
        width=width,
        height=height,
        encoded_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest() if data else "",
        nfiq2=getattr(sample, "nfiq2", None) if data else None,
    )


def signature_vectors(content: RecordContent) -> list[tuple[int, int, int]]:
    """Pen reports as Type-8 vectors: (x, y) in 0.0254 mm from bottom-left, pressure 0..254."""
    sig = content.signature
    if sig is None:
        return []
    scale = 1.0 / (sig.units_per_mm * 0.0254)
    max_pressure = max(1, sig.max_pressure)
    vectors = []
    for _t, x, y, pressure, touching in sig.points:
        vx = min(0xFFFF, max(0, round(x * scale)))
        vy = min(0xFFFF, max(0, round((sig.max_y - y) * scale)))
        level = (
            0
            if not touching
            else 1 + round(253 * min(max(pressure, 0), max_pressure) / max_pressure)
        )
        vectors.append((vx, vy, level))
    return vectors


def _signature_record(content: RecordContent):
    r = nistitl.BinaryRecord(8)
    body = bytearray(struct.pack(">BBBHH", 0, 2, 0, 0, 0))
    for vx, vy, level in signature_vectors(content):
        body += struct.pack(">HHB", vx, vy, level)
    body += struct.pack(">HHB", 0, 0, SIGNATURE_END)
    r.value = bytes(body)
    return r


def _subfields(value) -> list[list[str]]:
    if isinstance(value, list):
        return [v if isinstance(v, list) else [v] for v in value]
    return [[value]] if value else []


# What parsing and decoding hostile bytes may raise: nistitl's own errors and the IndexError,
# KeyError, TypeError or RecursionError of a malformed record, struct's short reads, Pillow's
# bomb guard, OpenJPEG's errors (imagecodecs.Jpeg2kError is a RuntimeError), and the refusals of
# uploader.image_limits (ValueError). Each becomes a TransactionError with the cause.
_PARSE_FAILURES = (
    nistitl.NistException,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    RecursionError,
    RuntimeError,
    OSError,
    struct.error,
    Image.DecompressionBombError,
)


def parse_transaction(data: bytes, *, decode_images: bool = True) -> DecodedTransaction:
    """Parse a transaction built by :func:`build_transaction` and decode its images."""
    msg = nistitl.Message()
    try:
        msg.parse(data)
    except _PARSE_FAILURES as exc:
        raise TransactionError(f"not a valid ANSI/NIST-ITL transaction: {exc!r}") from exc
    out = DecodedTransaction()
    try:
        out.record_id = str(msg[0].TCN)
        out.station_id = str(msg[0].ORI)
        for record in msg:
            _read_record(record, out, decode_images)
    except _PARSE_FAILURES as exc:
        raise TransactionError(f"transaction content is invalid: {exc!r}") from exc
    return out


def _read_record(record, out: DecodedTransaction, decode_images: bool) -> None:
    if record.type == 2:
        out.type2 = {
            "nik": str(record._10),
            "demographics_ref": str(record._11),
            "category": str(record._12),
            "birth_date": str(record._13),
        }
    elif record.type == 14:
        name = FINGER_BY_CODE[int(record.FGP)]
        amp = record["AMP"]
        if amp is not None:
            codes = {sf[0]: sf[1] for sf in _subfields(amp.value) if len(sf) >= 2}
            code = codes.get(str(name.finger_code), "UP")
            com = record["COM"]
            out.finger_exceptions[name] = str(com.value) if com is not None else code
            return
        fqm = _subfields(record.FQM)
        out.finger_quality[name] = int(fqm[0][1]) if fqm and len(fqm[0]) > 1 else -1
        if fqm and len(fqm[0]) > 3:
            out.finger_quality_algorithm[name] = (str(fqm[0][2]), str(fqm[0][3]))
        if decode_images:
            out.fingerprints[name] = decode_wsq(record.DATA)
    elif record.type == 9:
        data = base64.b64decode(str(record._180), validate=True)
        out.minutiae[_finger_of_minutiae(data)] = data
    elif record.type == 10 and decode_images:
        rgb = decode_jpeg2000(record.DATA)
        out.face = np.ascontiguousarray(rgb[:, :, ::-1])
    elif record.type == 17:
        name = Position.RIGHT_EYE if str(record._3) == "1" else Position.LEFT_EYE
        if record[28] is not None:
            com = record[21]
            out.eye_exceptions[name] = str(com.value) if com is not None else str(record._28)
        elif decode_images:
            out.irises[name] = decode_jpeg2000(record._999)
    elif record.type == 8:
        out.signature_vectors = _read_vectors(bytes(record.value))
    elif record.type == 21:
        comment = str(record[20].value)
        if not comment.startswith(PROOF_COMMENT):
            raise TransactionError("a Type-21 record that is no proof photo")
        out.proof_photos[Position(comment[len(PROOF_COMMENT) :])] = bytes(record._999)


def _finger_of_minutiae(data: bytes) -> Position:
    """The finger an ISO/IEC 19794-2 record names (its first finger view's position)."""
    if len(data) < 28 or not data.startswith(b"FMR\x00"):
        raise ValueError("Type-9 minutiae are not an ISO/IEC 19794-2 record")
    return FINGER_BY_CODE[data[24]]


def _read_vectors(body: bytes) -> list[tuple[int, int, int]]:
    _sig, srt, _isr, _hll, _vll = struct.unpack_from(">BBBHH", body, 0)
    if srt != 2:
        raise TransactionError("Type-8 signature is not vector data")
    vectors = []
    for offset in range(7, len(body) - 4, 5):
        vx, vy, level = struct.unpack_from(">HHB", body, offset)
        if level == SIGNATURE_END:
            break
        vectors.append((vx, vy, level))
    return vectors
