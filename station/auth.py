"""Operator accounts, bearer tokens stored hashed (with an expiry), and the interceptor that
checks every call's token and role.

Expiry is judged on the kit's timeline (``domain.clock``), not the bare wall clock: a kit
clock stepped forward does not lock every operator out, nor does one stepped back keep a
token alive past its real lifetime."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import grpc

from domain.clock import SYSTEM_CLOCK
from domain.messages import SOURCE_LANGUAGE, Message, msg
from station.errors import abort
from station.throttle import LoginThrottle, peer_address

# Tokens start with a fixed prefix: never with "-" (so `--token X` always parses), and easy
# for log and secret scanners to recognise.
TOKEN_PREFIX = "rk_"
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 3650


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


@dataclass(frozen=True)
class Operator:
    """An authenticated caller. ``token_id`` names the token (never the token itself)."""

    name: str
    role: Role
    token_id: int = 0


@dataclass(frozen=True)
class OperatorAccount:
    """One token's row, as ``rekam operator list`` shows it."""

    name: str
    role: str
    created_at: str
    expires_at: str
    active: bool
    expired: bool


class Refusal(StrEnum):
    """Why a token was not accepted."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a token: the operator, or why it was refused (and whose it was)."""

    operator: Operator | None
    refusal: Refusal | None = None
    name: str = ""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenStore:
    """Operators and their hashed tokens in SQLite. A token is shown once, when created.

    Nothing is cached: a token revoked by ``rekam operator revoke`` in another process is
    refused on the daemon's very next call. ``clock`` reads the kit's timeline.
    """

    def __init__(
        self, path: Path, clock: Callable[[], datetime] = SYSTEM_CLOCK.now_datetime
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS operators ("
            " name TEXT NOT NULL, role TEXT NOT NULL, token_sha256 TEXT PRIMARY KEY,"
            " created_at TEXT NOT NULL, revoked_at TEXT)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(operators)")}
        if "expires_at" not in columns:  # tokens made before expiry existed never expire
            self._db.execute("ALTER TABLE operators ADD COLUMN expires_at TEXT")
        self._lock = threading.Lock()
        self._clock = clock

    def add(
        self,
        name: str,
        role: Role,
        *,
        expires_days: float = DEFAULT_EXPIRY_DAYS,
        now: datetime | None = None,
    ) -> str:
        """Create an operator token valid for ``expires_days`` from ``now``; return it (only
        its hash is kept)."""
        if not name.strip() or not name.strip().isprintable():
            raise ValueError("operator name is empty or not printable")
        if not 0 < expires_days <= MAX_EXPIRY_DAYS:
            raise ValueError(f"a token's validity must be 1..{MAX_EXPIRY_DAYS} days")
        issued = now or self._clock()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO operators (name, role, token_sha256, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    name.strip(),
                    Role(role).value,
                    _hash(token),
                    issued.isoformat(),
                    (issued + timedelta(days=expires_days)).isoformat(),
                ),
            )
        return token

    def revoke(self, name: str) -> int:
        """Revoke every token of ``name``; returns how many were active."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE operators SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (self._clock().isoformat(), name),
            )
            return cursor.rowcount

    def list(self) -> list[OperatorAccount]:
        """Every token, oldest first."""
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT name, role, created_at, COALESCE(expires_at, ''), revoked_at IS NULL"
                " FROM operators ORDER BY rowid"
            ).fetchall()
        return [
            OperatorAccount(n, r, c, e, bool(a), bool(e) and datetime.fromisoformat(e) <= now)
            for n, r, c, e, a in rows
        ]

    def check(self, token: str) -> TokenCheck:
        """The operator ``token`` belongs to, or why it is refused."""
        if not token:
            return TokenCheck(None, Refusal.MISSING)
        digest = _hash(token)
        with self._lock:
            row = self._db.execute(
                "SELECT rowid, name, role, token_sha256, expires_at, revoked_at FROM operators"
                " WHERE token_sha256 = ?",
                (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[3], digest):
            return TokenCheck(None, Refusal.UNKNOWN)
        rowid, name, role, _, expires_at, revoked_at = row
        if revoked_at is not None:
            return TokenCheck(None, Refusal.REVOKED, name)
        if expires_at and datetime.fromisoformat(expires_at) <= self._clock():
            return TokenCheck(None, Refusal.EXPIRED, name)
        return TokenCheck(Operator(name, Role(role), rowid))

    def verify(self, token: str) -> Operator | None:
        """The operator of a valid token, or None."""
        return self.check(token).operator

    def still_valid(self, token_id: int) -> bool:
        """Whether the token ``token_id`` names is neither revoked nor expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT expires_at, revoked_at FROM operators WHERE rowid = ?", (token_id,)
            ).fetchone()
        if row is None or row[1] is not None:
            return False
        return not row[0] or datetime.fromisoformat(row[0]) > self._clock()

    def close(self) -> None:
        with self._lock:
            self._db.close()


