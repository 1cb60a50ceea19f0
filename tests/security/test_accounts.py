"""Operator accounts: hashed tokens with an expiry, roles on every RPC, supervisor approval
carrying the supervisor's own token, and ``rekam operator add|list|revoke``."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from station.auth import TOKEN_PREFIX, Refusal, Role, TokenStore
from station.cli import main as rekam
from station.client import position
from station.errors import error_reason
from station.lifecycle import redact
from station.v1 import devices_pb2, enrollment_pb2


def test_tokens_are_stored_hashed_and_expire(tmp_path):
    store = TokenStore(tmp_path / "operators.db")
    token = store.add("op-ani", Role.OPERATOR, expires_days=30)
    issued_long_ago = store.add(
        "op-lama", Role.OPERATOR, expires_days=30, now=datetime.now(UTC) - timedelta(days=31)
    )
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in raw and issued_long_ago.encode() not in raw
    store = TokenStore(tmp_path / "operators.db")
    assert store.verify(token).name == "op-ani"
    check = store.check(issued_long_ago)
    assert check.operator is None and check.refusal is Refusal.EXPIRED
    assert check.name == "op-lama"
    assert store.check("not-a-token").refusal is Refusal.UNKNOWN
    assert store.check("").refusal is Refusal.MISSING
    with pytest.raises(ValueError):
        store.add("op-x", Role.OPERATOR, expires_days=0)
    with pytest.raises(ValueError):
        store.add("op\nx", Role.OPERATOR)
    store.close()


def test_tokens_never_start_with_a_dash_and_never_reach_a_log(tmp_path):
    """A token beginning with "-" could not be passed as ``--token X``; one shown in a log line
    would be a login for whoever reads the log."""
    store = TokenStore(tmp_path / "operators.db")
    try:
        tokens = [store.add(f"op-{i}", Role.OPERATOR) for i in range(64)]
    finally:
        store.close()
    assert all(t.startswith(TOKEN_PREFIX) for t in tokens)
    for token in tokens:
        assert redact(f"refused {token} at the door") == "refused [redacted] at the door"


def test_tokens_made_before_expiry_existed_keep_working(tmp_path):
    db = sqlite3.connect(tmp_path / "operators.db")
    db.execute(
        "CREATE TABLE operators (name TEXT NOT NULL, role TEXT NOT NULL,"
        " token_sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL, revoked_at TEXT)"
    )
    from station.auth import _hash

    db.execute(
        "INSERT INTO operators VALUES ('old', 'operator', ?, '2024-01-01T00:00:00+00:00', NULL)",
        (_hash("legacy-token"),),
    )
    db.commit()
    db.close()
    store = TokenStore(tmp_path / "operators.db")
    assert store.verify("legacy-token").name == "old"
    assert store.list()[0].expires_at == ""
    store.close()


def test_operator_cli_adds_lists_and_revokes(tmp_path, capsys):
    data = str(tmp_path)
    assert rekam(["operator", "--data-dir", data, "add", "sup-budi", "--role", "supervisor"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) >= 40
    assert rekam(["operator", "--data-dir", data, "add", "op-ani", "--expires-days", "7"]) == 0
    capsys.readouterr()
    assert rekam(["operator", "--data-dir", data, "add", "op-x", "--expires-days", "-1"]) == 2
    capsys.readouterr()
    assert rekam(["operator", "--data-dir", data, "list"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("sup-budi", "supervisor", "active"),
        ("op-ani", "operator", "active"),
    ]
    expires = datetime.fromisoformat(rows[1][3]) - datetime.fromisoformat(rows[1][2])
    assert expires == timedelta(days=7)
    assert token not in (tmp_path / "operators.db").read_bytes().decode("latin-1")
    assert rekam(["operator", "--data-dir", data, "revoke", "sup-budi"]) == 0
    assert rekam(["operator", "--data-dir", data, "revoke", "nobody"]) == 1
    capsys.readouterr()
    rekam(["operator", "--data-dir", data, "list"])
    assert capsys.readouterr().out.splitlines()[0].endswith("\trevoked")
    store = TokenStore(tmp_path / "operators.db")
    assert store.verify(token) is None
    store.close()


def _list_devices(kit, token: str):
    client = kit.client(token)
    try:
        return client.devices.ListDevices(
            devices_pb2.ListDevicesRequest(), metadata=client.metadata, timeout=10
        )
    finally:
        client.close()


def test_every_rpc_but_health_needs_a_valid_token(kit):
    client = kit.client("")
    try:
        health = client.health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            client.devices.ListDevices(
                devices_pb2.ListDevicesRequest(), metadata=client.metadata, timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reflection = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        with pytest.raises(grpc.RpcError) as caught:
            list(reflection.ServerReflectionInfo(iter([request]), timeout=10))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(
            reflection.ServerReflectionInfo(
                iter([request]),
                metadata=[("authorization", f"Bearer {kit.technician_token}")],
                timeout=10,
            )
        )
        names = {s.name for s in answers[0].list_services_response.service}
        assert "station.v1.Enrollment" in names
    finally:
        client.close()


def test_an_expired_token_is_refused_with_its_own_reason(kit):
    with pytest.raises(grpc.RpcError) as caught:
        _list_devices(kit, kit.extra_tokens["expired"])
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(caught.value) == "TOKEN_EXPIRED"
    assert "expired" in caught.value.details()
    client = kit.client(kit.extra_tokens["expired"], language="id")
    with pytest.raises(grpc.RpcError) as caught:
        client.devices.ListDevices(devices_pb2.ListDevicesRequest(), metadata=client.metadata)
    client.close()
    assert "kedaluwarsa" in caught.value.details()


def test_roles_decide_what_each_caller_may_do(kit):
    technician = kit.client(kit.technician_token)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            technician.enrollment.ListEnrollments(
                enrollment_pb2.ListEnrollmentsRequest(), metadata=technician.metadata
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(caught.value) == "ROLE_NOT_ALLOWED"
    finally:
        technician.close()
    operator = kit.client()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            list(
                operator.devices.RunDiagnostics(
                    devices_pb2.RunDiagnosticsRequest(), metadata=operator.metadata, timeout=10
                )
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        operator.close()


def test_a_token_revoked_by_the_cli_is_refused_by_the_running_daemon(kit, capsys):
    data = str(kit.data_dir)
    assert rekam(["operator", "--data-dir", data, "add", "op-dedi"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(_list_devices(kit, token).devices) > 0
    assert rekam(["operator", "--data-dir", data, "revoke", "op-dedi"]) == 0
    with pytest.raises(grpc.RpcError) as caught:
        _list_devices(kit, token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _start(kit, kind: str, seed: int):
    from simulator.demo import subject_for
    from simulator.personas import make_persona

    persona = make_persona(kind, seed)
    kit.setup.kit.present(persona)
    client = kit.client()
    subject = subject_for(persona)
    record = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    )
    return client, record.enrollment_id


@pytest.mark.parametrize("approver", ["", "operator", "technician", "expired"])
def test_an_exception_needs_a_supervisors_own_valid_token(kit, approver):
    tokens = {
        "": "",
        "operator": kit.operator_token,
        "technician": kit.technician_token,
        "expired": kit.extra_tokens["expired"],
    }
    client, eid = _start(kit, "amputee", 41)
    try:
        if approver:  # only a supervisor's own valid login issues approvals
            other = kit.client(tokens[approver])
            with pytest.raises(grpc.RpcError) as caught:
                other.approve_override(
                    eid,
                    position("left_little"),
                    enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION,
                    enrollment_pb2.EXCEPTION_KIND_AMPUTATED,
                )
            other.close()
            assert caught.value.code() in (
                grpc.StatusCode.PERMISSION_DENIED,
                grpc.StatusCode.UNAUTHENTICATED,
            )
        with pytest.raises(grpc.RpcError) as caught:
            client.enrollment.MarkException(
                enrollment_pb2.MarkExceptionRequest(
                    enrollment_id=eid,
                    position=position("left_little"),
                    kind=enrollment_pb2.EXCEPTION_KIND_AMPUTATED,
                ),
                metadata=client.metadata,
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(caught.value) == "SUPERVISOR_APPROVAL_REQUIRED"
        # A forced capture is an override too: the same rule applies.
        with pytest.raises(grpc.RpcError) as caught:
            client.capture(eid, position("face"), force=True, force_reason="best kept")
        assert error_reason(caught.value) == "SUPERVISOR_APPROVAL_REQUIRED"
    finally:
        client.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
        )
        client.close()
