"""Fingerprint comparison: the kit's same-finger check and the simulated centre's ABIS.

Minutiae are found by NIST's MINDTCT and compared by NIST's Bozorth3 (NBIS, through the
``nbis`` bindings of ``nbis-python``). Bozorth3 is rotation and translation invariant: it
matches the pairwise geometry of the two minutiae sets and answers a score that grows with the
number of compatible minutiae (0 to a few hundred).

The decision threshold follows NIST's guidance for Bozorth3: the NBIS User's Guide (NISTIR
7392, section on BOZORTH3) gives a score above about 40 as the usual sign of a true match.

Templates are ISO/IEC 19794-2:2005 finger minutiae records, written here from the record's
public structure (the ``nbis`` writer omits the finger view header, the resolution and the
extended data block, so its output is not a conformant record):

- record header, 24 bytes: format identifier ``"FMR\\0"``, version ``" 20\\0"``, record length
  (4 bytes), capture equipment (2 bytes: 4 bits certification, 12 bits device type id), image
  width and height (2 bytes each, pixels), horizontal and vertical resolution (2 bytes each,
  pixels per cm), number of finger views (1 byte), reserved (1 byte);
- per finger view, 4 bytes: finger position (ANSI/NIST-ITL codes, 0 unknown .. 10), view
  number (4 bits) and impression type (4 bits, 0 live-scan plain), finger quality (0..100),
  number of minutiae; then 6 bytes per minutia: type (2 bits: 01 ridge ending, 10
  bifurcation) and x (14 bits), reserved (2 bits) and y (14 bits), angle (1 byte, units of
  360/256 degrees, counter-clockwise), quality (1 byte, 0..100); then the extended data block
  length (2 bytes, 0: none).

Source of the layout: ISO/IEC 19794-2:2005 clause 7 (Finger Minutiae Record Format), as
described publicly in NIST's MINEX test specification (NISTIR 7296, Appendix of template
formats) and in INCITS 378, which shares the structure.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np

from domain.vocabulary import CARD_FINGERS, Position
from quality.nbis_engine import NBIS_LOCK, extractor

# NIST guidance (NBIS User's Guide, NISTIR 7392, BOZORTH3): scores above ~40 are true matches.
BOZORTH3_THRESHOLD = 40
FINGER_THRESHOLD = BOZORTH3_THRESHOLD
# Fewer minutiae than this and Bozorth3 has too little to compare: the print is not matched.
MIN_MINUTIAE = 12
# Fingers compared first; if none of them comes close, the other fingers are not compared.
SCREENING_FINGERS = (*CARD_FINGERS, Position.RIGHT_THUMB, Position.LEFT_THUMB)

ISO_FORMAT = b"FMR\x00"
ISO_VERSION = b" 20\x00"
ISO_HEADER = struct.Struct(">4s4sIHHHHHBB")  # 24 bytes
ISO_VIEW = struct.Struct(">BBBB")
ISO_MINUTIA = struct.Struct(">HHBB")
PIXELS_PER_CM_500PPI = 197  # 500 ppi = 196.85 px/cm
ANGLE_UNIT = 360.0 / 256.0
_KIND_BITS = {1: 1, 2: 2}  # nbis MinutiaKind value -> ISO type bits (01 ending, 10 bifurcation)

@dataclass(frozen=True, slots=True)
class Minutia:
    """One minutia in ISO/IEC 19794-2 terms: pixels from the top-left, ISO angle units."""

    kind: int  # 1 ridge ending, 2 bifurcation, 0 other
    x: int
    y: int
    angle: int  # 0..255, units of 360/256 degrees
    quality: int  # 0..100


@dataclass
class FingerTemplate:
    """The minutiae of one print, with what an ISO/IEC 19794-2 record says about the image."""

    minutiae: list[Minutia]
    width: int
    height: int
    position: int = 0  # ANSI/NIST-ITL finger position code, 0 unknown
    quality: int = 0  # finger quality 0..100 (0: not reported)
    _loaded: object | None = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        return len(self.minutiae)

    @property
    def usable(self) -> bool:
        return self.count >= MIN_MINUTIAE

    def to_bytes(self) -> bytes:
        """The ISO/IEC 19794-2:2005 finger minutiae record (one finger view)."""
        return to_iso_19794_2(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerTemplate:
        return from_iso_19794_2(data)

    def nbis_minutiae(self):
        """The minutiae as an ``nbis.Minutiae`` for Bozorth3 (loaded once)."""
        if self._loaded is None:
            self._loaded = _load_for_bozorth(self)
        return self._loaded


def extract(image: np.ndarray, position: int = 0, quality: int = 0) -> FingerTemplate:
    """MINDTCT minutiae of a uint8 500 ppi grey print."""
    if image.ndim != 2:
        raise ValueError("fingerprint must be a 2-D grey image")
    ok, png = cv2.imencode(".png", np.ascontiguousarray(image, dtype=np.uint8))
    if not ok:
        raise ValueError("fingerprint could not be encoded")
    height, width = image.shape
    try:
        with NBIS_LOCK:
            found = _extractor().extract_minutiae(png.tobytes())
            raw = found.get()
            minutiae = [
                Minutia(
                    kind=_KIND_BITS.get(m.kind().value, 0),
                    x=min(max(m.x(), 0), 0x3FFF),
                    y=min(max(m.y(), 0), 0x3FFF),
                    angle=round(m.angle() / ANGLE_UNIT) % 256,
                    quality=int(min(100, max(1, round(m.reliability() * 100)))),
                )
                for m in raw
            ]
    except Exception:  # MINDTCT refuses blank or tiny images: no minutiae
        minutiae, found = [], None
    minutiae = minutiae[:255]  # one byte counts them in the record
    template = FingerTemplate(minutiae, width, height, position, quality)
    if found is not None and len(raw) == len(minutiae):
        template._loaded = found
    return template


def to_iso_19794_2(template: FingerTemplate) -> bytes:
    """Write ``template`` as an ISO/IEC 19794-2:2005 record (layout: module docstring)."""
    minutiae = template.minutiae[:255]
    body = b"".join(
        ISO_MINUTIA.pack((m.kind & 0x3) << 14 | m.x & 0x3FFF, m.y & 0x3FFF, m.angle, m.quality)
        for m in minutiae
    )
    view = ISO_VIEW.pack(template.position & 0xFF, 0x00, template.quality, len(minutiae))
    length = ISO_HEADER.size + len(view) + len(body) + 2
    header = ISO_HEADER.pack(
        ISO_FORMAT,
        ISO_VERSION,
        length,
        0,
        template.width,
        template.height,
        PIXELS_PER_CM_500PPI,
        PIXELS_PER_CM_500PPI,
        1,
        0,
    )
    return header + view + body + b"\x00\x00"


def from_iso_19794_2(data: bytes) -> FingerTemplate:
    """Read the first finger view of an ISO/IEC 19794-2:2005 record."""
    if len(data) < ISO_HEADER.size + ISO_VIEW.size or data[:8] != ISO_FORMAT + ISO_VERSION:
        raise ValueError("not an ISO/IEC 19794-2:2005 finger minutiae record")
    _fmt, _ver, length, _eq, width, height, _xr, _yr, views, _r = ISO_HEADER.unpack_from(data)
    if length != len(data) or views < 1:
        raise ValueError("ISO/IEC 19794-2 record length or view count is wrong")
    position, _view, quality, count = ISO_VIEW.unpack_from(data, ISO_HEADER.size)
    offset = ISO_HEADER.size + ISO_VIEW.size
    if offset + count * ISO_MINUTIA.size + 2 > len(data):
        raise ValueError("ISO/IEC 19794-2 record is shorter than its minutiae")
    minutiae = []
    for i in range(count):
        tx, y, angle, mq = ISO_MINUTIA.unpack_from(data, offset + i * ISO_MINUTIA.size)
        minutiae.append(Minutia(tx >> 14, tx & 0x3FFF, y & 0x3FFF, angle, mq))
    return FingerTemplate(minutiae, width, height, position, quality)


def minutiae_count(data: bytes) -> int:
    """Number of minutiae in an ISO/IEC 19794-2:2005 record (first view)."""
    return from_iso_19794_2(data).count


def _load_for_bozorth(template: FingerTemplate):
    """Hand the minutiae to Bozorth3 through the ``nbis`` reader, which takes its own variant
    of the record: the 24-byte header, a 2-byte minutiae count, then the 6-byte minutiae."""
    body = b"".join(
        ISO_MINUTIA.pack((m.kind & 0x3) << 14 | m.x, m.y, m.angle, m.quality)
        for m in template.minutiae
    )
    length = ISO_HEADER.size + 2 + len(body)
    header = ISO_HEADER.pack(
        ISO_FORMAT, ISO_VERSION, length, 0, template.width, template.height, 0, 0, 0, 0
    )
    with NBIS_LOCK:
        return _extractor().load_iso_19794_2_2005(header + struct.pack(">H", template.count) + body)


def bozorth3(probe: FingerTemplate, gallery: FingerTemplate) -> int:
    """Bozorth3 score of two templates (0 when either has too few minutiae to compare)."""
    if not probe.usable or not gallery.usable:
        return 0
    a, b = probe.nbis_minutiae(), gallery.nbis_minutiae()
    with NBIS_LOCK:
        return int(a.compare(b))


@dataclass(frozen=True)
class MatchResult:
    """Comparison of two records: per-finger scores and the decision."""

    score: float
    matched_fingers: int
    compared_fingers: int
    per_finger: dict[str, float]

    @property
    def same_person(self) -> bool:
        return self.matched_fingers >= min(2, self.compared_fingers) > 0


class FingerprintMatcher:
    """Bozorth3 scores of pairs of prints, and whether two records are the same person."""

    def __init__(self, finger_threshold: int = BOZORTH3_THRESHOLD) -> None:
        self.finger_threshold = finger_threshold
        self._cache: OrderedDict[bytes, FingerTemplate] = OrderedDict()

    def template(self, image: np.ndarray | FingerTemplate) -> FingerTemplate:
        """The template of ``image`` (the last few are kept: a record's prints come back)."""
        if isinstance(image, FingerTemplate):
            return image
        key = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        key += struct.pack(">II", *image.shape[:2])
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        else:
            found = extract(image)
            self._cache[key] = found
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return found

    # Bozorth3 needs no separate probe and gallery preparation.
    gallery_template = template
    probe_template = template

    def score(self, probe: FingerTemplate, gallery: FingerTemplate) -> int:
        return bozorth3(probe, gallery)

    def compare_images(self, probe: np.ndarray, gallery: np.ndarray) -> int:
        return self.score(self.template(probe), self.template(gallery))

    def compare_records(
        self, probe: dict[str, FingerTemplate], gallery: dict[str, FingerTemplate]
    ) -> MatchResult:
        """Compare prints of the same finger positions.

        The screening fingers go first; when none of them scores above half the threshold,
        the records are different people and the rest is skipped.
        """
        common = [p for p in probe if p in gallery]
        screening = [p for p in common if p in SCREENING_FINGERS] or common[:2]
        per_finger: dict[str, float] = {}
        for position in screening:
            per_finger[position] = self.score(probe[position], gallery[position])
        if max(per_finger.values(), default=0.0) >= self.finger_threshold / 2:
            for position in common:
                if position not in per_finger:
                    per_finger[position] = self.score(probe[position], gallery[position])
        matched = sum(1 for s in per_finger.values() if s >= self.finger_threshold)
        best = max(per_finger.values(), default=0.0)
        return MatchResult(best, matched, len(per_finger), per_finger)


def _extractor():
    """MINDTCT and Bozorth3 at 500 ppi (no NFIQ 2)."""
    return extractor(compute_nfiq2=False, ppi=500.0)
