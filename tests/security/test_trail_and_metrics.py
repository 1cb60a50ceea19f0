"""A real enrollment over gRPC leaves an audit trail without secrets or biometrics, and shows
up in the Prometheus metrics scraped from the loopback endpoint."""

from __future__ import annotations

import time
import urllib.request

import grpc
import pytest
from command_runner import run_command
from prometheus_client.parser import text_string_to_metric_families

from domain.vocabulary import EYES, FINGERS
from simulator.demo import Operator, Visit
from simulator.personas import make_persona
from station.audit import AuditLog
from station.client import position
from station.v1 import devices_pb2, enrollment_pb2, records_pb2
from uploader.outbox import RecordState


@pytest.fixture(scope="module")
def enrolled(kit):
    """An amputee enrolled end to end (exceptions approved by the supervisor), one forced
    capture, and one attempt with an expired token."""
    kit.present("amputee", 14)
    client = kit.client()
    visit = Visit("Amputee", "amputee", 14, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
    supervisor = kit.client(kit.supervisor_token)
    Operator(client, supervisor, report=lambda _line: None).enroll(visit, {})
    forced = _forced_capture(kit, client)
    expired = kit.client(kit.extra_tokens["expired"])
    with pytest.raises(grpc.RpcError):
        expired.devices.ListDevices(devices_pb2.ListDevicesRequest(), metadata=expired.metadata)
    expired.close()
    client.close()
    return visit, forced


def _forced_capture(kit, client) -> str:
    """Three worn-print attempts under the regular plan, then keep the best (supervisor)."""
    persona = make_persona("elderly", 21)
    kit.setup.kit.present(persona)
    from simulator.demo import subject_for

    subject = subject_for(persona, category=1)  # regular: no relaxed threshold
    eid = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    ).enrollment_id
    assert client.capture(eid, position("face")).result.accepted
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )
    for _ in range(3):
        assert not client.capture(eid, position("right_thumb"), timeout_seconds=1).result.accepted
    supervisor = kit.client(kit.supervisor_token)
    approval = supervisor.approve_override(
        eid, position("right_thumb"), enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE
    )
    supervisor.close()
    result = client.capture(
        eid,
        position("right_thumb"),
        force=True,
        force_reason="worn ridges",
        approval_id=approval,
    ).result
    assert result.accepted and result.sample.forced
    client.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid, reason="test"),
        metadata=client.metadata,
    )
    return eid


def _entries(kit, action: str) -> list:
    log = AuditLog(kit.data_dir / "audit.db", readonly=True)
    try:
        return list(log.entries(action))
    finally:
        log.close()


def test_the_trail_names_who_captured_and_approved_what(kit, enrolled):
    visit, forced_eid = enrolled
    assert {e.actor for e in _entries(kit, "login")} >= {"op-ani"}
    started = _entries(kit, "enrollment_started")
    assert started[0].actor == "op-ani" and started[0].detail_map["category"] == "disabled"
    eid = started[0].target
    captures = [e for e in _entries(kit, "capture") if e.target == eid]
    kept = {e.detail_map["position"] for e in captures if e.detail_map["outcome"] == "accepted"}
    assert all(isinstance(e.detail_map["score"], int) for e in captures)
    exceptions = [e for e in _entries(kit, "exception_marked") if e.target == eid]
    excepted = {e.detail_map["position"] for e in exceptions}
    # Every planned position is either a kept capture or an approved exception.
    assert kept | excepted >= {*FINGERS, *EYES, "face", "signature"}
    assert excepted and not kept & excepted
    assert exceptions and all(e.detail_map["approved_by"] == "sup-budi" for e in exceptions)
    assert all(e.actor == "op-ani" and e.detail_map["status"] == "OK" for e in exceptions)
    sealed = [e for e in _entries(kit, "record_sealed") if e.target == eid]
    assert [e.detail_map["record_id"] for e in sealed] == [visit.record_id]
    forced = [e for e in _entries(kit, "capture_forced") if e.target == forced_eid]
    assert [(f.detail_map["approved_by"], f.detail_map["outcome"]) for f in forced] == [
        ("sup-budi", "forced")
    ]
    assert any(e.target == forced_eid for e in _entries(kit, "enrollment_cancelled"))
    refused = _entries(kit, "login_refused")
    assert any(e.actor == "op-lama" and e.detail_map["refusal"] == "expired" for e in refused)


def test_the_trail_holds_no_tokens_identities_or_images(kit, enrolled):
    raw = b"".join(p.read_bytes() for p in kit.data_dir.glob("audit.db*"))
    persona = make_persona("amputee", 14)
    for secret in (
        kit.operator_token,
        kit.supervisor_token,
        kit.extra_tokens["expired"],
        persona.nik,
        persona.name,
    ):
        assert secret.encode() not in raw
    assert b"\xff\xd8" not in raw  # no JPEG
    assert run_command("audit", ["--data-dir", str(kit.data_dir), "verify"]) == 0


def _scrape(kit) -> dict[tuple[str, tuple], float]:
    port = kit.daemon.metrics_endpoint.port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_captures_quality_and_devices(kit, enrolled):
    samples = _scrape(kit)
    accepted = _value(samples, "rekam_captures_total", modality="fingerprint", outcome="accepted")
    assert accepted >= 8  # the amputee's remaining fingers
    assert _value(samples, "rekam_captures_total", modality="fingerprint", outcome="forced") == 1
    assert _value(samples, "rekam_captures_total", modality="face", outcome="accepted") >= 2
    scored = _value(samples, "rekam_capture_quality_score_count", modality="fingerprint")
    fingerprint_captures = sum(
        v
        for (name, labels), v in samples.items()
        if name == "rekam_captures_total" and ("modality", "fingerprint") in labels
    )
    assert scored == fingerprint_captures
    assert (
        _value(
            samples,
            "rekam_device_status",
            device="fingerprint-0",
            modality="fingerprint",
            status="ready",
        )
        == 1
    )
    assert _value(samples, "rekam_auth_refusals_total", reason="TOKEN_EXPIRED") >= 1
    assert (
        _value(samples, "rekam_outbox_records", state="SEALED")
        + _value(samples, "rekam_outbox_records", state="SENT_FOR_ENROLLMENT")
        + _value(samples, "rekam_outbox_records", state="PRINT_READY_RECORD")
        + _value(samples, "rekam_outbox_records", state="RECEIVED_AT_CENTRAL")
        >= 1
    )


def test_metrics_follow_delivery_to_the_centre(kit, enrolled):
    visit, _ = enrolled
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = kit.daemon.outbox.get(visit.record_id)
        if record is not None and record.state is not RecordState.SEALED:
            break
        time.sleep(0.2)
    samples = _scrape(kit)
    assert _value(samples, "rekam_delivery_attempts_total", result="accepted") >= 1
    assert _value(samples, "rekam_delivery_latency_seconds_count") >= 1
    assert _value(samples, "rekam_outbox_depth") == 0
    assert _value(samples, "rekam_outbox_oldest_age_seconds") == 0
    assert _value(samples, "rekam_delivery_bytes_total") > 0
