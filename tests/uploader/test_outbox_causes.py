"""Why a record's status changed is kept with each history entry (a cause and its facts), and an
outbox written before causes were kept opens with its history intact."""

from __future__ import annotations

import sqlite3

from test_outbox import package

from uploader.outbox import Cause, Outbox, RecordState


def test_each_change_keeps_its_cause_and_facts_across_reopen(tmp_path):
    with Outbox(tmp_path) as outbox:
        outbox.enqueue(package("R1"))
        outbox.mark_delivered("R1", "received and verified")
        outbox.set_status(
            "R1",
            RecordState.DUPLICATE_RECORD,
            "same person as record R0",
            cause=Cause.DUPLICATE_OF,
            facts={"record_id": "R0", "nik": "3174051203900001"},
        )
    with Outbox(tmp_path) as reopened:
        history = reopened.history("R1")
        assert [h.cause for h in history] == ["SEALED", "DELIVERED", "DUPLICATE_OF"]
        assert history[-1].facts == {"record_id": "R0", "nik": "3174051203900001"}
        assert history[-1].detail == "same person as record R0"  # the centre's words, kept
        assert reopened.changes_since(0)[-1].facts == history[-1].facts


def test_an_outbox_from_before_causes_opens_with_its_history(tmp_path):
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    db.executescript(
        """
        CREATE TABLE history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL,
            state TEXT NOT NULL, previous TEXT, detail TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL);
        INSERT INTO history (record_id, state, previous, detail, at)
            VALUES ('OLD-1', 'SEALED', NULL, 'sealed long ago', 1000.0);
        """
    )
    db.commit()
    db.close()
    with Outbox(tmp_path) as outbox:
        old = outbox.history("OLD-1")
        assert [(h.state, h.cause, h.facts, h.detail) for h in old] == [
            (RecordState.SEALED, "", {}, "sealed long ago")
        ]
        outbox.enqueue(package("NEW-1"))
        assert outbox.history("NEW-1")[0].cause == Cause.SEALED
