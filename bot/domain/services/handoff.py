"""Handoff cases: a conversation handed to a person, and what the customer is told.

A case holds the conversation's transcript (bot/domain/transcript.py) so the
agent sees what was said; the customer is told how long the wait is while
the hotline is staffed (bot/domain/hotline.py), else when it opens again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.hotline import HotlineHours
from bot.domain.languages import locale_for
from bot.domain.models import HandoffCase

# The bot could not serve the customer (its action server failed), so a
# channel opened the case itself.
TECHNICAL_PROBLEM = "technical_problem"
REASONS = (
    "customer_request",
    "repeated_fallback",
    "identity_failed",
    "reduction_rejected",
    "upset",
    "service_request",
    TECHNICAL_PROBLEM,
)


@dataclass(frozen=True)
class CaseInfo:
    case_id: str
    reason: str
    language: str
    created: bool


def _new_case_id() -> str:
    return "H-" + secrets.token_hex(4).upper()


def open_case(
    session: Session,
    *,
    conversation_id: str,
    reason: str,
    language: str,
    channel: str,
    customer_number: str | None,
    transcript: list[dict[str, Any]],
) -> CaseInfo:
    """Store a handoff case; an open case of the same conversation is reused."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    case = session.scalar(
        select(HandoffCase).where(
            HandoffCase.conversation_id == conversation_id,
            HandoffCase.status == "open",
        )
    )
    if case is not None:
        case.transcript = transcript
        case.customer_number = case.customer_number or customer_number
        session.flush()
        return CaseInfo(case.case_id, case.reason, case.language, created=False)
    case = HandoffCase(
        case_id=_new_case_id(),
        conversation_id=conversation_id,
        reason=reason,
        language=language,
        channel=channel,
        customer_number=customer_number,
        transcript=transcript,
        status="open",
    )
    session.add(case)
    session.flush()
    return CaseInfo(case.case_id, reason, language, created=True)


def get_case(session: Session, case_id: str) -> HandoffCase | None:
    return session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))


@dataclass(frozen=True)
class WhatNext:
    """What the customer is told after a handoff: a response of the domain and its values."""

    response: str
    values: dict[str, Any]
    agents_available: bool  # whether a person can take over now


def what_next(
    case_id: str, language: str, *, hours: HotlineHours, wait_minutes: int, now: dt.datetime
) -> WhatNext:
    """The wait while the hotline is staffed, else when it opens again (`now` is local time)."""
    if hours.is_open(now):
        values = {"case_id": case_id, "minutes": wait_minutes}
        return WhatNext("utter_handoff_open", values, agents_available=True)
    opening = format_datetime(hours.next_opening(now), "EEEE, HH:mm", locale=locale_for(language))
    return WhatNext(
        "utter_handoff_closed", {"case_id": case_id, "opening": opening}, agents_available=False
    )
