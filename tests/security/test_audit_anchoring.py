"""The thief with a copy of the kit's disk rewrites the audit log: every ``capture_forced``
entry removed, the approving supervisor renamed, the whole chain re-hashed so it links up again.
The station's signed heads and the heads carried in sealed manifests give the rewrite away."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from command_runner import run_command

from station.audit import (
    GENESIS,
    AuditAnchor,
    AuditLog,
    SignedHead,
    entry_hash,
    head_message,
    verify_export,
)
from uploader.keys import STATION_PUBLIC_FILE, StationKeys


def _kit_log(data_dir: Path) -> tuple[AuditLog, StationKeys, list[str]]:
    """A log as the daemon writes it: entries, heads signed along the way (as at each seal),
    and the heads two sealed manifests carried."""
    keys = StationKeys.load_or_create(data_dir / "keys")
    log = AuditLog(data_dir / "audit.db")
    anchor = AuditAnchor(log, keys, interval_s=3600)
    manifest_heads = []
    for n in range(3):
        log.append("op-ani", "capture", f"enr-{n}", {"position": "right_thumb", "score": 12})
        log.append(
            "op-ani",
            "capture_forced",
            f"enr-{n}",
            {"position": "right_thumb", "approved_by": "sup-budi", "reason": "worn ridges"},
        )
        if n < 2:
            manifest_heads.append(anchor.sign_now())  # what sealing puts in the manifest
            log.append("op-ani", "record_sealed", f"enr-{n}", {"record_id": f"R-{n}"})
    anchor.stop()  # the daemon signs its last head when it stops
    return log, keys, manifest_heads


def _rewrite(path: Path) -> None:
    """The thief: drop the forced captures, rename the supervisor, re-hash the whole chain."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT at, actor, action, target, details FROM entries ORDER BY seq"
    ).fetchall()
    db.execute("DROP TRIGGER entries_no_delete")
    db.execute("DELETE FROM entries")
    previous, seq = GENESIS, 0
    for at, actor, action, target, details in rows:
        if action == "capture_forced":
            continue
        seq += 1
        details = details.replace("sup-budi", "sup-lain")
        digest = entry_hash(seq, at, actor, action, target, details, previous)
        db.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, target, details, previous, digest),
        )
        previous = digest
    db.commit()
    db.close()


def _drop_signed_heads(path: Path, forger: StationKeys | None = None) -> None:
    """Remove every signed head; with ``forger``, sign the rewritten head with that key."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS signed_heads_no_delete")
    db.execute("DELETE FROM signed_heads")
    if forger is not None:
        seq, head = db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC").fetchone()
        signature = forger.sign(head_message(seq, head)).hex()
        db.execute("INSERT INTO signed_heads VALUES (?, ?, ?, ?)", (seq, head, "now", signature))
    db.commit()
    db.close()


def _verify(data_dir: Path, *extra: str) -> int:
    return run_command("audit", ["--data-dir", str(data_dir), "verify", *extra])


def test_an_untouched_log_is_vouched_for_by_the_station_signature(tmp_path, capsys):
    log, keys, _ = _kit_log(tmp_path)
    result = log.verify(public_key=keys.public_key)
    assert result.ok, result.problems
    assert result.signed_through == result.count == 8
    log.close()
    assert _verify(tmp_path) == 0
    assert "signed by the station through entry 8" in capsys.readouterr().out


def test_a_rewritten_and_rehashed_chain_is_found_by_the_signed_heads(tmp_path, capsys):
    log, keys, _ = _kit_log(tmp_path)
    anchor_head = log.verify().head
    log.close()
    _rewrite(tmp_path / "audit.db")
    rewritten = AuditLog(tmp_path / "audit.db", readonly=True)
    assert rewritten.verify().ok  # the links alone no longer tell...
    assert not list(rewritten.entries("capture_forced"))
    result = rewritten.verify(public_key=keys.public_key)
    rewritten.close()
    assert not result.ok  # ...the station's signatures do
    assert any("not what the station signed" in p for p in result.problems), result.problems
    assert _verify(tmp_path) == 1
    assert _verify(tmp_path, "--anchor", anchor_head) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_removing_or_forging_the_signed_heads_is_found(tmp_path, capsys):
    log, keys, _ = _kit_log(tmp_path)
    log.close()
    public_copy = tmp_path / "centre-copy.pub.pem"  # the key as the centre enrolled it
    public_copy.write_bytes(keys.public_pem())
    path = tmp_path / "audit.db"
    _rewrite(path)
    _drop_signed_heads(path)
    result = AuditLog(path, readonly=True).verify(public_key=keys.public_key)
    assert any("no head signed by the station" in p for p in result.problems), result.problems
    thief = StationKeys.generate()
    _drop_signed_heads(path, forger=thief)
    # The thief also swaps the public key on the disk: the copy known off the kit decides.
    (tmp_path / "keys" / STATION_PUBLIC_FILE).write_bytes(thief.public_pem())
    assert _verify(tmp_path) == 0  # the kit's own key file can no longer be trusted...
    assert _verify(tmp_path, "--public-key", str(public_copy)) == 1  # ...the centre's copy can
    assert "not the station's signature" in capsys.readouterr().out


def test_the_centre_finds_the_rewrite_with_the_heads_of_the_manifests_it_holds(tmp_path):
    log, keys, manifest_heads = _kit_log(tmp_path)
    honest = log.export()
    log.close()
    assert verify_export(honest, keys.public_key, manifest_heads).ok
    _rewrite(tmp_path / "audit.db")
    _drop_signed_heads(tmp_path / "audit.db")
    rewritten = AuditLog(tmp_path / "audit.db", readonly=True).export()
    # Even an export without any signed head is judged by the manifests' heads.
    rewritten_doc = json.loads(json.dumps(rewritten))
    result = verify_export(rewritten_doc, keys.public_key, manifest_heads)
    assert not result.ok
    assert sum("no longer in the log" in p for p in result.problems) == len(manifest_heads)
    assert not verify_export({"format": "other"}, keys.public_key, manifest_heads).ok


def test_a_signed_head_carries_the_station_signature_over_its_entry(tmp_path):
    log, keys, _ = _kit_log(tmp_path)
    heads = log.signed_heads()
    log.close()
    assert heads and all(h.verify(keys.public_key) for h in heads)
    moved = SignedHead(heads[0].seq + 1, heads[0].hash, heads[0].signed_at, heads[0].signature)
    assert not moved.verify(keys.public_key)
