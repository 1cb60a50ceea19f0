"""One policy per resident category: what is captured, where thresholds relax, which flags the
record carries, and how the monthly report names it. A new category is one entry here (plus
its name in the message catalogue and its value in the API's ResidentCategory)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.vocabulary import ALL_POSITIONS, Category, Modality, Position, age_on

# Every resident is recorded from this age; the card is printed from the next.
MINIMUM_RECORDING_AGE = 16
PRINT_ELIGIBLE_AGE = 17
NOT_PRINT_ELIGIBLE_FLAG = f"NOT_PRINT_ELIGIBLE_UNTIL_{PRINT_ELIGIBLE_AGE}"


@dataclass(frozen=True)
class CategoryPolicy:
    """The rules of one resident category.

    ``skipped``: modalities not captured at all (the record marks them NOT_REQUIRED).
    ``relaxed``: modalities whose relaxed threshold (configuration) may apply; a sample kept
    under it is flagged in the record.
    ``attempts``: ordinary captures per position before a below-threshold capture may be kept.
    ``report_order``: the category's row in the monthly report.
    """

    category: Category
    skipped: frozenset[Modality] = frozenset()
    relaxed: frozenset[Modality] = frozenset()
    attempts: int = 3
    report_order: int = 0

    @property
    def positions(self) -> tuple[Position, ...]:
        """The positions to capture, in capture order."""
        return tuple(p for p in ALL_POSITIONS if p.modality not in self.skipped)

    @property
    def skipped_positions(self) -> tuple[Position, ...]:
        return tuple(p for p in ALL_POSITIONS if p.modality in self.skipped)

    @property
    def message_code(self) -> str:
        return self.category.message_code

    def record_flags(self, birth_date: date, today: date) -> list[str]:
        """Flags the record carries from the start (a resident not yet print eligible)."""
        if age_on(birth_date, today) < PRINT_ELIGIBLE_AGE:
            return [NOT_PRINT_ELIGIBLE_FLAG]
        return []


_F, _FACE, _I = Modality.FINGERPRINT, Modality.FACE, Modality.IRIS

POLICIES: dict[Category, CategoryPolicy] = {
    policy.category: policy
    for policy in (
        CategoryPolicy(Category.REGULAR, report_order=1),
        CategoryPolicy(Category.ELDERLY, relaxed=frozenset({_F}), report_order=2),
        CategoryPolicy(Category.DISABLED, relaxed=frozenset({_F, _FACE}), report_order=3),
        CategoryPolicy(Category.BEDRIDDEN, relaxed=frozenset({_F, _FACE, _I}), report_order=4),
        CategoryPolicy(
            Category.MENTAL_DISORDER,
            skipped=frozenset({_I}),
            relaxed=frozenset({_FACE}),
            report_order=5,
        ),
        CategoryPolicy(Category.STUDENT, report_order=6),
    )
}


def policy_for(category: Category | str) -> CategoryPolicy:
    """The policy of ``category``; ValueError names the known ones."""
    try:
        return POLICIES[Category(category)]
    except ValueError:
        known = ", ".join(c.value for c in Category)
        raise ValueError(f"unknown resident category {category!r}; known: {known}") from None


def report_categories() -> tuple[CategoryPolicy, ...]:
    """The policies in the monthly report's row order."""
    return tuple(sorted(POLICIES.values(), key=lambda p: p.report_order))