# Which roles may call each method. Every method but the health checks needs a valid token.
OPEN_PREFIXES = ("/grpc.health.v1.",)
METHOD_ROLES: dict[str, frozenset[Role]] = {
    "/station.v1.Devices/RunDiagnostics": frozenset({Role.TECHNICIAN}),
    "/station.v1.Enrollment/ApproveOverride": frozenset({Role.SUPERVISOR}),
}
ENROLLMENT_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})
SERVICE_ROLES: dict[str, frozenset[Role]] = {
    "/station.v1.Enrollment/": ENROLLMENT_ROLES,
    "/station.v1.Records/": ENROLLMENT_ROLES,
    "/station.v1.Devices/": frozenset(Role),
    "/grpc.reflection.": frozenset(Role),
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


def _denied(roles: frozenset[Role]) -> Message:
    return msg("ROLE_NOT_ALLOWED", roles=", ".join(sorted(r.value for r in roles)) or "none")


def _refusal_reason(check: TokenCheck) -> str:
    """The reason a call without a valid token is refused; also its sentence's code."""
    return "TOKEN_EXPIRED" if check.refusal is Refusal.EXPIRED else "UNAUTHENTICATED"


class AuthListener:
    """Told about every authentication (the audit trail and the metrics listen)."""

    def authenticated(self, method: str, operator: Operator) -> None:
        """A call carried a valid token."""

    def refused(self, method: str, check: TokenCheck, reason: str, peer: str = "") -> None:
        """A call was refused: no valid token (``check``) or the wrong role (``reason``);
        ``peer`` is the caller's address without its port."""


class AuthInterceptor(grpc.ServerInterceptor):
    """Rejects calls without a valid token (UNAUTHENTICATED) or with the wrong role
    (PERMISSION_DENIED); methods no role may call are refused too. A peer address past
    ``throttle``'s limit of failed logins is answered RESOURCE_EXHAUSTED instead. Refusals are
    worded in the caller's language, else in ``language`` (the station's)."""

    def __init__(
        self,
        tokens: TokenStore,
        listeners: tuple[AuthListener, ...] = (),
        language: str = SOURCE_LANGUAGE,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.tokens = tokens
        self.listeners = listeners
        self.language = language
        self.throttle = throttle

    def intercept_service(self, continuation: Callable, handler_call_details):  # type: ignore[no-untyped-def]
        method = handler_call_details.method
        if method.startswith(OPEN_PREFIXES):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        check = self.tokens.check(bearer_token(handler_call_details.invocation_metadata))
        if check.operator is None:
            reason = _refusal_reason(check)
            refusal = Refusing(grpc.StatusCode.UNAUTHENTICATED, reason, msg(reason))
            return _refusing(handler, self._failed_login(method, check, refusal))
        roles = allowed_roles(method)
        if check.operator.role not in roles:
            denied = _denied(roles)
            refusal = Refusing(grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED", denied)
            return _refusing(handler, self._denied_role(method, check, refusal))
        self._tell("authenticated", method, check.operator)
        return handler

    def _failed_login(self, method: str, check: TokenCheck, refusal: Refusing):  # type: ignore[no-untyped-def]
        def refuse(context: grpc.ServicerContext) -> None:
            peer = peer_address(context.peer())
            if self.throttle is not None and self.throttle.failed(peer):
                seconds = round(self.throttle.window_s)
                self._tell("refused", method, check, "TOO_MANY_FAILED_LOGINS", peer)
                self._abort(
                    context,
                    Refusing(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "TOO_MANY_FAILED_LOGINS",
                        msg("TOO_MANY_FAILED_LOGINS", seconds=seconds),
                    ),
                )
            self._tell("refused", method, check, refusal.reason, peer)
            self._abort(context, refusal)

        return refuse

    def _denied_role(self, method: str, check: TokenCheck, refusal: Refusing):  # type: ignore[no-untyped-def]
        def refuse(context: grpc.ServicerContext) -> None:
            self._tell("refused", method, check, refusal.reason, peer_address(context.peer()))
            self._abort(context, refusal)

        return refuse

    def _abort(self, context: grpc.ServicerContext, refusal: Refusing) -> None:
        abort(
            context,
            refusal.code,
            refusal.reason,
            refusal.message,
            default_language=self.language,
        )

    def _tell(self, event: str, *args: object) -> None:
        for listener in self.listeners:
            getattr(listener, event)(*args)


@dataclass(frozen=True)
class Refusing:
    """How a call is refused: the status code, the reason and the operator's sentence."""

    code: grpc.StatusCode
    reason: str
    message: Message


def _refusing(handler, refuse_call: Callable[[grpc.ServicerContext], None]):  # type: ignore[no-untyped-def]
    """A handler of the same shape as ``handler`` that only runs ``refuse_call`` (which
    aborts the call)."""

    def refuse(request, context):  # type: ignore[no-untyped-def]
        refuse_call(context)

    def refuse_stream(request, context):  # type: ignore[no-untyped-def]
        refuse_call(context)
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


def caller(
    context: grpc.ServicerContext, tokens: TokenStore, language: str = SOURCE_LANGUAGE
) -> Operator:
    """The authenticated operator of this call (the interceptor already checked it); a refusal
    is worded in the caller's language, else in ``language`` (the station's)."""
    check = tokens.check(bearer_token(context.invocation_metadata()))
    if check.operator is None:  # revoked or expired between the interceptor and the handler
        reason = _refusal_reason(check)
        abort(
            context,
            grpc.StatusCode.UNAUTHENTICATED,
            reason,
            msg(reason),
            default_language=language,
        )
    assert check.operator is not None
    return check.operator
