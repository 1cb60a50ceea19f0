"""Typed answers an integrator can build on, over a real gRPC port: per-position quality as
Position enums, the centre's duplicate match carried from its signed answer to the record's
history, status details and NIK refusals wholly in the caller's language, and ListEnrollments
paged by place with its filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from test_enrollment_e2e import DUPLICATE, PRINT_READY, enroll, subject, wait_for_final

from domain.messages import sentence
from simulator.demo import subject_for
from simulator.personas import make_persona
from station.errors import error_detail, error_reason
from station.v1 import common_pb2, enrollment_pb2, records_pb2

# Words Bahasa Indonesia sentences share with English ones by right: names, not English.
SHARED = {"nik", "kartu", "keluarga", "ktp", "usb"}


def english_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)} - SHARED


def template_words(code: str) -> set[str]:
    """The words of a catalogue sentence's English text, placeholders left out."""
    english = sentence(code, "en")
    assert english is not None, code
    return english_words(re.sub(r"\{[^}]*\}", " ", english))


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    info = error_detail(error, error_details_pb2.ErrorInfo)
    assert info is not None, "no ErrorInfo"
    return info


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.fixture(scope="module")
def duplicate(station):
    """An original resident (print ready) and the same person enrolled again under another
    NIK, which the simulated centre's deduplication catches."""
    identities: dict = {}
    client, original = enroll(station, "adult", 404, identities, "original")
    assert wait_for_final(client, original.record_id).status == PRINT_READY
    _, again = enroll(station, "adult", 404, identities, "again", impostor_of="original")
    assert wait_for_final(client, again.record_id).status == DUPLICATE
    return original, again, identities


def get_record(station, record_id: str, language: str = "en") -> records_pb2.Record:
    client = station.client(language=language)
    return client.records.GetRecord(
        records_pb2.GetRecordRequest(record_id=record_id), metadata=client.metadata
    )


def test_typed_quality_matches_the_deprecated_map(station, duplicate):
    original, _, _ = duplicate
    record = get_record(station, original.record_id)
    typed = {
        common_pb2.Position.Name(s.position).removeprefix("POSITION_").lower(): s.score
        for s in record.quality_scores
    }
    assert typed == dict(record.quality)
    assert {"face", "right_index", "left_index", "left_eye", "signature"} <= set(typed)
    assert len(record.quality_scores) == len({s.position for s in record.quality_scores})
    for score in record.quality_scores:
        assert score.position != common_pb2.POSITION_UNSPECIFIED
        assert 0 < score.threshold <= 100  # kept at sealing: the threshold that applied
        assert 0 <= score.score <= 100


def test_the_centres_duplicate_match_reaches_the_record_history(station, duplicate):
    original, again, identities = duplicate
    record = get_record(station, again.record_id)
    last = record.history[-1]
    assert last.status == DUPLICATE
    assert last.reason_code == "DUPLICATE_OF"
    assert last.duplicate_of.record_id == original.record_id
    assert last.duplicate_of.nik == identities["original"].nik
    assert last.centre_detail  # the centre's own words, kept for a technician
    assert original.record_id in last.detail and identities["original"].nik in last.detail
    earlier = [change.reason_code for change in record.history]
    assert earlier[0] == "SEALED" and "DELIVERED" in earlier


def test_status_details_come_in_the_callers_language(station, duplicate):
    original, again, identities = duplicate
    for record_id in (original.record_id, again.record_id):
        english = get_record(station, record_id, "en").history
        indonesian = get_record(station, record_id, "id").history
        assert [c.reason_code for c in english] == [c.reason_code for c in indonesian]
        for en, id_ in zip(english, indonesian, strict=True):
            assert en.reason_code and en.detail and id_.detail
            names = english_words(f"{en.duplicate_of.record_id} {identities['original'].nik}")
            leaked = (english_words(en.detail) - names) & english_words(id_.detail)
            assert not leaked, (en.reason_code, en.detail, id_.detail)
            assert id_.duplicate_of == en.duplicate_of  # facts are not translated


