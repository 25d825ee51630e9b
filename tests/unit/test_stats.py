"""Dashboard figures from Rasa's SQL tracker store and our handoff cases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine
from sqlalchemy.orm import Session

from bot.domain.models import HandoffCase
from bot.domain.services import handoff, stats
from bot.infra.db import get_engine

NOW = dt.datetime(2026, 3, 10, 12, 0)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)

_metadata = MetaData()
_events = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> float:
    """Epoch seconds of a UTC wall-clock time, as Rasa stores them."""
    return dt.datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc
    ).timestamp()


class TrackerStore:
    """A Rasa SQL tracker store file with an `events` table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, future=True)
        _metadata.create_all(self.engine)

    def add(
        self, sender: str, kind: str, timestamp: float, data: dict[str, Any], **columns: Any
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                _events.insert().values(
                    sender_id=sender,
                    type_name=kind,
                    timestamp=timestamp,
                    data=json.dumps({"event": kind, "timestamp": timestamp, **data}),
                    **columns,
                )
            )

    def user(
        self,
        sender: str,
        timestamp: float,
        intent: str = "greet",
        *,
        channel: str = "web",
        language: str = "de",
    ) -> None:
        """A customer message; web chat comes through the REST channel with metadata."""
        if channel == "web":
            data = {"input_channel": "rest", "metadata": {"channel": "web", "language": language}}
        elif channel == "voice":
            metadata = {"language": language, "channel": "voice", "caller": "+4915112345678"}
            data = {"input_channel": "voice", "metadata": metadata}
        else:  # a client of the REST webhook that names no channel
            data = {"input_channel": channel, "metadata": {"language": language}}
        parse_data = {"intent": {"name": intent, "confidence": 0.93}, "entities": []}
        self.add(
            sender,
            "user",
            timestamp,
            {"text": "Hallo", "parse_data": parse_data, "message_id": "m1", **data},
            intent_name=intent,
        )

    def slot(self, sender: str, timestamp: float, name: str, value: Any) -> None:
        self.add(sender, "slot", timestamp, {"name": name, "value": value})

    def action(self, sender: str, timestamp: float, name: str) -> None:
        self.add(sender, "action", timestamp, {"name": name}, action_name=name)

    def bot(self, sender: str, timestamp: float) -> None:
        self.add(sender, "bot", timestamp, {"text": "Guten Tag!"})


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "utcnow", lambda: NOW)


@pytest.fixture
def tracker(tmp_path: Path, database_url: str) -> Iterator[TrackerStore]:
    store = TrackerStore(f"sqlite:///{tmp_path / 'tracker.db'}")
    yield store
    store.engine.dispose()
    get_engine(store.url).dispose()


def make_case(
    session: Session,
    conversation_id: str,
    *,
    reason: str = "customer_request",
    created: dt.datetime = NOW - dt.timedelta(hours=1),
    wait: dt.timedelta | None = None,
) -> HandoffCase:
    info = handoff.open_case(
        session,
        conversation_id=conversation_id,
        reason=reason,
        language="de",
        channel="web",
        customer_number=None,
        transcript=[],
    )
    case = handoff.get_case(session, info.case_id)
    case.created_at = created
    if wait is not None:
        case.status = "claimed"
        case.claimed_at = created + wait
    session.flush()
    return case


def dashboard(session: Session, tracker: TrackerStore, days: int = 14) -> dict[str, Any]:
    return stats.dashboard(session, get_engine(tracker.url), days=days)


def day(figures: dict[str, Any], date: dt.date) -> dict[str, Any]:
    return next(entry for entry in figures["days"] if entry["date"] == date.isoformat())


# conversations per day, channel and language


def test_days_cover_the_window_up_to_today(session: Session, tracker: TrackerStore) -> None:
    figures = dashboard(session, tracker, days=14)
    dates = [entry["date"] for entry in figures["days"]]
    assert len(dates) == 14
    assert dates[0] == (TODAY - dt.timedelta(days=13)).isoformat()
    assert dates[-1] == TODAY.isoformat()


