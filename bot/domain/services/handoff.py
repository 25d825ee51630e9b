"""Handoff cases: a conversation handed to a person, and what the customer is told.

A case holds the conversation's transcript (bot/domain/transcript.py) so the
agent sees what was said; the customer is told how long the wait is while
the hotline is staffed (bot/domain/hotline.py), else when it opens again.

One source (a client address, a caller's number, as the channel names it)
opens at most a few cases an hour, across conversations and channels: its
cases of the last hour and those still in the queue are counted in the
database, so a flood of new conversations cannot fill the agents' queue.
Sources are stored only as keyed digests (`bot/domain/privacy.py`,
`PSEUDONYM_KEY`), which cannot be traced back to an address or number.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_datetime
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError
from bot.domain.hotline import HotlineHours
from bot.domain.languages import locale_for
from bot.domain.models import HandoffCase, HandoffSource, utcnow
from bot.domain.privacy import pseudonymous_key
from bot.domain.services import stats
from bot.domain.services.agent_queue import ACTIVE  # in the agents' queue

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
    # self-service flows that need a person (issue 13)
    "implausible_reading",
    "payment_arrangement",
    "supply_block",
    "reconnection",
    "move",
    TECHNICAL_PROBLEM,
)
SOURCE_WINDOW = dt.timedelta(hours=1)


class TooManyCases(DomainError):
    """This source has opened its cases for now; no new one is opened."""


@dataclass(frozen=True)
class SourceLimit:
    """At most `per_hour` cases from `source` (its cases of the last hour and those still open).

    The source is stored as its keyed digest under `pseudonym_key` (`PSEUDONYM_KEY`).
    """

    source: str
    per_hour: int
    pseudonym_key: bytes = field(repr=False)


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
    limit: SourceLimit | None = None,
    priority: bool = False,
) -> CaseInfo:
    """Store a handoff case; an open case of the same conversation is reused.

    With a `limit`, a new case is refused (`TooManyCases`) once its source has
    opened its share; the case that is reused never counts. A `priority`
    case (a supply block, a reconnection) is taken before the others.
    """
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
        case.priority = case.priority or priority
        session.flush()
        return CaseInfo(case.case_id, case.reason, case.language, created=False)
    source_key = _admit(session, limit) if limit is not None else None
    case = HandoffCase(
        case_id=_new_case_id(),
        conversation_id=conversation_id,
        reason=reason,
        language=language,
        channel=channel,
        customer_number=customer_number,
        transcript=transcript,
        status="open",
        source_key=source_key,
        priority=priority,
    )
    session.add(case)
    session.flush()
    stats.count(session, "handoffs", channel, reason)  # for /metrics
    return CaseInfo(case.case_id, reason, language, created=True)


def _admit(session: Session, limit: SourceLimit) -> str:
    """The source's key if it may open one more case now (TooManyCases otherwise).

    The source's row is updated first: that locks it (PostgreSQL's row lock,
    SQLite's write lock) until the transaction ends, so parallel openings of
    one source are counted one after the other, never both below the limit.
    """
    key = _source_key(limit)
    now = utcnow()
    if not _touch(session, key, now):
        try:
            with session.begin_nested():
                session.add(HandoffSource(key=key, last_case_at=now))
        except IntegrityError:  # another transaction made it first: wait for it
            _touch(session, key, now)
    cases = session.scalar(
        select(func.count())
        .select_from(HandoffCase)
        .where(
            HandoffCase.source_key == key,
            or_(HandoffCase.created_at > now - SOURCE_WINDOW, HandoffCase.status.in_(ACTIVE)),
        )
    )
    if cases >= limit.per_hour:
        raise TooManyCases(key)
    return key


def _touch(session: Session, key: str, now: dt.datetime) -> bool:
    """Lock the source's row for this transaction; False if it has none yet."""
    touched = session.execute(
        update(HandoffSource)
        .where(HandoffSource.key == key)
        .values(last_case_at=now)
        .execution_options(synchronize_session=False)
    )
    return touched.rowcount == 1


def _source_key(limit: SourceLimit) -> str:
    """A source as stored: a keyed digest, never the address or number itself."""
    return pseudonymous_key("handoff-source", limit.source, limit.pseudonym_key)


def get_case(session: Session, case_id: str) -> HandoffCase | None:
    return session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))


@dataclass(frozen=True)
class WhatNext:
    """What the customer is told after a handoff: a response of the domain and its values."""

    response: str
    values: dict[str, Any]
    agents_available: bool  # whether a person can take over now


def when_refused(language: str, *, hours: HotlineHours, now: dt.datetime) -> WhatNext:
    """What a source over its limit is told: its case waits; when people answer (local `now`)."""
    if hours.is_open(now):
        return WhatNext("utter_handoff_limit_open", {}, agents_available=True)
    opening = format_datetime(hours.next_opening(now), "EEEE, HH:mm", locale=locale_for(language))
    return WhatNext("utter_handoff_limit_closed", {"opening": opening}, agents_available=False)


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
