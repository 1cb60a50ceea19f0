"""Simulated residents ("personas") with demographics and synthetic biometrics.

``make_persona(kind, seed)`` always builds the same person for the same kind and seed: the same
fingers, irises, face placement and signature (``on`` only moves the birth date so that the age
is right on that day). Kinds: "adult", "elderly" (worn prints), "amputee" (right index and middle
finger missing), "blind" (both eyes absent), "student" (16 years old), "mental_disorder" (keeps
the eyes shut for the iris camera, signs with a line). ``category`` uses the enrollment category
names: regular, elderly, disabled, student, mental_disorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import cv2
import numpy as np

from domain.vocabulary import Category, Sex, nik_birth_date_part
from simulator.resident import backdrop_for
from simulator.synth.face import FaceKnobs, render_face
from simulator.synth.fingerprint import FingerKnobs, FingerSpec, render_capture
from simulator.synth.iris import IrisKnobs, IrisSpec, render_both_eyes
from simulator.synth.signature import SignatureKnobs, make_signature

KINDS = ("adult", "elderly", "amputee", "blind", "student", "mental_disorder")
_CATEGORY = {
    "adult": Category.REGULAR,
    "elderly": Category.ELDERLY,
    "amputee": Category.DISABLED,
    "blind": Category.DISABLED,
    "student": Category.STUDENT,
    "mental_disorder": Category.MENTAL_DISORDER,
}
_AGE_RANGE = {
    "adult": (20, 60),
    "elderly": (72, 92),
    "amputee": (22, 65),
    "blind": (25, 70),
    "student": (16, 16),
    "mental_disorder": (20, 60),
}
# Province + regency/city + district codes (Kemendagri), e.g. 31.71.01 Gambir, Jakarta Pusat.
_REGIONS = (
    "317101", "317402", "327301", "320101", "337401", "330201", "357801", "350701",
    "347101", "517101", "127101", "137101", "167101", "647101", "737101", "717101",
)
_MALE_NAMES = (
    "Budi", "Agus", "Slamet", "Joko", "Hendra", "Rizky", "Dimas", "Bayu", "Eko", "Wahyu",
    "Ahmad", "Muhammad", "Yusuf", "Teguh", "Andi", "Made", "Putu", "Ketut", "Arif", "Fajar",
)
_FEMALE_NAMES = (
    "Siti", "Sri", "Dewi", "Wulan", "Ayu", "Rina", "Fitri", "Nur", "Putri", "Lestari",
    "Indah", "Ratna", "Kartini", "Nyoman", "Wayan", "Aisyah", "Intan", "Maya", "Yuni", "Endang",
)
_FAMILY_NAMES = (
    "Santoso", "Wijaya", "Saputra", "Hidayat", "Pratama", "Kusuma", "Setiawan", "Nugroho",
    "Siregar", "Nasution", "Simanjuntak", "Lubis", "Harahap", "Sitompul", "Tanjung", "Rahman",
    "Hakim", "Gunawan", "Susanto", "Wibowo",
)
_AMPUTATED = frozenset({2, 3})  # right index, right middle
_NOISE_FRAMES = 4


def make_nik(region: str, birth_date: date, sex: Sex, serial: int) -> str:
    """A 16-digit NIK: region code, birth date DDMMYY (DD + 40 for women), 4-digit serial."""
    return f"{region}{nik_birth_date_part(birth_date, sex)}{serial:04d}"


def _years_before(day: date, years: int) -> date:
    return date(day.year - years, day.month, min(day.day, 28))


@dataclass
class Persona:
    """A resident in front of the kit; implements ``simulator.resident.SimulatedResident``."""

    kind: str
    seed: int
    nik: str
    name: str
    birth_date: date
    sex: Sex
    category: Category
    fingers: dict[int, FingerSpec | None]
    finger_knobs: FingerKnobs
    right_eye: IrisSpec | None
    left_eye: IrisSpec | None
    eyes_shut: bool = False
    face_knobs: FaceKnobs = field(default_factory=FaceKnobs)
    signature_knobs: SignatureKnobs = field(default_factory=SignatureKnobs)
    _face_cache: dict[tuple[int, int], list[np.ndarray]] = field(default_factory=dict, repr=False)
    _iris_cache: dict[tuple[int, int], list[np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def birth_year(self) -> int:
        return self.birth_date.year

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    def fingerprint(self, position: int, attempt: int) -> np.ndarray | None:
        """A 288x256 500 ppi capture of ANSI position 1..10 (None: finger missing)."""
        if position not in self.fingers:
            raise ValueError(f"finger position must be 1..10, got {position}")
        spec = self.fingers[position]
        if spec is None:
            return None
        return render_capture(spec, attempt, self.finger_knobs)

    def face_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        """A BGR camera frame; the backdrop is the right colour for the birth year."""
        frames = self._face_cache.get((width, height))
        if frames is None:
            frames = [
                render_face(width, height, self.face_knobs, seed=self.seed * 31 + i)
                for i in range(_NOISE_FRAMES)
            ]
            self._face_cache[(width, height)] = frames
        return frames[frame_index % _NOISE_FRAMES].copy()

    def iris_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        """Both eyes side by side (the subject's right eye on the image's left half)."""
        frames = self._iris_cache.get((width, height))
        if frames is None:
            frames = []
            for i in range(_NOISE_FRAMES):
                knobs = IrisKnobs(closed=self.eyes_shut)
                both = render_both_eyes(self.right_eye, self.left_eye, knobs, knobs, i)
                if both.shape[:2] != (height, width):
                    both = cv2.resize(both, (width, height), interpolation=cv2.INTER_AREA)
                frames.append(both)
            self._iris_cache[(width, height)] = frames
        return frames[frame_index % _NOISE_FRAMES].copy()

    def signature(self) -> list[list[tuple[float, float, float]]]:
        """Pen strokes in unit coordinates, ~133 Hz."""
        return make_signature(self.seed, self.signature_knobs)

    def describe(self) -> dict[str, str | int]:
        """Who this is, as an app enrolls them: NIK, name, birth date, sex, category, and the
        backdrop colour the face camera shows."""
        return {
            "kind": self.kind,
            "seed": self.seed,
            "nik": self.nik,
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex.value,
            "category": self.category.value,
            "backdrop": self.face_knobs.background,
        }


def demographics_of_nik(nik: str, on: date) -> tuple[date, Sex]:
    """The birth date and sex a NIK's digits 7-12 (DDMMYY, DD + 40 for women) give; the century
    is the one that makes the resident 0-99 years old on ``on``."""
    if len(nik) != 16 or not nik.isdigit():
        raise ValueError(f"a NIK is 16 digits, got {nik!r}")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = Sex.FEMALE if day > 40 else Sex.MALE
    century = on.year - on.year % 100
    full_year = century + year if century + year <= on.year else century - 100 + year
    try:
        return date(full_year, month, day - sex.nik_day_offset), sex
    except ValueError:
        raise ValueError(f"NIK {nik} holds no valid birth date in digits 7-12") from None


def make_persona(
    kind: str,
    seed: int,
    *,
    on: date | None = None,
    nik: str | None = None,
    birth_date: date | None = None,
    sex: Sex | None = None,
) -> Persona:
    """The persona of ``kind`` for ``seed``; ``on`` (default today) fixes the age's reference.

    ``nik``, ``birth_date`` and ``sex`` fix the demographics an app will enroll the resident
    with (the biometrics stay those of kind and seed). A NIK alone gives birth date and sex; a
    NIK with them must agree with them; without a NIK one is made that agrees."""
    if kind not in KINDS:
        raise ValueError(f"unknown persona kind {kind!r}; expected one of {', '.join(KINDS)}")
    on = on or date.today()
    rng = np.random.default_rng([seed, KINDS.index(kind), 0x9E25])
    drawn_sex = Sex.FEMALE if rng.random() < 0.5 else Sex.MALE
    low, high = _AGE_RANGE[kind]
    age = int(rng.integers(low, high + 1))
    drawn_birth = _years_before(on, age) - timedelta(days=int(rng.integers(1, 330)))
    given_index, family_index = int(rng.integers(20)), int(rng.integers(20))
    region, serial = str(rng.choice(_REGIONS)), int(rng.integers(1, 10000))
    if nik is not None and birth_date is None and sex is None:
        birth_date, sex = demographics_of_nik(nik, on)
    sex = sex or drawn_sex
    birth_date = birth_date or drawn_birth
    if nik is None:
        nik = make_nik(region, birth_date, sex, serial)
    elif len(nik) != 16 or not nik.isdigit() or nik[6:12] != nik_birth_date_part(birth_date, sex):
        raise ValueError(
            f"NIK {nik} does not agree with birth date {birth_date.isoformat()} and sex "
            f"{sex.value}: digits 7-12 must be {nik_birth_date_part(birth_date, sex)}"
        )
    given = _FEMALE_NAMES if sex is Sex.FEMALE else _MALE_NAMES
    name = f"{given[given_index]} {_FAMILY_NAMES[family_index]}"
    # Biometric identity comes from (kind, seed) only.
    base = int(rng.integers(0, 2**31 - 1))
    fingers: dict[int, FingerSpec | None] = {
        pos: FingerSpec.random(base * 16 + pos) for pos in range(1, 11)
    }
    finger_knobs = FingerKnobs()
    if kind == "elderly":
        # Worn, dry, lightly pressed: through the UART scanner's 4-bit image NFIQ 2 rates these
        # prints 0-45 (median ~20, 5% under 5), as it does real worn prints; heavier wear left
        # no ridges NFIQ 2 could find at all.
        finger_knobs = FingerKnobs(wear=0.55, dryness=0.25, pressure=-0.2)
    if kind == "amputee":
        for pos in _AMPUTATED:
            fingers[pos] = None
    eyes: list[IrisSpec | None] = [IrisSpec.random(base * 16 + 11), IrisSpec.random(base * 16 + 12)]
    if kind == "blind":
        eyes = [None, None]
    face_knobs = FaceKnobs(
        offset_x=float(rng.uniform(-0.03, 0.03)),
        offset_y=float(rng.uniform(-0.03, 0.03)),
        scale=float(rng.uniform(0.95, 1.15)),
        background=backdrop_for(birth_date.year),
    )
    signature_knobs = SignatureKnobs(
        kind="single_line" if kind in ("blind", "mental_disorder") else "normal"
    )
    return Persona(
        kind=kind,
        seed=seed,
        nik=nik,
        name=name,
        birth_date=birth_date,
        sex=sex,
        category=_CATEGORY[kind],
        fingers=fingers,
        finger_knobs=finger_knobs,
        right_eye=eyes[0],
        left_eye=eyes[1],
        eyes_shut=kind == "mental_disorder",
        face_knobs=face_knobs,
        signature_knobs=signature_knobs,
    )