def test_conversations_are_counted_per_day_by_channel(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.user("web-a", at(TODAY, 9), channel="web")
    tracker.user("web-a", at(TODAY, 9, 1), "request_human", channel="web")
    tracker.user("CA-voice", at(TODAY, 10), channel="voice")
    tracker.user("web-b", at(YESTERDAY, 15), channel="web")
    tracker.user("api-c", at(YESTERDAY, 16), channel="rest")

    figures = dashboard(session, tracker)

    assert figures["conversations"] == 4
    assert day(figures, TODAY)["by_channel"] == {"web": 1, "voice": 1, "rest": 0}
    assert day(figures, YESTERDAY)["by_channel"] == {"web": 1, "voice": 0, "rest": 1}
    earlier = [entry for entry in figures["days"] if entry["date"] < YESTERDAY.isoformat()]
    assert all(sum(entry["by_channel"].values()) == 0 for entry in earlier)


def test_input_channel_counts_when_the_metadata_names_none(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.user("CA-1", at(TODAY), channel="voice")
    tracker.add(
        "CA-2",
        "user",
        at(TODAY),
        {"text": "Hallo", "input_channel": "voice", "metadata": None},
        intent_name="greet",
    )
    tracker.user("api-3", at(TODAY), channel="rest")
    assert day(dashboard(session, tracker), TODAY)["by_channel"] == {
        "web": 0,
        "voice": 2,
        "rest": 1,
    }


def test_unknown_channels_are_counted_as_rest(session: Session, tracker: TrackerStore) -> None:
    tracker.user("tg-1", at(TODAY), channel="telegram")
    assert day(dashboard(session, tracker), TODAY)["by_channel"] == {
        "web": 0,
        "voice": 0,
        "rest": 1,
    }


def test_conversation_counts_once_on_the_day_of_its_first_message(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.user("web-late", at(YESTERDAY, 23, 59))
    tracker.user("web-late", at(TODAY, 0, 5))

    figures = dashboard(session, tracker)

    assert figures["conversations"] == 1
    assert day(figures, YESTERDAY)["by_channel"]["web"] == 1
    assert day(figures, TODAY)["by_channel"]["web"] == 0


def test_events_before_the_window_are_not_counted(session: Session, tracker: TrackerStore) -> None:
    first_day = TODAY - dt.timedelta(days=13)
    tracker.user("web-old", at(first_day - dt.timedelta(days=1), 23, 59))
    tracker.user("web-first", at(first_day, 0, 0))

    figures = dashboard(session, tracker)

    assert figures["conversations"] == 1
    assert day(figures, first_day)["by_channel"]["web"] == 1


def test_conversations_without_customer_messages_are_not_counted(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.action("web-silent", at(TODAY), "action_session_start")
    tracker.slot("web-silent", at(TODAY), "language", "tr")
    tracker.action("web-silent", at(TODAY), "action_listen")
    tracker.bot("web-silent", at(TODAY))

    assert dashboard(session, tracker)["conversations"] == 0


def test_language_comes_from_the_language_slot(session: Session, tracker: TrackerStore) -> None:
    tracker.user("web-tr", at(TODAY, 9), language="tr")
    tracker.slot("web-tr", at(TODAY, 9), "language", "tr")
    tracker.user("web-de", at(TODAY, 10))
    tracker.slot("web-de", at(TODAY, 10), "language", "de")
    tracker.user("CA-no-slot", at(TODAY, 11), channel="voice")

    assert day(dashboard(session, tracker), TODAY)["by_language"] == {"de": 2, "tr": 1}


def test_last_language_of_a_conversation_counts(session: Session, tracker: TrackerStore) -> None:
    tracker.user("web-switch", at(TODAY, 9))
    tracker.slot("web-switch", at(TODAY, 9), "language", "de")
    tracker.user("web-switch", at(TODAY, 9, 1), "switch_language")
    tracker.slot("web-switch", at(TODAY, 9, 1), "language", "tr")

    assert day(dashboard(session, tracker), TODAY)["by_language"] == {"de": 0, "tr": 1}


def test_other_slots_and_unsupported_languages_are_ignored(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.user("web-1", at(TODAY))
    tracker.slot("web-1", at(TODAY), "language", "tr")
    tracker.slot("web-1", at(TODAY), "language", "en")
    tracker.slot("web-1", at(TODAY), "customer_number", "10000001")

    assert day(dashboard(session, tracker), TODAY)["by_language"] == {"de": 0, "tr": 1}


def test_language_chosen_before_the_first_message_counts(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.action("web-early", at(TODAY, 9), "action_session_start")
    tracker.slot("web-early", at(TODAY, 9), "language", "tr")
    tracker.user("web-early", at(TODAY, 9, 1), language="tr")

    assert day(dashboard(session, tracker), TODAY)["by_language"] == {"de": 0, "tr": 1}


# containment, handoffs and waiting times


def test_containment_is_the_share_of_conversations_without_handoff(
    session: Session, tracker: TrackerStore
) -> None:
    for sender in ("web-1", "web-2", "web-3", "CA-4"):
        tracker.user(sender, at(TODAY), channel="voice" if sender.startswith("CA") else "web")
    make_case(session, "web-2")
    make_case(session, "web-not-in-tracker")

    assert dashboard(session, tracker)["containment"] == 0.75


def test_conversation_handed_off_twice_counts_once_against_containment(
    session: Session, tracker: TrackerStore
) -> None:
    tracker.user("web-1", at(TODAY))
    tracker.user("web-2", at(TODAY))
    first = make_case(session, "web-1")
    first.status = "returned"
    session.flush()
    make_case(session, "web-1", reason="upset")

    assert dashboard(session, tracker)["containment"] == 0.5


def test_containment_is_rounded_to_three_places(session: Session, tracker: TrackerStore) -> None:
    for sender in ("web-1", "web-2", "web-3"):
        tracker.user(sender, at(TODAY))
    make_case(session, "web-1")
    assert dashboard(session, tracker)["containment"] == 0.667


def test_containment_per_request_and_channel(session: Session, tracker: TrackerStore) -> None:
    # meter readings: two web chats (one handed off) and one call, all contained but one
    tracker.user("web-m1", at(TODAY, 9), "greet")
    tracker.user("web-m1", at(TODAY, 9, 1), "submit_meter_reading")
    tracker.user("web-m1", at(TODAY, 9, 2), "request_human")
    make_case(session, "web-m1")
    tracker.user("web-m2", at(TODAY, 10), "submit_meter_reading")
    tracker.user("CA-m3", at(TODAY, 11), "submit_meter_reading", channel="voice")
    # a bill question over REST, a greeting only
    tracker.user("rest-b1", at(TODAY, 12), "ask_bill", channel="rest")
    tracker.user("web-hi", at(TODAY, 13), "greet")

    rows = {row["intent"]: row for row in dashboard(session, tracker)["containment_by_intent"]}
    meter = rows["submit_meter_reading"]
    assert (meter["conversations"], meter["contained"], meter["share"]) == (3, 2, 0.667)
    assert meter["by_channel"]["web"] == {"conversations": 2, "contained": 1, "share": 0.5}
    assert meter["by_channel"]["voice"] == {"conversations": 1, "contained": 1, "share": 1.0}
    assert meter["by_channel"]["rest"] == {"conversations": 0, "contained": 0, "share": None}
    assert rows["ask_bill"]["by_channel"]["rest"]["share"] == 1.0
    assert rows["none"]["conversations"] == 1
    assert list(rows)[0] == "submit_meter_reading"  # most frequent first


def test_no_conversations_means_no_containment_figure(
    session: Session, tracker: TrackerStore
) -> None:
    figures = dashboard(session, tracker)
    assert (figures["conversations"], figures["containment"]) == (0, None)


def test_handoffs_are_counted_by_reason_most_common_first(
    session: Session, tracker: TrackerStore
) -> None:
    make_case(session, "web-1", reason="upset")
    make_case(session, "web-2", reason="customer_request")
    make_case(session, "web-3", reason="customer_request")
    make_case(session, "web-old", reason="identity_failed", created=NOW - dt.timedelta(days=30))

    by_reason = dashboard(session, tracker)["handoffs_by_reason"]

    assert by_reason == {"customer_request": 2, "upset": 1}
    assert list(by_reason) == ["customer_request", "upset"]


def test_average_wait_is_from_creation_to_claim(session: Session, tracker: TrackerStore) -> None:
    make_case(session, "web-1", wait=dt.timedelta(seconds=60))
    make_case(session, "web-2", wait=dt.timedelta(seconds=125))
    make_case(session, "web-3")  # still waiting: no wait figure yet

    assert dashboard(session, tracker)["average_wait_seconds"] == 92.5


def test_no_claimed_case_means_no_average_wait(session: Session, tracker: TrackerStore) -> None:
    make_case(session, "web-1")
    assert dashboard(session, tracker)["average_wait_seconds"] is None


# intents


def test_top_intents_leave_out_nlu_fallback(session: Session, tracker: TrackerStore) -> None:
    tracker.user("web-1", at(TODAY, 9), "greet")
    tracker.user("web-1", at(TODAY, 9, 1), "nlu_fallback")
    tracker.user("web-1", at(TODAY, 9, 2), "nlu_fallback")
    tracker.user("web-1", at(TODAY, 9, 3), "change_advance_payment")
    tracker.user("web-2", at(TODAY, 10), "change_advance_payment")
    tracker.user("CA-3", at(TODAY, 11), "change_advance_payment", channel="voice")
    tracker.user("CA-3", at(TODAY, 11, 1), "request_human", channel="voice")
    tracker.user("CA-3", at(TODAY, 11, 2), "request_human", channel="voice")

    assert dashboard(session, tracker)["top_intents"] == [
        ["change_advance_payment", 3],
        ["request_human", 2],
        ["greet", 1],
    ]


def test_top_intents_are_at_most_ten(session: Session, tracker: TrackerStore) -> None:
    for number in range(12):
        for repeat in range(number + 1):
            tracker.user("web-1", at(TODAY, 9, repeat), f"intent_{number:02d}")

    top = dashboard(session, tracker)["top_intents"]

    assert [name for name, _ in top] == [f"intent_{n:02d}" for n in range(11, 1, -1)]


# a tracker store Rasa has not set up yet


def test_missing_events_table_gives_zero_conversations(
    session: Session, tmp_path: Path, database_url: str
) -> None:
    url = f"sqlite:///{tmp_path / 'empty-tracker.db'}"
    make_case(session, "web-1", reason="upset", wait=dt.timedelta(seconds=30))
    try:
        figures = stats.dashboard(session, get_engine(url))
    finally:
        get_engine(url).dispose()

    assert (figures["conversations"], figures["containment"], figures["top_intents"]) == (
        0,
        None,
        [],
    )
    assert all(sum(entry["by_channel"].values()) == 0 for entry in figures["days"])
    assert figures["handoffs_by_reason"] == {"upset": 1}
    assert figures["average_wait_seconds"] == 30.0
