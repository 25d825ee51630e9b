"""Opening a service case once per request, with its reference and an audit entry.

Every capability that records a request for the back office (a fault, a
complaint, a tariff switch, an appointment) opens a `ServiceCase` this way:
a repeated delivery of the same customer message (same request id) finds
the case the first delivery opened instead of opening a second one, also
when both arrive at the same moment (the unique request id decides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.models import AuditEntry, ServiceCase
from bot.domain.references import new_reference


@dataclass(frozen=True)
class Opened:
    """A case as the customer hears of it."""

    id: int
    reference: str
    kind: str
    data: dict[str, Any]
    #: False when the request id had opened it before (a repeated delivery)
    created: bool


def reference_taken(session: Session) -> Callable[[str], bool]:
    def taken(reference: str) -> bool:
        found = session.scalar(select(ServiceCase.id).where(ServiceCase.reference == reference))
        return found is not None

    return taken


def by_request(session: Session, request_id: str) -> ServiceCase | None:
    return session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))


def _opened(case: ServiceCase, *, created: bool) -> Opened:
    return Opened(case.id, case.reference, case.kind, dict(case.data or {}), created)


def open_once(
    session: Session,
    *,
    kind: str,
    request_id: str,
    data: dict[str, Any],
    language: str,
    channel: str,
    conversation_id: str,
    audit_action: str,
    customer_id: int | None = None,
    priority: bool = False,
    reference_kind: str | None = None,
) -> Opened:
    """The case of `request_id`: the one opened before, or a new one with an audit entry."""
    existing = by_request(session, request_id)
    if existing is not None:
        return _opened(existing, created=False)
    case = ServiceCase(
        reference=new_reference(reference_kind or kind, reference_taken(session)),
        kind=kind,
        customer_id=customer_id,
        status="open",
        priority=priority,
        data=data,
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
            session.add(
                AuditEntry(
                    agent_id=None,
                    action=audit_action,
                    case_id=None,
                    detail={"service_case": case.id, "channel": channel, "priority": priority},
                )
            )
            session.flush()
    except IntegrityError:
        # the same request delivered twice at once: the first one opened the case
        session.expire_all()
        existing = by_request(session, request_id)
        if existing is None:
            raise
        return _opened(existing, created=False)
    return _opened(case, created=True)
