"""Supervisor approvals (four eyes): single-use, short-lived, bound to one enrollment, position
and action, and never given by the operator who records the enrollment.

A supervisor signs in with their own token and asks for an approval (``ApproveOverride``); the
operator's Capture (force) or MarkException call names the approval's id and consumes it. No
token changes hands, an approval opens nothing but the one override it names, and it is gone
once used or expired.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FORCE_CAPTURE = "force_capture"
MAX_OPEN = 256  # open approvals kept; the oldest is dropped beyond it
MAX_REMEMBERED = 1024  # consumed approvals remembered for the audit trail


def exception_action(kind: str) -> str:
    """The action an exception of ``kind`` needs approved."""
    return f"exception:{kind}"


class ApprovalRefused(Exception):
    """``reason``: APPROVAL_FOUR_EYES (issuing) or APPROVAL_INVALID (consuming)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Approval:
    approval_id: str
    enrollment_id: str
    position: str
    action: str
    supervisor: str
    expires_at: float  # on the ``clock``
    expires_in_s: float


class ApprovalBook:
    """Open approvals by id. Thread-safe."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Approval] = OrderedDict()
        self._used: OrderedDict[str, str] = OrderedDict()

    def issue(
        self, enrollment_id: str, enrolled_by: str, position: str, action: str, supervisor: str
    ) -> Approval:
        """A new approval by ``supervisor``; refused when they record the enrollment."""
        if supervisor == enrolled_by:
            raise ApprovalRefused("APPROVAL_FOUR_EYES")
        approval = Approval(
            "ap_" + secrets.token_urlsafe(24),
            enrollment_id,
            position,
            action,
            supervisor,
            self._clock() + self.ttl_s,
            self.ttl_s,
        )
        with self._lock:
            self._open[approval.approval_id] = approval
            while len(self._open) > MAX_OPEN:
                self._open.popitem(last=False)
        return approval

    def consume(self, approval_id: str, enrollment_id: str, position: str, action: str) -> str:
        """The approving supervisor's name; the approval is used up by any attempt, matching
        or not. APPROVAL_INVALID when it is unknown, used, expired or for something else."""
        with self._lock:
            approval = self._open.pop(approval_id, None)
        if (
            approval is None
            or approval.expires_at <= self._clock()
            or (approval.enrollment_id, approval.position, approval.action)
            != (enrollment_id, position, action)
        ):
            raise ApprovalRefused("APPROVAL_INVALID")
        with self._lock:
            self._used[approval_id] = approval.supervisor
            while len(self._used) > MAX_REMEMBERED:
                self._used.popitem(last=False)
        return approval.supervisor

    def approver(self, approval_id: str) -> str:
        """Who gave a consumed approval (for the audit trail); "" when unknown."""
        with self._lock:
            return self._used.get(approval_id, "")
