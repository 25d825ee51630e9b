"""Complaints: stored as a case with the customer's words and a category, answered in time.

A complaint is a service case of kind `complaint` (reference `BS-…`): the
category, the complaint in the customer's own words, how to reach them for
the answer, and whether they were angry and why. The back office answers
within COMPLAINT_ANSWER_WORKING_DAYS working days (settings); agents find
complaints in the console under their category. Earlier complaints of the
same customer or conversation count as a sign of anger (`earlier_complaints`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain.complaint_answers import CATEGORIES
from bot.domain.models import Customer, ServiceCase
from bot.domain.services.service_cases import Opened, open_once

KIND = "complaint"
UTC = dt.timezone.utc
MAX_TEXT = 2000
#: earlier complaints of a customer count for this long
REPEAT_WINDOW = dt.timedelta(days=90)


def earlier_complaints(
    session: Session, conversation_id: str, customer_number: str | None, now: dt.datetime
) -> int:
    """Complaints of this conversation, or of the verified customer in the last 90 days."""
    conditions = [ServiceCase.conversation_id == conversation_id]
    if customer_number:
        customer = select(Customer.id).where(Customer.customer_number == customer_number)
        conditions.append(
            (ServiceCase.customer_id.in_(customer))
            & (ServiceCase.created_at >= now - REPEAT_WINDOW)
        )
    query = select(func.count()).where(ServiceCase.kind == KIND, or_(*conditions))
    return int(session.scalar(query) or 0)


def open_complaint(
    session: Session,
    *,
    category: str,
    text: str,
    contact: str | None,
    anger: list[str],
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    customer_number: str | None = None,
) -> Opened:
    """The complaint case of `request_id` (opened once)."""
    if category not in CATEGORIES:
        category = "other"
    customer_id = None
    if customer_number:
        customer_id = session.scalar(
            select(Customer.id).where(Customer.customer_number == customer_number)
        )
    data: dict[str, Any] = {
        "category": category,
        "text": " ".join(text.split())[:MAX_TEXT],
        "contact": contact,
        "angry": bool(anger),
        "anger": anger,
    }
    return open_once(
        session,
        kind=KIND,
        request_id=request_id,
        data=data,
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="complaint_received",
        customer_id=customer_id,
        priority=bool(anger),
    )


def link_handoff(session: Session, request_id: str, handoff_case_id: str) -> None:
    """Name the handoff case of an angry customer's complaint."""
    case = session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))
    if case is not None:
        case.handoff_case_id = handoff_case_id
        session.flush()
