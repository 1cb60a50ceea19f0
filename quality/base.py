"""The result every quality module returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.messages import Message, Param, in_every_language, msg


@dataclass(frozen=True)
class Reason:
    """Why a capture lost points: a stable code (see ``quality.reasons``) and the parameters
    its sentence needs."""

    code: str
    params: tuple[tuple[str, Param], ...] = ()

    @property
    def message_code(self) -> str:
        """The catalogue code of the reason's sentence, e.g. QUALITY_NO_FINGER."""
        return f"QUALITY_{self.code}"

    @property
    def message(self) -> Message:
        return msg(self.message_code, **dict(self.params))


@dataclass
class QualityResult:
    """A capture's quality: ``score`` 0..100, the measures behind it, and the reasons."""

    modality: str
    score: int
    measures: dict[str, float] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)

    def passes(self, threshold: int) -> bool:
        return self.score >= threshold

    def to_dict(self) -> dict:
        """JSON-ready; each reason has its code and its sentence in every language."""
        return {
            "modality": self.modality,
            "score": self.score,
            "measures": {k: round(float(v), 4) for k, v in self.measures.items()},
            "reasons": [reason_to_dict(r) for r in self.reasons],
        }


def reason_to_dict(reason: Reason) -> dict[str, str]:
    """``{"code": ..., "en": ..., "id": ...}``: the code and the sentence per language."""
    return {"code": reason.code, **in_every_language(reason.message)}
