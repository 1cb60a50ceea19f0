"""The centre's bundle receipt on a real outbox: only a receipt signed by the pinned centre key,
for this kit, naming the exact package the kit holds, moves a record; carried records are
delivered until then; a link planted on the drive is neither read nor written through."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uploader.bundle import BundleError
from uploader.bundle_receipt import (
    RECEIPT,
    BundleReceipt,
    ReceiptEntry,
    read_receipt,
    settle,
    summary,
    write_receipt,
)
from uploader.outbox import Outbox, RecordState
from uploader.package import SealedPackage

STATION = "KIT-01"


def package(record_id: str) -> SealedPackage:
    data = f"sealed {record_id}".encode() * 10
    return SealedPackage(record_id, data, hashlib.sha256(data).hexdigest(), len(data))


def receipt_for(entries: list[ReceiptEntry], station_id: str = STATION) -> BundleReceipt:
    return BundleReceipt("rekam-KIT-01-bundle", station_id, "ab" * 32, "2026-01-01", tuple(entries))


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox") as box:
        for record_id in ("A", "B", "C", "D"):
            box.enqueue(package(record_id))
            box.mark_carried(record_id, "rekam-KIT-01-bundle")
        yield box


def test_carried_records_stay_due_and_reexport_adds_history(outbox):
    assert {r.record_id for r in outbox.due_for_delivery()} == {"A", "B", "C", "D"}
    outbox.mark_carried("A", "second-bundle")
    details = [change.detail for change in outbox.history("A")]
    assert details[-2:] == [
        "carried in USB bundle rekam-KIT-01-bundle",
        "carried in USB bundle second-bundle",
    ]
    outbox.mark_delivered("B")
    assert outbox.mark_carried("B", "third").state is RecordState.SENT_FOR_ENROLLMENT


def test_settle_applies_only_exact_packages_of_this_kit(outbox, tmp_path):
    key = Ed25519PrivateKey.generate()
    entries = [
        ReceiptEntry("A", package("A").sha256, "ACCEPTED", "", "PRINT_READY_RECORD"),
        ReceiptEntry("B", package("B").sha256, "DUPLICATE", "", "ENROLL_FAILURE_AT_CENTRAL"),
        ReceiptEntry("C", "00" * 32, "ACCEPTED", "", "RECEIVED_AT_CENTRAL"),  # other bytes
        ReceiptEntry("D", package("D").sha256, "DAMAGED", "DAMAGED_IN_BUNDLE: bit flip", ""),
        ReceiptEntry("Z", "11" * 32, "ACCEPTED", "", ""),  # not this kit's record
    ]
    bundle = tmp_path / "usb" / "rekam-KIT-01-bundle"
    bundle.mkdir(parents=True)
    write_receipt(bundle, key, receipt_for(entries))
    receipt = read_receipt(bundle, key.public_key())
    settled = settle(outbox, receipt, STATION)
    assert summary(settled) == {"settled": 2, "returned": 1, "ignored": 2}
    assert outbox.get("A").state is RecordState.PRINT_READY_RECORD
    # An enroll failure is left to the status tracker, which resends it.
    assert outbox.get("B").state is RecordState.RECEIVED_AT_CENTRAL
    assert outbox.get("C").state is RecordState.CARRIED
    assert outbox.get("D").state is RecordState.SEALED
    assert "bit flip" in outbox.get("D").detail
    # Brought back again: nothing moves.
    assert summary(settle(outbox, receipt, STATION))["ignored"] == 5
    with pytest.raises(BundleError, match="not this kit"):
        settle(outbox, receipt_for(entries, "KIT-99"), STATION)


def test_forged_foreign_and_linked_receipts_are_refused(tmp_path):
    centre, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    write_receipt(bundle, stranger, receipt_for([]))
    with pytest.raises(BundleError, match="not signed by the pinned centre key"):
        read_receipt(bundle, centre.public_key())
    (bundle / RECEIPT).write_bytes(b"[" * 100_000)
    with pytest.raises(BundleError, match="readable"):
        read_receipt(bundle, centre.public_key())

    # A link planted as receipt.json is not read, and writing replaces the link itself.
    secret = tmp_path / "secret.txt"
    secret.write_text("not the centre's")
    (bundle / RECEIPT).unlink()
    (bundle / RECEIPT).symlink_to(secret)
    with pytest.raises(BundleError):
        read_receipt(bundle, centre.public_key())
    write_receipt(bundle, centre, receipt_for([]))
    assert not (bundle / RECEIPT).is_symlink()
    assert secret.read_text() == "not the centre's"
    assert read_receipt(bundle, centre.public_key()).station_id == STATION
    assert not [n for n in os.listdir(bundle) if n.startswith(".")]
