"""An enrollment is not started on a kit whose clock cannot be trusted: a resident's age
would be judged on a wrong date (a 16-year-old refused as too young on a clock 25 years behind).
The operator is told to set the clock instead."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fake_devices import FakeKit, make_workflow, subject

from capture.errors import ErrorKind, WorkflowError
from domain.clock import KitClock
from domain.vocabulary import Category

NOW = datetime.now(UTC).timestamp()


def test_a_clock_before_the_build_date_refuses_the_enrollment_not_the_resident():
    wall = {"s": NOW - 25 * 365.25 * 86400}
    workflow = make_workflow(FakeKit())
    workflow.clock = KitClock(wall=lambda: wall["s"])
    student = subject(Category.STUDENT, birth_date=date(date.today().year - 16, 1, 2))
    with pytest.raises(WorkflowError) as refused:
        workflow.start(student, "op-ani")
    assert refused.value.kind is ErrorKind.FAILED_PRECONDITION
    assert refused.value.reason == "CLOCK_WRONG"
    assert refused.value.message.code == "CLOCK_BEFORE_BUILD"
    wall["s"] = NOW
    assert workflow.start(student, "op-ani").enrollment_id
