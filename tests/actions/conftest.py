"""Helpers for action tests: real rasa_sdk trackers, the real domain, a real database.

`make_tracker` builds the tracker state Rasa sends to the action server: all
domain slots (plus `requested_slot`), the latest message, and an event list
that ends with the customer's `user` event (metadata, parse data, channel).
`run` executes an action with a `CollectingDispatcher` and returns what the
customer sees (response names, rendered texts, buttons, custom payloads) and
the events the action returns. `clock` sets the moment a handoff sees as now,
and `assert_handed_off` checks that an action really handed the conversation
over (a stored case, the handoff payload, the pause).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import types
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import bot.infra.settings
from actions.common import NEXT_STEP
from bot.domain.models import AdvancePaymentChange, Contract, HandoffCase
from bot.domain.privacy import redact
from bot.domain.responses import response_text
from bot.infra import db
from bot.infra.db import session_scope
from tests.harness.servers import demo_database

ROOT = Path(__file__).resolve().parents[2]

# Demo customers (data/demo/customers.json) used throughout.
MUELLER = {"customer_number": "10000002", "postcode": "44137", "birth_date": "1975-03-12"}
YILMAZ = {"customer_number": "10000001", "postcode": "47051", "birth_date": "1980-04-12"}
MUELLER_ELECTRICITY, MUELLER_GAS = "30000002", "30000003"
YILMAZ_ELECTRICITY = "30000001"

# Moments for the hotline clock (people answer Mo-Sa 08:00-20:00).
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
SUNDAY = dt.datetime(2026, 11, 22, 10, 0, tzinfo=BERLIN)


@lru_cache(maxsize=1)
def _domain() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Domain.load(str(ROOT / "domain")).as_dict()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain as the action server receives it (a dict)."""
    return _domain()


@pytest.fixture(scope="session")
def _demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database made by `tests.harness.servers.demo_database` (migrated, demo data)."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    url = demo_database(path)
    db.get_engine(url).dispose()
    return path


