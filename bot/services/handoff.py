"""Handoff cases: a conversation handed to a person, with its whole transcript."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import i18n
from bot.models import HandoffCase
from bot.settings import Settings

# The bot could not serve the customer (its action server failed): the reason
# of the case a channel then opens itself, and the marker on the bot's apology.
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


_DAYS = ["mo", "di", "mi", "do", "fr", "sa", "so"]
_HOURS = re.compile(
    r"(?P<first>\w\w)\s*-\s*(?P<last>\w\w)\s+"
    r"(?P<oh>\d{1,2}):(?P<om>\d{2})\s*-\s*(?P<ch>\d{1,2}):(?P<cm>\d{2})"
)


@dataclass(frozen=True)
class HotlineHours:
    """When people answer: weekdays (0 = Monday) and opening hours."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(20, 0)

    @classmethod
    def parse(cls, text: str) -> HotlineHours:
        """Hours as operators write them: `Mo-Sa 08:00-20:00`, `Mo-So 00:00-24:00`."""
        match = _HOURS.fullmatch(text.strip().lower())
        if not match or match["first"] not in _DAYS or match["last"] not in _DAYS:
            raise ValueError(f"hotline hours must look like 'Mo-Sa 08:00-20:00', got {text!r}")
        first, last = _DAYS.index(match["first"]), _DAYS.index(match["last"])
        opens = dt.time(int(match["oh"]), int(match["om"]))
        closes = (
            dt.time.max
            if (match["ch"], match["cm"]) == ("24", "00")
            else dt.time(int(match["ch"]), int(match["cm"]))
        )
        return cls(tuple(range(first, last + 1)), opens, closes)

    def is_open(self, now: dt.datetime) -> bool:
        return now.weekday() in self.days and self.opens <= now.time() < self.closes

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        """The next moment people answer (now, if open)."""
        if self.is_open(now):
            return now
        day = now.date()
        if now.weekday() in self.days and now.time() < self.opens:
            return dt.datetime.combine(day, self.opens, now.tzinfo)
        for offset in range(1, 8):
            candidate = day + dt.timedelta(days=offset)
            if candidate.weekday() in self.days:
                return dt.datetime.combine(candidate, self.opens, now.tzinfo)
        raise ValueError("hotline hours have no open day")


def transcript(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the customer and the bot said, in order, from a conversation's Rasa events."""
    lines: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        timestamp = event.get("timestamp")
        line = {
            "from": "customer" if kind == "user" else "bot",
            "text": text,
            "time": dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(
                timespec="seconds"
            )
            if timestamp
            else None,
        }
        if kind == "user":
            line["intent"] = (event.get("parse_data") or {}).get("intent", {}).get("name")
        lines.append(line)
    return lines


@dataclass(frozen=True)
class WhatNext:
    """What the customer is told after a handoff: a response of the domain and its values."""

    response: str
    values: dict[str, Any]
    agents_available: bool  # whether a person can take over now


def what_next(
    settings: Settings, case_id: str, language: str, now: dt.datetime | None = None
) -> WhatNext:
    """The wait while the hotline is staffed, else when it opens again."""
    hours = HotlineHours.parse(settings.hotline_hours)
    now = now or dt.datetime.now(ZoneInfo(settings.timezone))
    if hours.is_open(now):
        values = {"case_id": case_id, "minutes": settings.handoff_wait_minutes}
        return WhatNext("utter_handoff_open", values, agents_available=True)
    opening = format_datetime(
        hours.next_opening(now), "EEEE, HH:mm", locale=i18n.locale_for(language)
    )
    return WhatNext(
        "utter_handoff_closed", {"case_id": case_id, "opening": opening}, agents_available=False
    )
