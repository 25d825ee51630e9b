"""Handoff cases per source (bot/domain/services/handoff.py), on a real SQLite database."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.hotline import HotlineHours
from bot.domain.models import HandoffCase, HandoffSource
from bot.domain.services import handoff

SOURCE = "rest:198.51.100.7"
KEY = b"unit-test-pseudonym-key-0123456789"


def open_from(session: Session, source: str | None, conversation: str | None = None) -> str:
    case = handoff.open_case(
        session,
        conversation_id=conversation or f"conv-{secrets.token_hex(4)}",
        reason="customer_request",
        language="de",
        channel="rest",
        customer_number=None,
        transcript=[],
        limit=handoff.SourceLimit(source, 2, KEY) if source else None,
    )
    return case.case_id


def row(session: Session, case_id: str) -> HandoffCase:
    return session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))


def test_a_source_gets_its_share_then_no_more(session: Session) -> None:
    open_from(session, SOURCE), open_from(session, SOURCE)
    with pytest.raises(handoff.TooManyCases):
        open_from(session, SOURCE)
    open_from(session, "rest:198.51.100.8")  # another source is not touched


def test_asking_again_in_the_same_conversation_reuses_the_case(session: Session) -> None:
    first = open_from(session, SOURCE, "conv-same")
    open_from(session, SOURCE)
    assert open_from(session, SOURCE, "conv-same") == first


def test_cases_done_more_than_an_hour_ago_no_longer_count(session: Session) -> None:
    old = [open_from(session, SOURCE), open_from(session, SOURCE)]
    for case_id in old:
        row(session, case_id).created_at -= dt.timedelta(hours=2)
    row(session, old[0]).status = "closed"
    session.flush()
    open_from(session, SOURCE)  # the closed one is forgotten
    with pytest.raises(handoff.TooManyCases):
        open_from(session, SOURCE)  # the one still in the queue counts


def test_without_a_source_nothing_is_limited(session: Session) -> None:
    for _ in range(5):
        open_from(session, None)


def test_the_source_is_stored_only_as_a_digest(session: Session) -> None:
    case_id = open_from(session, SOURCE)
    stored = [row(session, case_id).source_key, *session.scalars(select(HandoffSource.key))]
    assert stored[0] == stored[1] and "198.51" not in stored[0]


def test_a_refused_customer_hears_when_people_answer() -> None:
    hours = HotlineHours.parse("Mo-Fr 08:00-18:00")
    monday_noon = dt.datetime(2026, 3, 2, 12, 0)
    saturday = dt.datetime(2026, 3, 7, 12, 0)
    assert handoff.when_refused("de", hours=hours, now=monday_noon).response == (
        "utter_handoff_limit_open"
    )
    closed = handoff.when_refused("tr", hours=hours, now=saturday)
    assert closed.response == "utter_handoff_limit_closed"
    assert closed.values["opening"].endswith("08:00")
