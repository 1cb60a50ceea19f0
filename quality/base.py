"""The result every quality module returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reason:
    """Why a capture lost points: a stable code plus sentences in English and Bahasa Indonesia."""

    code: str
    en: str
    id: str

    def text(self, language: str = "en") -> str:
        return self.id if language.lower().startswith("id") else self.en


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
        return {
            "modality": self.modality,
            "score": self.score,
            "measures": {k: round(float(v), 4) for k, v in self.measures.items()},
            "reasons": [{"code": r.code, "en": r.en, "id": r.id} for r in self.reasons],
        }
