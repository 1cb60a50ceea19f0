"""The audit log's hash chain: appends from several writers, and ``rekam audit verify``
finding an edited, removed or reordered entry."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from command_runner import run_command

from station.audit import AuditLog


def _filled(path: Path, count: int = 6) -> AuditLog:
    log = AuditLog(path)
    for n in range(count):
        log.append(f"op-{n % 2}", "capture", f"enr-{n}", {"position": "right_index", "score": n})
    return log


def _tamper(path: Path, *statements: str) -> None:
    """What someone with the file could do: drop the guards and rewrite rows."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("DROP TRIGGER entries_no_delete")
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def _verify(path: Path, *extra: str) -> int:
    return run_command("audit", ["--data-dir", str(path.parent), "verify", *extra])


def test_an_intact_log_verifies_and_the_cli_prints_its_head(tmp_path, capsys):
    log = _filled(tmp_path / "audit.db")
    result = log.verify()
    log.close()
    assert result.ok and result.count == 6
    assert _verify(tmp_path / "audit.db") == 0
    out = capsys.readouterr().out
    assert "6 entries, chain intact" in out and result.head in out


def test_the_database_refuses_updates_and_deletes(tmp_path):
    log = _filled(tmp_path / "audit.db")
    log.close()
    db = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE entries SET actor = 'someone-else' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM entries WHERE seq = 2")
    db.close()


@pytest.mark.parametrize(
    ("statements", "finding"),
    [
        (
            ['UPDATE entries SET details = \'{"position":"left_index","score":99}\' WHERE seq = 3'],
            "entry 3: its content was changed",
        ),
        (["UPDATE entries SET actor = 'op-9' WHERE seq = 1"], "entry 1: its content was changed"),
        (["DELETE FROM entries WHERE seq = 4"], "entry 4: found sequence number 5"),
        (
            # Swap two whole rows, sequence numbers included: the links no longer follow.
            [
                "UPDATE entries SET seq = -2 WHERE seq = 2",
                "UPDATE entries SET seq = 2 WHERE seq = 5",
                "UPDATE entries SET seq = 5 WHERE seq = -2",
                "CREATE TABLE shuffled AS SELECT * FROM entries ORDER BY seq",
                "DELETE FROM entries",
                "INSERT INTO entries SELECT * FROM shuffled",
            ],
            "does not follow the entry before it",
        ),
    ],
    ids=["edited-details", "edited-actor", "removed", "reordered"],
)
def test_verify_finds_tampering(tmp_path, capsys, statements, finding):
    path = tmp_path / "audit.db"
    _filled(path).close()
    _tamper(path, *statements)
    result = AuditLog(path, readonly=True).verify()
    assert not result.ok
    assert any(finding in problem for problem in result.problems), result.problems
    assert _verify(path) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_an_anchor_finds_entries_cut_from_the_end(tmp_path, capsys):
    path = tmp_path / "audit.db"
    log = _filled(path)
    head = log.verify().head
    log.close()
    _tamper(path, "DELETE FROM entries WHERE seq = 6")
    assert AuditLog(path, readonly=True).verify().ok  # a shorter chain is still a chain...
    result = AuditLog(path, readonly=True).verify(anchor=head)
    assert not result.ok and "no longer in the log" in result.problems[0]  # ...but not ours
    assert _verify(path, "--anchor", head) == 1
    capsys.readouterr()


def test_writers_in_parallel_keep_one_unbroken_chain(tmp_path):
    path = tmp_path / "audit.db"
    AuditLog(path).close()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        log = AuditLog(path)  # its own connection, like a second process
        try:
            for n in range(25):
                log.append(f"w{worker}", "capture", f"enr-{worker}-{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            log.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    result = AuditLog(path, readonly=True).verify()
    assert result.ok and result.count == 100


def test_entries_refuse_secrets_and_binary(tmp_path):
    log = AuditLog(tmp_path / "audit.db")
    for details in (
        {"supervisor_token": "x"},
        {"proof_photo": "y"},
        {"nik": "3171"},
        {"blob": b"\xff"},
    ):
        with pytest.raises(ValueError):
            log.append("op", "capture", "enr", details)
    entry = log.append("op\n", "capture", "e" * 500, {"note": "line\x00break"})
    assert entry.actor == "op?" and len(entry.target) == 200
    assert entry.detail_map == {"note": "line?break"}
    assert log.verify().ok and log.verify().count == 1
    log.close()


def test_verify_without_a_log_says_so(tmp_path, capsys):
    assert run_command("audit", ["--data-dir", str(tmp_path), "verify"]) == 2
    assert "no audit log" in capsys.readouterr().err
    assert not (tmp_path / "audit.db").exists()
