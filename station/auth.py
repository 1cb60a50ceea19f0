"""Operator accounts, bearer tokens stored hashed, and the interceptor that checks them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import grpc

from drivers.errors import OperatorText
from station.errors import abort


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Operators and their hashed tokens in SQLite. A token is shown once, when created."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS operators ("
            " name TEXT NOT NULL, role TEXT NOT NULL, token_sha256 TEXT PRIMARY KEY,"
            " created_at TEXT NOT NULL, revoked_at TEXT)"
        )
        self._lock = threading.Lock()
        self._cache: dict[str, Operator | None] = {}

    def add(self, name: str, role: Role) -> str:
        """Create an operator token and return it (only its hash is kept)."""
        if not name.strip():
            raise ValueError("operator name is empty")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO operators VALUES (?, ?, ?, ?, NULL)",
                (name.strip(), Role(role).value, _hash(token), datetime.now(UTC).isoformat()),
            )
        return token

    def revoke(self, name: str) -> int:
        """Revoke every token of ``name``; returns how many were active."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE operators SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), name),
            )
            self._cache.clear()
            return cursor.rowcount

    def list(self) -> list[tuple[str, str, str, bool]]:
        """(name, role, created_at, active) for every token."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, role, created_at, revoked_at IS NULL FROM operators ORDER BY rowid"
            ).fetchall()
        return [(n, r, c, bool(a)) for n, r, c, a in rows]

    def verify(self, token: str) -> Operator | None:
        if not token:
            return None
        digest = _hash(token)
        with self._lock:
            if digest in self._cache:
                return self._cache[digest]
            row = self._db.execute(
                "SELECT name, role, token_sha256 FROM operators"
                " WHERE token_sha256 = ? AND revoked_at IS NULL",
                (digest,),
            ).fetchone()
            operator = None
            if row is not None and hmac.compare_digest(row[2], digest):
                operator = Operator(row[0], Role(row[1]))
            self._cache[digest] = operator
            return operator

    def close(self) -> None:
        with self._lock:
            self._db.close()


# Which roles may call each method; methods not listed need any valid token.
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
METHOD_ROLES: dict[str, frozenset[Role]] = {
    "/station.v1.Devices/RunDiagnostics": frozenset({Role.TECHNICIAN}),
}
ENROLLMENT_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})
SERVICE_ROLES: dict[str, frozenset[Role]] = {
    "/station.v1.Enrollment/": ENROLLMENT_ROLES,
    "/station.v1.Records/": ENROLLMENT_ROLES,
    "/station.v1.Devices/": frozenset(Role),
}


def bearer_token(metadata: tuple | list | None) -> str:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def allowed_roles(method: str) -> frozenset[Role]:
    if method in METHOD_ROLES:
        return METHOD_ROLES[method]
    for prefix, roles in SERVICE_ROLES.items():
        if method.startswith(prefix):
            return roles
    return frozenset()


UNAUTHENTICATED_TEXT = OperatorText(
    "Sign in first: this request carries no valid operator token.",
    "Masuk terlebih dahulu: permintaan ini tidak membawa token operator yang sah.",
)


def _denied_text(roles: frozenset[Role]) -> OperatorText:
    names = ", ".join(sorted(r.value for r in roles))
    return OperatorText(
        f"Your role may not do this; it needs: {names}.",
        f"Peran Anda tidak boleh melakukan ini; diperlukan: {names}.",
    )


class AuthInterceptor(grpc.ServerInterceptor):
    """Rejects calls without a valid token (UNAUTHENTICATED) or with the wrong role."""

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    def intercept_service(self, continuation: Callable, handler_call_details):  # type: ignore[no-untyped-def]
        method = handler_call_details.method
        if method.startswith(OPEN_PREFIXES):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        operator = self.tokens.verify(bearer_token(handler_call_details.invocation_metadata))
        if operator is None:
            return _refusing(
                handler, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", UNAUTHENTICATED_TEXT
            )
        roles = allowed_roles(method)
        if operator.role not in roles:
            return _refusing(
                handler, grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED", _denied_text(roles)
            )
        return handler


def _refusing(handler, code: grpc.StatusCode, reason: str, text: OperatorText):  # type: ignore[no-untyped-def]
    def refuse(request, context):  # type: ignore[no-untyped-def]
        abort(context, code, reason, text)

    def refuse_stream(request, context):  # type: ignore[no-untyped-def]
        abort(context, code, reason, text)
        yield  # pragma: no cover

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(refuse, **kwargs)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(refuse_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(refuse, **kwargs)


def caller(context: grpc.ServicerContext, tokens: TokenStore) -> Operator:
    """The authenticated operator of this call (the interceptor already checked it)."""
    operator = tokens.verify(bearer_token(context.invocation_metadata()))
    if operator is None:  # revoked between the interceptor and the handler
        abort(context, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", UNAUTHENTICATED_TEXT)
    assert operator is not None
    return operator