# (NIK, nik_check, the catalogue sentence it is told with, a metadata item it carries)
NIK_FAULTS = [
    ("31740512039O0001", "DIGITS", "NIK_NOT_DIGIT", ("index", "12")),
    ("3174 051203900001", "DIGITS", "NIK_NOT_DIGIT", ("index", "5")),
    ("３１７４０５１２０３９０００１", "DIGITS", "NIK_NOT_DIGIT", ("index", "1")),
    ("317405120390001", "LENGTH", "NIK_INVALID_LENGTH", ("length", "15")),
    ("31740512039000011", "LENGTH", "NIK_INVALID_LENGTH", ("length", "17")),
    ("0000001203900001", "REGION", "NIK_INVALID_REGION", None),
]


@pytest.mark.parametrize(("nik", "check", "code", "item"), NIK_FAULTS)
def test_each_nik_fault_has_its_own_code_and_a_wholly_indonesian_sentence(
    station, nik, check, code, item
):
    said = {}
    for language in ("en", "id"):
        client = station.client(language=language)
        error = refused(
            lambda c=client: c.enrollment.StartEnrollment(
                enrollment_pb2.StartEnrollmentRequest(subject=subject(nik=nik)),
                metadata=c.metadata,
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "NIK_INVALID"
        metadata = dict(error_info(error).metadata)
        assert metadata["nik_check"] == check
        if item is not None:
            assert metadata[item[0]] == item[1]
        said[language] = error.details()
    assert said["en"] != said["id"]
    assert not template_words(code) & english_words(said["id"]), said["id"]
    if check == "DIGITS":
        assert re.search(rf"\b{item[1]}\b", said["id"])  # the first bad character's place


def test_the_birth_date_part_of_the_nik_is_its_own_refusal(station):
    client = station.client(language="id")
    error = refused(
        lambda: client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject(nik="3174051303900001")),
            metadata=client.metadata,
        )
    )
    assert error_reason(error) == "NIK_BIRTH_DATE_MISMATCH"
    assert not template_words("NIK_BIRTH_DATE_MISMATCH") & english_words(error.details())


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"birth_date": "12/03/1990"}, "subject.birth_date", "BIRTH_DATE_NOT_A_DATE"),
        (
            {"category": common_pb2.RESIDENT_CATEGORY_UNSPECIFIED},
            "subject.category",
            "CATEGORY_MISSING",
        ),
    ],
)
def test_subject_refusals_leave_no_english_in_indonesian(station, fields, field, code):
    client = station.client(language="id")
    error = refused(
        lambda: client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject(**fields)),
            metadata=client.metadata,
        )
    )
    assert error_reason(error) == "SUBJECT_INVALID"
    assert error_info(error).metadata["field"] == field
    assert not template_words(code) & english_words(error.details()), error.details()
    assert "birth_date" not in error.details() and "category is" not in error.details()


def test_positions_in_error_metadata_are_position_enum_names(station):
    client = station.client()
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject_for(make_persona("adult", 405))),
        metadata=client.metadata,
    )
    try:
        error = refused(
            lambda: client.enrollment.CompleteEnrollment(
                enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=started.enrollment_id),
                metadata=client.metadata,
            )
        )
        missing = error_info(error).metadata["missing"].split(",")
        assert missing == [common_pb2.Position.Name(p) for p in started.plan]
        error = refused(
            lambda: client.enrollment.ApproveSample(
                enrollment_pb2.ApproveSampleRequest(
                    enrollment_id=started.enrollment_id,
                    position=common_pb2.POSITION_FACE,
                    approved=True,
                ),
                metadata=client.metadata,
            )
        )
        assert error_reason(error) == "NO_SAMPLE"
        assert error_info(error).metadata["position"] == "POSITION_FACE"
    finally:
        client.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=started.enrollment_id),
            metadata=client.metadata,
        )


# -- ListEnrollments ----------------------------------------------------------------------------


def list_enrollments(client, **fields) -> enrollment_pb2.ListEnrollmentsResponse:
    return client.enrollment.ListEnrollments(
        enrollment_pb2.ListEnrollmentsRequest(**fields), metadata=client.metadata
    )


def start(client, seed: int) -> enrollment_pb2.EnrollmentRecord:
    return client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject_for(make_persona("adult", seed))),
        metadata=client.metadata,
    )


def every_page(client, limit: int = 50, between=None, **fields) -> list[str]:
    """Every enrollment id over the pages (``between(turn)`` runs between two pages)."""
    seen: list[str] = []
    token = ""
    for turn in range(limit):  # bounded
        page = list_enrollments(client, page_size=2, page_token=token, **fields)
        seen.extend(e.enrollment_id for e in page.enrollments)
        token = page.next_page_token
        if not token:
            return seen
        if between is not None:
            between(turn)
    raise AssertionError("the pages never ended")


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


