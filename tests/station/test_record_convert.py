"""Each status change becomes a StatusChange with a sentence in the caller's language: every
cause the kit records, every centre status and every bundle outcome has one in each catalogue
language; an entry from before causes were kept shows the text stored then."""

from __future__ import annotations

import pytest

from domain.messages import languages, sentence
from station.record_convert import change_message, change_to_pb
from uploader.bundle_receipt import ImportOutcome
from uploader.outbox import CENTRE_STATES, Cause, RecordState, StatusChange

FACTS = {"bundle": "B-1", "record_id": "R0", "nik": "3174051203900001"}


def changes() -> list[StatusChange]:
    """One entry for every kind of change the kit records."""
    found = []
    for cause in Cause:
        if cause is Cause.CENTRE_STATUS:
            found += [StatusChange(1, "R1", s, None, "", 1.0, cause, {}) for s in CENTRE_STATES]
        elif cause is Cause.RECEIPT_SETTLED:
            settled = RecordState.RECEIVED_AT_CENTRAL
            found += [
                StatusChange(1, "R1", settled, None, "", 1.0, cause, {**FACTS, "outcome": o})
                for o in ImportOutcome
            ]
        else:
            found.append(StatusChange(1, "R1", RecordState.SEALED, None, "", 1.0, cause, FACTS))
    return found


@pytest.mark.parametrize("change", changes(), ids=lambda c: f"{c.cause}-{c.state}")
def test_every_change_has_a_sentence_in_every_language(change):
    message = change_message(change)
    assert message is not None
    for language in languages():
        assert sentence(message.code, language), (message.code, language)
        rendered = change_to_pb(change, language).detail
        assert rendered and "{" not in rendered


def test_an_entry_without_a_cause_shows_its_stored_text():
    old = StatusChange(1, "R1", RecordState.SEALED, None, "sealed long ago", 1.0)
    entry = change_to_pb(old, "id")
    assert (entry.detail, entry.reason_code, entry.centre_detail) == (
        "sealed long ago",
        "",
        "sealed long ago",
    )