@pytest.fixture
def database_url(
    _demo_database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Like `tests.conftest.database_url` (a fresh demo database, made the process
    default through DATABASE_URL), but copied from a template: importing the demo
    file for every test would cost a third of a second each."""
    path = tmp_path / "test.db"
    with (
        closing(sqlite3.connect(_demo_database)) as source,
        closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    yield url
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Default settings, and no way to reach the developer's database.

    Tests that need data use the `database_url` fixture (a fresh demo
    database); any other test that touches the database fails on an empty one.
    """
    monkeypatch.delenv("TIMEZONE", raising=False)
    monkeypatch.delenv("HANDOFF_WAIT_MINUTES", raising=False)
    monkeypatch.delenv("HOTLINE_HOURS", raising=False)  # the clock tests assume Mo-Sa 08-20
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    yield
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Set the moment a handoff sees as now (default: Monday 10:00, open).

    The settings' clock (`Settings.now`, `Settings.today`) reads `datetime.now`
    through `bot.infra.settings.dt`, which is replaced by a copy whose
    `datetime.now` returns a fixed moment (nothing of our code is replaced).
    """

    def set_now(moment: dt.datetime) -> None:
        class FrozenDateTime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return moment.astimezone(tz)

        frozen = types.SimpleNamespace(
            **{k: getattr(dt, k) for k in dir(dt) if not k.startswith("_")}
        )
        frozen.datetime = FrozenDateTime
        monkeypatch.setattr(bot.infra.settings, "dt", frozen)

    set_now(MONDAY_MORNING)
    return set_now


def user_event(
    text: str,
    intent: str | None = None,
    *,
    entities: Iterable[dict[str, Any]] = (),
    metadata: dict[str, Any] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    channel: str | None = "rest",
    timestamp: float | None = None,
) -> dict[str, Any]:
    """A `user` event as stored by Rasa (parse data, metadata, input channel)."""
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": list(entities),
        "intent_ranking": ranking or ([{"name": intent, "confidence": 1.0}] if intent else []),
        "message_id": uuid.uuid4().hex,
        "metadata": metadata or {},
    }
    return {
        "event": "user",
        "timestamp": timestamp if timestamp is not None else time.time(),
        "text": text,
        "parse_data": parse_data,
        "input_channel": channel,
        "message_id": parse_data["message_id"],
        "metadata": metadata or {},
    }


def bot_event(text: str, timestamp: float | None = None) -> dict[str, Any]:
    return {
        "event": "bot",
        "timestamp": timestamp if timestamp is not None else time.time(),
        "text": text,
        "data": {},
        "metadata": {},
    }


def make_tracker(
    text: str = "",
    intent: str | None = None,
    *,
    entities: Iterable[dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    language: str | None = "de",
    metadata: dict[str, Any] | None = None,
    history: Iterable[dict[str, Any]] = (),
    after: Iterable[dict[str, Any]] = (),
    active_loop: str | None = None,
    ranking: list[dict[str, Any]] | None = None,
    channel: str | None = "rest",
    sender_id: str | None = None,
) -> Tracker:
    """A tracker whose latest message is `text`; `after` are events Rasa added since
    (e.g. the slot candidates it passes to a form's validation at activation)."""
    all_slots: dict[str, Any] = {name: None for name in _domain()["slots"]}
    all_slots["requested_slot"] = None
    all_slots["language"] = language
    all_slots.update(slots or {})
    latest = user_event(
        text, intent, entities=entities, metadata=metadata, ranking=ranking, channel=channel
    )
    events = [
        {"event": "action", "timestamp": time.time(), "name": "action_session_start"},
        *history,
        latest,
        *after,
    ]
    return Tracker(
        sender_id=sender_id or f"test-{uuid.uuid4().hex[:12]}",
        slots=all_slots,
        latest_message=latest["parse_data"],
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": time.time(), "name": name, "value": value}


def eur(amount: str, language: str) -> str:
    """How a customer reads an amount: `1.043,27 €` (de) or `€1.043,27` (tr)."""
    whole, _, cents = f"{Decimal(amount):,.2f}".partition(".")
    number = whole.replace(",", ".") + "," + cents
    return f"{number}\xa0€" if language == "de" else f"€{number}"


def entity(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value, "extractor": "RegexEntityExtractor"}


@dataclass
class Outcome:
    """What an action did: messages to the customer and events for Rasa."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    texts: list[str] = field(default_factory=list)

    @property
    def responses(self) -> list[str]:
        return [m["response"] for m in self.messages if m.get("response")]

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [m["custom"] for m in self.messages if m.get("custom")]

    @property
    def slots(self) -> dict[str, Any]:
        """Slot values the events set (the last event for a slot wins).

        `next_action` is left out: it is the chaining step, see `followup`.
        """
        values = {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}
        values.pop(NEXT_STEP, None)
        return values

    @property
    def followup(self) -> str | None:
        """The step the dialogue rules run next (the last `next_action` set)."""
        steps = [
            e["value"]
            for e in self.events
            if e.get("event") == "slot" and e.get("name") == NEXT_STEP
        ]
        assert not any(e.get("event") == "followup" for e in self.events), "use next_action"
        return steps[-1] if steps else None

    def message(self, response: str) -> dict[str, Any]:
        return next(m for m in self.messages if m.get("response") == response)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def render(message: dict[str, Any], slots: dict[str, Any], domain: dict[str, Any]) -> str:
    """The text Rasa sends for a message: the variation for the language slot,
    filled with slot values and the message's own values."""
    if not message.get("response"):
        return message.get("text") or ""
    language = slots.get("language") or "de"
    template = response_text(domain["responses"], message["response"], language)
    skip = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
    values = {**slots, **{k: v for k, v in message.items() if k not in skip}}
    return interpolate_text(template, values)


async def run(action: Action, tracker: Tracker, domain: dict[str, Any]) -> Outcome:
    """Run `action` like the action server does and collect its effects."""
    dispatcher = CollectingDispatcher()
    slots_before = dict(tracker.slots)
    events = await action.run(dispatcher, tracker, domain)
    texts = [render(m, slots_before, domain) for m in dispatcher.messages]
    return Outcome(messages=dispatcher.messages, events=list(events), texts=texts)


def changes(url: str) -> list[AdvancePaymentChange]:
    with session_scope(url) as session:
        rows = session.scalars(select(AdvancePaymentChange).order_by(AdvancePaymentChange.id)).all()
        for row in rows:
            _ = row.contract.contract_number  # load before the session closes
        return list(rows)


def contract_amount(url: str, contract_number: str):
    with session_scope(url) as session:
        return session.scalar(
            select(Contract.advance_amount).where(Contract.contract_number == contract_number)
        )


def cases(url: str) -> list[HandoffCase]:
    with session_scope(url) as session:
        return list(session.scalars(select(HandoffCase).order_by(HandoffCase.id)).all())


PAUSE = {"event": "pause", "timestamp": None}


def handoff_slots(case: HandoffCase) -> dict[str, Any]:
    """The slots a handoff sets (see `Outcome.slots`)."""
    return {
        "requested_slot": None,
        "handoff_reason": None,
        "pending_request": None,
        "handoff_case": case.case_id,
    }


def assert_handed_off(
    outcome: Outcome,
    url: str,
    tracker: Tracker,
    *,
    reason: str,
    customer_number: str | None = None,
    agents_available: bool = True,
) -> HandoffCase:
    """Check that the action handed the conversation to a person; return the case.

    The case is stored for this conversation (reason, language, customer), the
    customer is told what happens next and the channel gets the handoff payload,
    the bot pauses and nothing else is chained.
    """
    language = tracker.get_slot("language")
    [case] = cases(url)
    assert (case.conversation_id, case.reason, case.language, case.status) == (
        tracker.sender_id,
        reason,
        language,
        "open",
    )
    assert case.customer_number == customer_number
    # what the customer typed, as an agent may read it (identity values masked)
    assert case.transcript[-1]["text"] == redact(tracker.latest_message["text"])

    # the handoff message, then the payload for the channel, last
    said = "utter_handoff_open" if agents_available else "utter_handoff_closed"
    assert outcome.responses[-1] == said
    assert case.case_id in outcome.texts[-2]
    payload = {
        "handoff": {
            "case_id": case.case_id,
            "reason": reason,
            "language": language,
            "agents_available": agents_available,
        }
    }
    assert outcome.payloads == [payload]
    assert outcome.messages[-1]["custom"] == payload

    assert {"event": "active_loop", "timestamp": None, "name": None} in outcome.events
    assert outcome.events[-1] == PAUSE
    assert outcome.slots["handoff_case"] == case.case_id
    assert outcome.slots["handoff_reason"] is None
    assert outcome.followup is None
    return case


def expected_effective_date(due_day: int, today: dt.date) -> dt.date:
    """The first due day at least five days after `today` (the utility's rule)."""
    earliest = today + dt.timedelta(days=5)
    first = earliest.replace(day=due_day)
    if first >= earliest:
        return first
    following = (earliest.replace(day=1) + dt.timedelta(days=32)).replace(day=due_day)
    return following