@pytest.fixture
def open_enrollments(station):
    """Three enrollments by the operator and two by the supervisor, cancelled afterwards."""
    operator = station.client()
    supervisor = station.client(station.supervisor_token)
    mine = [start(operator, 420 + n) for n in range(3)]
    theirs = [start(supervisor, 430 + n) for n in range(2)]
    opened = [(operator, e) for e in mine] + [(supervisor, e) for e in theirs]
    yield operator, supervisor, mine, theirs
    for client, enrollment in opened:
        client.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=enrollment.enrollment_id),
            metadata=client.metadata,
        )


def test_list_enrollments_pages_stay_stable_while_enrollments_start(station, open_enrollments):
    operator, _, mine, _ = open_enrollments
    before = every_page(operator)
    assert before[-3:] == [e.enrollment_id for e in mine]
    added: list[str] = []

    def start_one(turn: int) -> None:
        if turn < 2:
            added.append(start(operator, 440 + turn).enrollment_id)

    try:
        seen = every_page(operator, between=start_one)
        assert len(seen) == len(set(seen))  # none twice
        assert seen == before + added  # none skipped; the new ones after them
    finally:
        for enrollment_id in added:
            operator.enrollment.CancelEnrollment(
                enrollment_pb2.CancelEnrollmentRequest(enrollment_id=enrollment_id),
                metadata=operator.metadata,
            )


def test_list_enrollments_filters_by_operator_time_and_state(station, open_enrollments):
    operator, supervisor, mine, theirs = open_enrollments
    mine_ids = [e.enrollment_id for e in mine]
    theirs_ids = [e.enrollment_id for e in theirs]
    everyone = every_page(supervisor)
    assert set(mine_ids + theirs_ids) <= set(everyone)
    assert every_page(supervisor, operator="sup-budi")[-2:] == theirs_ids
    assert not set(every_page(supervisor, operator="op-ani")) & set(theirs_ids)
    assert set(mine_ids) <= set(every_page(supervisor, operator="op-ani"))
    # An operator sees only their own, whoever they name.
    assert every_page(operator, operator="sup-budi") == []
    # Start times: [after, before) around the supervisor's two.
    first = theirs[0].started_at.ToDatetime(tzinfo=UTC)
    last = theirs[-1].started_at.ToDatetime(tzinfo=UTC)
    window = every_page(
        supervisor,
        started_after=stamp(first),
        started_before=stamp(last + timedelta(microseconds=1)),
    )
    assert window == theirs_ids
    assert theirs_ids[-1] not in every_page(supervisor, started_before=stamp(last))
    assert every_page(supervisor, started_after=stamp(last + timedelta(seconds=1))) == []
    # States: nothing cancelled yet among them; the cancelled list does not show them.
    cancelled = [enrollment_pb2.ENROLLMENT_STATE_CANCELLED]
    assert not set(every_page(supervisor, states=cancelled)) & set(mine_ids + theirs_ids)
    # A token given for one filter is refused with another.
    token = list_enrollments(supervisor, page_size=1).next_page_token
    error = refused(
        lambda: list_enrollments(supervisor, page_size=1, page_token=token, operator="op-ani")
    )
    assert error_reason(error) == "PAGE_TOKEN_INVALID"


@pytest.mark.parametrize("size", [-1, 101])
def test_list_enrollments_refuses_page_sizes_outside_the_range(station, size):
    error = refused(lambda: list_enrollments(station.client(), page_size=size))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(error) == "PAGE_SIZE_INVALID"
    assert error_info(error).metadata["max_page_size"] == "100"


@pytest.mark.parametrize(
    ("field", "stamp_"),
    [
        ("started_after", Timestamp(seconds=0, nanos=-1)),
        ("started_before", Timestamp(seconds=10**12)),  # after the year 9999
    ],
)
def test_list_enrollments_refuses_a_time_that_is_no_time(station, field, stamp_):
    error = refused(lambda: list_enrollments(station.client(language="id"), **{field: stamp_}))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(error) == "TIME_INVALID"
    assert error_info(error).metadata["field"] == field
    assert not template_words("TIME_INVALID") & english_words(error.details())
