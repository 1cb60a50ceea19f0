"""A real daemon process whose wall clock is stepped while it runs (back one day, forward 100
days, 25 years behind and then corrected): delivery carries on, operators stay signed in for
their token's real lifetime and no longer, nothing is purged early, residents are not refused as
too young but told the kit's clock is wrong, and every step is logged in the audit trail.

Before timers ran on the kit's timeline, each of these failed: a record waiting for a retry was
held back a day (next attempt 86,334 s ahead), +100 days expired every token, and packages
settled while the clock said 2001 were purged within seconds of the correction.
"""

from __future__ import annotations

import time
from datetime import date

import grpc
import pytest
from clock_helpers import DAY, refusal, wait_for

from domain.vocabulary import Sex, nik_birth_date_part
from station.errors import error_reason
from station.v1 import common_pb2, enrollment_pb2, records_pb2

pytestmark = pytest.mark.slow

YEARS_25 = 25 * 365.25 * DAY
SENT_OR_LATER = {
    records_pb2.RECORD_STATUS_SENT_FOR_ENROLLMENT,
    records_pb2.RECORD_STATUS_RECEIVED_AT_CENTRAL,
    records_pb2.RECORD_STATUS_PRINT_READY_RECORD,
}


def student_of_16() -> enrollment_pb2.Subject:
    """A student who turned 16 this year: too young on a clock 25 years behind."""
    born = date(date.today().year - 16, 1, 2)
    nik = "317405" + nik_birth_date_part(born, Sex.MALE) + "0001"
    return enrollment_pb2.Subject(
        nik=nik,
        name="Bayu Pratama",
        birth_date=born.isoformat(),
        sex=common_pb2.SEX_MALE,
        category=common_pb2.RESIDENT_CATEGORY_STUDENT,
    )


def start_enrollment(kit):
    client = kit.client()
    try:
        return client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=student_of_16()),
            metadata=client.metadata,
        )
    finally:
        client.close()


def signed_in(kit, token: str) -> bool:
    client = kit.client(token)
    try:
        client.records.ListRecords(records_pb2.ListRecordsRequest(), metadata=client.metadata)
        return True
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
        assert error_reason(error) == "TOKEN_EXPIRED"
        return False
    finally:
        client.close()


def test_clock_back_one_day_retries_continue_and_tokens_keep_their_real_lifetime(start_kit, centre):
    centre.faults.storm(8.0, status=500)  # a retry per record, not a rest for the whole link
    kit = start_kit(0.0)
    kit.seal("CLK-BACK-1")
    wait_for(lambda: kit.attempts("CLK-BACK-1") >= 2, 30, "a failed attempt")
    kit.set_clock(-DAY)
    wait_for(lambda: kit.status("CLK-BACK-1") in SENT_OR_LATER, 40, "delivery after the step")
    kit.seal("CLK-BACK-2")
    wait_for(lambda: kit.status("CLK-BACK-2") in SENT_OR_LATER, 30, "a new record")
    assert signed_in(kit, kit.operator_token)
    # The short token lives its 20 real seconds, not a day longer.
    wait_for(lambda: not signed_in(kit, kit.short_token), 60, "the short token to expire")
    assert time.monotonic() - kit.started >= 15
    assert ("clock_step", "-86400s") in kit.audit_actions()


def test_clock_forward_100_days_keeps_operators_signed_in(start_kit):
    kit = start_kit(0.0)
    assert signed_in(kit, kit.short_token)
    kit.set_clock(100 * DAY)
    time.sleep(0.5)  # the step reaches the process within 50 ms
    assert signed_in(kit, kit.operator_token)
    if time.monotonic() - kit.started < 10:  # well inside its 20 s
        assert signed_in(kit, kit.short_token)
    kit.seal("CLK-AHEAD-1")
    wait_for(lambda: kit.status("CLK-AHEAD-1") in SENT_OR_LATER, 30, "delivery")
    assert ("clock_step", "+8640000s") in kit.audit_actions()


def test_kit_25_years_behind_refuses_ages_then_corrected_purges_nothing_early(start_kit):
    kit = start_kit(-YEARS_25)
    refused = refusal(lambda: start_enrollment(kit))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused) == "CLOCK_WRONG"
    assert "Set the kit's date and time" in refused.details()
    # A record the kit held from before settles while the clock says 2001.
    kit.seal("CLK-OLD-1")
    wait_for(
        lambda: kit.status("CLK-OLD-1") == records_pb2.RECORD_STATUS_PRINT_READY_RECORD,
        30,
        "the centre's decision",
    )
    settled = time.monotonic()
    kit.set_clock(0.0)
    time.sleep(0.5)  # the step reaches the process within 50 ms
    assert signed_in(kit, kit.operator_token)
    started = start_enrollment(kit)  # the 16-year-old is accepted on the corrected clock
    assert started.enrollment_id
    time.sleep(3.0)  # purge passes run every 0.2 s: give an early purge every chance
    if time.monotonic() - settled < 25:  # the retention window is 30 s
        assert kit.package("CLK-OLD-1").exists()
        assert ("package_purged", "CLK-OLD-1") not in kit.audit_actions()
    wait_for(lambda: not kit.package("CLK-OLD-1").exists(), 60, "the purge after retention")
    assert time.monotonic() - settled >= 25
    assert ("clock_step", f"+{YEARS_25:.0f}s") in kit.audit_actions()
