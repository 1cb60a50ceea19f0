"""EnrollmentStore.page: a keyset read that starts after the last page's place and reads no
further than it must, stable while enrollments are added and removed."""

from __future__ import annotations

from datetime import date

from capture.enrollment import Enrollment, EnrollmentStore
from capture.subject import Subject
from domain.categories import policy_for
from domain.vocabulary import Category


def enrollment(n: int, operator: str = "op-ani") -> Enrollment:
    subject = Subject(f"31740512039{n:05d}", "Siti", date(1990, 3, 12), "male", Category.REGULAR)
    return Enrollment(subject, policy_for(Category.REGULAR), operator, enrollment_id=f"E{n}")


def test_a_page_reads_only_what_comes_after_its_place():
    store = EnrollmentStore()
    for n in range(1000):
        store.add(enrollment(n))
    looked_at: list[str] = []

    def wanted(e: Enrollment) -> bool:
        looked_at.append(e.enrollment_id)
        return True

    first = store.page(0, 3, wanted)
    assert [e.enrollment_id for _, e in first] == ["E0", "E1", "E2"]
    looked_at.clear()
    later = store.page(first[-1][0] + 900, 3, wanted)
    assert [e.enrollment_id for _, e in later] == ["E903", "E904", "E905"]
    assert looked_at == ["E903", "E904", "E905"]  # none of the 903 before it


def test_places_survive_removals_and_additions():
    store = EnrollmentStore()
    for n in range(5):
        store.add(enrollment(n))
    page = store.page(0, 2, lambda e: True)
    store.remove("E1")  # listed already
    store.remove("E2")  # not listed yet
    store.add(enrollment(5))
    store.add(enrollment(0))  # added again: keeps its place
    rest = store.page(page[-1][0], 10, lambda e: True)
    assert [e.enrollment_id for _, e in rest] == ["E3", "E4", "E5"]


def test_a_filter_skips_without_ending_the_page():
    store = EnrollmentStore()
    for n in range(6):
        store.add(enrollment(n, "op-ani" if n % 2 else "sup-budi"))
    ani = store.page(0, 2, lambda e: e.operator == "op-ani")
    assert [e.enrollment_id for _, e in ani] == ["E1", "E3"]
    assert [
        e.enrollment_id for _, e in store.page(ani[-1][0], 2, lambda e: e.operator == "op-ani")
    ] == ["E5"]
