"""Figures for the dashboard: conversations, containment, handoffs, intents, waits.

Conversations of every channel pass through Rasa, so they are counted from
Rasa's SQL tracker store (its documented `events` table: one row per event
with sender, type, timestamp, intent and the event as JSON). Handoffs and
waiting times come from our own handoff cases.

For `/metrics`, what happens is counted when it happens (`count`: a row per
metric and label values, in the same transaction), and what is going on now
(the queue, calls in progress) through indexes; a scrape never reads a whole
table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.domain.languages import LANGUAGES
from bot.domain.models import HandoffCase, MetricCounter, PhoneCall, utcnow
from bot.domain.services.tracker_events import EVENTS

CHANNELS = ("web", "voice", "rest")
#: Intents that are not a reason to contact the Stadtwerk (a conversation's
#: request is its first intent outside these).
NOT_A_REQUEST = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform",
        "bot_challenge",
        "switch_language",
        "nlu_fallback",
    }
)
NO_REQUEST = "none"
CALL_MAX_HOURS = 2  # a call "in progress" longer than this lost its status callback
_events = EVENTS  # Rasa's SQL tracker store (read only here)


def events_table() -> Table:
    """Rasa's tracker store table of events, for read-only queries."""
    return _events


def channel_of(input_channel: str | None, metadata: Any) -> str:
    """A conversation's channel: what its metadata names, else the channel it came in by."""
    named = metadata.get("channel") if isinstance(metadata, dict) else None
    channel = named or input_channel or "rest"
    return channel if channel in CHANNELS else "rest"


def _channel(data: dict[str, Any]) -> str:
    return channel_of(data.get("input_channel"), data.get("metadata"))


def _conversations(tracker_store: Engine, since: dt.datetime) -> dict[str, dict[str, Any]]:
    """Per conversation: first day, channel, language, and the intents it had."""
    conversations: dict[str, dict[str, Any]] = {}
    query = (
        select(
            _events.c.sender_id,
            _events.c.type_name,
            _events.c.timestamp,
            _events.c.intent_name,
            _events.c.data,
        )
        .where(
            _events.c.timestamp >= since.replace(tzinfo=dt.timezone.utc).timestamp(),
            _events.c.type_name.in_(("user", "slot")),
        )
        .order_by(_events.c.id)
    )
    try:
        with tracker_store.connect() as connection:
            rows = connection.execute(query).all()
    except DBAPIError:  # Rasa has not created its table yet: no conversations
        return conversations
    languages: dict[str, str] = {}  # the language slot, set before or during the chat
    for sender, kind, timestamp, intent, raw in rows:
        data = json.loads(raw or "{}")
        if kind == "user":
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            entry = conversations.setdefault(
                sender,
                {
                    "day": dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date(),
                    "channel": _channel(data),
                    "language": metadata.get("language"),
                    "intents": [],
                },
            )
            if intent:
                entry["intents"].append(intent)
        elif data.get("name") == "language" and data.get("value") in LANGUAGES:
            languages[sender] = data["value"]
    for sender, entry in conversations.items():
        language = languages.get(sender, entry["language"])
        entry["language"] = language if language in LANGUAGES else None
    return conversations


def dashboard(session: Session, tracker_store: Engine, days: int = 14) -> dict[str, Any]:
    """The dashboard's figures for the last `days` days (`tracker_store`: Rasa's database)."""
    today = utcnow().date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time.min)
    conversations = _conversations(tracker_store, since)

    by_day: dict[dt.date, dict[str, Counter]] = defaultdict(
        lambda: {"by_channel": Counter(), "by_language": Counter()}
    )
    intents: Counter = Counter()
    for entry in conversations.values():
        by_day[entry["day"]]["by_channel"][entry["channel"]] += 1
        by_day[entry["day"]]["by_language"][entry["language"] or "de"] += 1
        intents.update(i for i in entry["intents"] if i != "nlu_fallback")

    cases = session.scalars(select(HandoffCase).where(HandoffCase.created_at >= since)).all()
    handed_off = {case.conversation_id for case in cases}
    waits = [
        (case.claimed_at - case.created_at).total_seconds()
        for case in cases
        if case.claimed_at is not None
    ]
    total = len(conversations)
    return {
        "containment_by_intent": _containment_by_intent(conversations, handed_off),
        "days": [
            {
                "date": (first + dt.timedelta(days=offset)).isoformat(),
                "by_channel": {
                    c: by_day[first + dt.timedelta(days=offset)]["by_channel"][c] for c in CHANNELS
                },
                "by_language": {
                    lang: by_day[first + dt.timedelta(days=offset)]["by_language"][lang]
                    for lang in LANGUAGES
                },
            }
            for offset in range(days)
        ],
        "conversations": total,
        "containment": round(1 - len(handed_off & conversations.keys()) / total, 3)
        if total
        else None,
        "handoffs_by_reason": dict(Counter(case.reason for case in cases).most_common()),
        "top_intents": [[name, count] for name, count in intents.most_common(10)],
        "average_wait_seconds": round(sum(waits) / len(waits), 1) if waits else None,
    }


