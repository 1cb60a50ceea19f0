"""Which quality measure judges a capture at each position, with the subject's context."""

from __future__ import annotations

from collections.abc import Callable

from capture.subject import Subject
from domain.vocabulary import Modality, Position
from drivers.base import SignatureTrace
from quality.base import QualityResult
from quality.config import QualityConfig


def thresholds_from(config: QualityConfig) -> dict[Modality, int]:
    """The pass threshold per modality, as the quality configuration sets it."""
    return {
        Modality.FINGERPRINT: config.fingerprint.min_score,
        Modality.FACE: config.face.min_score,
        Modality.IRIS: config.iris.min_score,
        Modality.SIGNATURE: config.signature.min_score,
    }


def final_thresholds_from(config: QualityConfig) -> dict[Modality, int]:
    """The kept capture's pass threshold where a slower measure judges it: NFIQ 2 for prints."""
    return {Modality.FINGERPRINT: config.fingerprint.min_nfiq2}


def finaliser_lookup(config: QualityConfig) -> Callable[[Modality, Subject], Callable | None]:
    """Per modality and subject, the judgement of the kept capture, or None.

    Prints are judged by NFIQ 2; a face photo by the whole face check, which also looks for
    the small faces of people standing back (too slow for every preview frame)."""
    from quality.face import assess_face
    from quality.nfiq2 import final_fingerprint_quality

    def finalise_print(image, live: QualityResult, threshold: int) -> QualityResult:
        return final_fingerprint_quality(image, live, threshold, config.fingerprint)

    def lookup(modality: Modality, subject: Subject) -> Callable | None:
        if modality is Modality.FINGERPRINT:
            return finalise_print
        if modality is Modality.FACE:
            birth_year = subject.birth_date.year
            return lambda image, live, threshold: assess_face(image, birth_year, config.face)
        return None

    return lookup


def assessor_lookup(config: QualityConfig) -> Callable[[str, Subject], Callable]:
    """A function giving, for a position and subject, the quality function to apply."""
    from quality.face import assess_face
    from quality.fingerprint import assess_fingerprint
    from quality.iris import assess_iris
    from quality.signature import assess_signature

    def lookup(position: str, subject: Subject) -> Callable:
        modality = Position(position).modality
        if modality is Modality.FINGERPRINT:
            return lambda image: assess_fingerprint(image, config.fingerprint)
        if modality is Modality.FACE:
            birth_year = subject.birth_date.year
            return lambda image: assess_face(
                image, birth_year, config.face, search_small_faces=False
            )
        if modality is Modality.IRIS:
            return lambda image: assess_iris(image, config.iris)

        def signature(trace: SignatureTrace) -> QualityResult:
            points = [(p.t_ms, p.x, p.y, p.pressure, p.touching) for p in trace.points]
            return assess_signature(points, trace.max_x, trace.max_y, config.signature)

        return signature

    return lookup
