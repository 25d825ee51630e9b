"""Service cases: opened once per request (with a reference and an audit entry), listed,
shown and closed by agents.

Every capability that records a request for the back office (a fault, a
complaint, a tariff switch, an appointment) opens a `ServiceCase` this way:
a repeated delivery of the same customer message (same request id) finds
the case the first delivery opened instead of opening a second one, also
when both arrive at the same moment (the unique request id decides).

Agents see the cases in the console by type (fault, complaint, appointment,
move, payment, tariff), with their structured data, and close them when done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import NotFound
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
    reference: str | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> Opened:
    """The case of `request_id`: the one opened before, or a new one with an audit entry.

    `reference`: the case shares the reference of the record it stands for (an
    appointment `TE-…`); otherwise a new one is drawn for `reference_kind or kind`."""
    existing = by_request(session, request_id)
    if existing is not None:
        return _opened(existing, created=False)
    case = ServiceCase(
        reference=reference or new_reference(reference_kind or kind, reference_taken(session)),
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
                    detail={
                        "service_case": case.id,
                        "channel": channel,
                        "priority": priority,
                        **(audit_detail or {}),
                    },
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


# --- the agents' view: cases by type, one case in detail, closing -----------------------

#: the console's case types and the kinds each one shows
TYPES: dict[str, tuple[str, ...]] = {
    "fault": ("fault",),
    "complaint": ("complaint",),
    "appointment": ("appointment",),
    "move": ("move",),
    "payment": ("reconnection", "supply_block"),
    "tariff": ("tariff_switch",),
}
STATUSES = ("open", "closed")
MAX_LISTED = 200


def type_of(kind: str) -> str:
    return next((name for name, kinds in TYPES.items() if kind in kinds), kind)


@dataclass(frozen=True)
class CaseView:
    """A service case as agents see it: its structured data, not only a transcript."""

    reference: str
    kind: str
    status: str
    priority: bool
    data: dict[str, Any]
    language: str
    channel: str
    conversation_id: str
    handoff_case_id: str | None
    customer_number: str | None
    created_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kind": self.kind,
            "type": type_of(self.kind),
            "status": self.status,
            "priority": self.priority,
            "data": self.data,
            "language": self.language,
            "channel": self.channel,
            "handoff_case_id": self.handoff_case_id,
            "customer_number": self.customer_number,
            "created_at": self.created_at.isoformat() + "Z",
        }


def _case_view(case: ServiceCase) -> CaseView:
    return CaseView(
        case.reference,
        case.kind,
        case.status,
        bool(case.priority),
        dict(case.data or {}),
        case.language,
        case.channel,
        case.conversation_id,
        case.handoff_case_id,
        case.customer.customer_number if case.customer is not None else None,
        case.created_at,
    )


def list_cases(
    session: Session, *, case_type: str | None = None, status: str | None = "open"
) -> list[CaseView]:
    """Cases of one type (all when None), priority first, then the oldest first."""
    query = select(ServiceCase).options(selectinload(ServiceCase.customer))
    if case_type is not None:
        query = query.where(ServiceCase.kind.in_(TYPES.get(case_type, (case_type,))))
    if status is not None:
        query = query.where(ServiceCase.status == status)
    query = query.order_by(ServiceCase.priority.desc(), ServiceCase.created_at, ServiceCase.id)
    return [_case_view(case) for case in session.scalars(query.limit(MAX_LISTED))]


def _by_reference(session: Session, reference: str) -> ServiceCase:
    case = session.scalar(select(ServiceCase).where(ServiceCase.reference == reference))
    if case is None:
        raise NotFound(reference)
    return case


def case_detail(session: Session, reference: str) -> CaseView:
    return _case_view(_by_reference(session, reference))


def close_case(session: Session, reference: str, agent_id: int, note: str = "") -> CaseView:
    """An agent has dealt with the case; audited (closing twice changes nothing)."""
    case = _by_reference(session, reference)
    if case.status != "closed":
        case.status = "closed"
        session.add(
            AuditEntry(
                agent_id=agent_id,
                action="service_case_closed",
                case_id=case.handoff_case_id,
                detail={"service_case": case.id, "kind": case.kind, "note": note[:500]},
            )
        )
        session.flush()
    return _case_view(case)