def _share(contained: int, total: int) -> float | None:
    return round(contained / total, 3) if total else None


def _containment_by_intent(
    conversations: dict[str, dict[str, Any]], handed_off: set[str]
) -> list[dict[str, Any]]:
    """Per request (a conversation's first real intent) and channel: how many
    conversations, how many ended without a person, and the share.

    Conversations with no request (only greetings, values, unclear messages)
    are counted under `none`. Most frequent requests first.
    """
    totals: dict[str, Counter] = defaultdict(Counter)
    contained: dict[str, Counter] = defaultdict(Counter)
    for sender, entry in conversations.items():
        request = next((i for i in entry["intents"] if i not in NOT_A_REQUEST), NO_REQUEST)
        totals[request][entry["channel"]] += 1
        if sender not in handed_off:
            contained[request][entry["channel"]] += 1
    rows = []
    for request, by_channel in totals.items():
        total, kept = sum(by_channel.values()), sum(contained[request].values())
        rows.append(
            {
                "intent": request,
                "conversations": total,
                "contained": kept,
                "share": _share(kept, total),
                "by_channel": {
                    channel: {
                        "conversations": by_channel[channel],
                        "contained": contained[request][channel],
                        "share": _share(contained[request][channel], by_channel[channel]),
                    }
                    for channel in CHANNELS
                },
            }
        )
    return sorted(rows, key=lambda row: (-row["conversations"], row["intent"]))


# --- for /metrics -------------------------------------------------------------------------


def count(session: Session, name: str, *labels: str) -> None:
    """One more `name` with these label values, in the caller's transaction."""
    joined = "|".join(labels)
    if _add_one(session, name, joined):
        return
    try:
        with session.begin_nested():
            session.add(MetricCounter(name=name, labels=joined, value=1))
    except IntegrityError:  # another transaction made the row first
        _add_one(session, name, joined)


def _add_one(session: Session, name: str, labels: str) -> bool:
    added = session.execute(
        update(MetricCounter)
        .where(MetricCounter.name == name, MetricCounter.labels == labels)
        .values(value=MetricCounter.value + 1)
        .execution_options(synchronize_session=False)
    )
    return added.rowcount == 1


def counted(session: Session) -> dict[str, dict[tuple[str, ...], int]]:
    """Every counter: name → label values → how often (a few rows, one per combination)."""
    found: dict[str, dict[tuple[str, ...], int]] = defaultdict(dict)
    rows = session.execute(select(MetricCounter.name, MetricCounter.labels, MetricCounter.value))
    for name, labels, value in rows:
        found[name][tuple(labels.split("|")) if labels else ()] = value
    return found


def queue_now(session: Session) -> dict[str, int]:
    """Cases waiting (`open`) and taken (`claimed`) now, through the status index."""
    rows = session.execute(
        select(HandoffCase.status, func.count())
        .where(HandoffCase.status.in_(("open", "claimed")))
        .group_by(HandoffCase.status)
    )
    return dict(rows.all())


def oldest_waiting(session: Session) -> dt.datetime | None:
    """When the longest-waiting open case was opened, through the status index."""
    return session.scalar(
        select(func.min(HandoffCase.created_at)).where(HandoffCase.status == "open")
    )


def calls_now(session: Session) -> int:
    """Phone calls in progress now, through the status index."""
    return session.scalar(
        select(func.count())
        .select_from(PhoneCall)
        .where(
            PhoneCall.status == "in-progress",
            PhoneCall.started_at > utcnow() - dt.timedelta(hours=CALL_MAX_HOURS),
        )
    )
