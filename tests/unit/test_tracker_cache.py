"""Conversations kept in memory between turns (bot.rasa_runtime.tracker_cache) are only
used while the database holds exactly their events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from bot.rasa_runtime import event_writes
from bot.rasa_runtime.tracker_cache import TrackerCache

SENDER = "cache-test"


@pytest.fixture
def store(tmp_path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))


def conversation(*texts: str) -> DialogueStateTracker:
    """A conversation as a read from the store gives it (from its session start on)."""
    events = [SessionStarted()]
    for said in texts:
        events += [ActionExecuted("action_listen"), UserUttered(said)]
    return DialogueStateTracker.from_events(SENDER, events)


def saved(store: SQLTrackerStore, tracker: DialogueStateTracker, cache: TrackerCache) -> None:
    asyncio.run(store.save(tracker))
    cache.keep(store, tracker)


def test_a_saved_conversation_is_read_from_memory(store: SQLTrackerStore) -> None:
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    assert cache.get(store, SENDER) is tracker
    tracker.update(UserUttered("Rechnung"))
    saved(store, tracker, cache)
    assert cache.get(store, SENDER) is tracker


def test_what_another_instance_wrote_is_read_from_the_database(
    store: SQLTrackerStore, tmp_path: Path
) -> None:
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    other = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    theirs = asyncio.run(other.retrieve(SENDER))
    theirs.update(UserUttered("von der anderen Instanz"))
    asyncio.run(other.save(theirs))
    assert cache.get(store, SENDER) is None
    assert asyncio.run(store.retrieve(SENDER)).latest_message.text == "von der anderen Instanz"


def test_a_turn_that_failed_half_way_is_not_used(store: SQLTrackerStore) -> None:
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    tracker.update(SlotSet("language", "tr"))  # never saved
    assert cache.get(store, SENDER) is None


def test_a_deleted_conversation_is_not_served(store: SQLTrackerStore) -> None:
    cache = TrackerCache()
    saved(store, conversation("Hallo"), cache)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": SENDER})
    assert cache.get(store, SENDER) is None


def test_an_idle_conversation_is_read_again(store: SQLTrackerStore) -> None:
    """Blanking and deleting idle conversations (the retention jobs) is never hidden."""
    cache = TrackerCache(idle_seconds=0.0)
    saved(store, conversation("Hallo"), cache)
    assert cache.get(store, SENDER) is None


def test_a_tracker_with_a_new_session_is_not_kept(store: SQLTrackerStore) -> None:
    """A read gives only the latest session; this tracker holds two."""
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted(timestamp=tracker.events[-1].timestamp + 1))
    tracker.update(ActionExecuted("action_listen"))
    saved(store, tracker, cache)
    assert cache.get(store, SENDER) is None
    assert len(asyncio.run(store.retrieve(SENDER)).events) < len(tracker.events)


def test_a_new_conversation_is_kept_once_it_is_what_a_read_gives(store: SQLTrackerStore) -> None:
    """Rasa starts a session with `action_session_start`, which a read leaves out."""
    cache = TrackerCache()
    tracker = DialogueStateTracker.from_events(
        SENDER, [ActionExecuted("action_session_start"), SessionStarted(), UserUttered("Hallo")]
    )
    saved(store, tracker, cache)
    assert cache.get(store, SENDER) is None
    read = asyncio.run(store.retrieve(SENDER))
    cache.keep(store, read)
    assert cache.get(store, SENDER) is read


def test_only_the_conversations_used_last_are_kept(store: SQLTrackerStore) -> None:
    cache = TrackerCache(size=2)
    trackers = []
    for number in range(3):
        tracker = DialogueStateTracker.from_events(f"c{number}", [UserUttered("Hallo")])
        saved(store, tracker, cache)
        trackers.append(tracker)
    assert len(cache) == 2
    assert cache.get(store, "c0") is None
    assert cache.get(store, "c2") is trackers[2]


# --- saving with the count the cache knows (bot.rasa_runtime.event_writes) ---------------


def rows(store: SQLTrackerStore) -> list[tuple]:
    with store.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT sender_id, type_name, timestamp, intent_name, action_name, data"
                    " FROM events ORDER BY id"
                )
            )
        ]


def turn(tracker: DialogueStateTracker) -> None:
    """What a turn adds: a message with its intent, an action, a slot, a reply."""
    tracker.update(
        UserUttered(
            "Ich möchte meinen Abschlag ändern",
            intent={"name": "change_advance_payment", "confidence": 0.93},
            parse_data={
                "text": "Ich möchte meinen Abschlag ändern",
                "intent": {"name": "change_advance_payment", "confidence": 0.93},
                "entities": [],
            },
        )
    )
    tracker.update(ActionExecuted("advance_payment_form"))
    tracker.update(SlotSet("requested_slot", "new_amount"))
    tracker.update(BotUttered("Wie hoch soll der neue Abschlag sein?"))
    tracker.update(ActionExecuted("action_listen"))


def test_a_save_with_the_count_known_writes_the_rows_rasa_writes(tmp_path: Path) -> None:
    rasas = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "rasa.db"))
    ours = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "ours.db"))
    cache = TrackerCache()
    tracker = conversation("Hallo")
    asyncio.run(rasas.save(tracker))
    saved(ours, tracker, cache)
    for _ in range(2):
        known = cache.stored_events(tracker)
        assert known == len(tracker.events)
        turn(tracker)
        asyncio.run(rasas.save(tracker))
        read_gives = asyncio.run(event_writes.save(ours, tracker, known))
        assert read_gives == len(tracker.events)
        cache.keep(ours, tracker, read_gives)
        assert rows(ours) == rows(rasas)
        assert cache.get(ours, SENDER) is tracker
    assert len(asyncio.run(ours.retrieve(SENDER)).events) == len(tracker.events)


def test_the_count_is_known_only_for_the_tracker_the_cache_holds(store: SQLTrackerStore) -> None:
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    assert cache.stored_events(tracker) == len(tracker.events)
    other = asyncio.run(store.retrieve(SENDER))  # the same events, another object
    assert cache.stored_events(other) is None
    assert cache.stored_events(conversation("Hallo", "noch einer")) is None


def test_a_save_that_begins_a_session_asks_the_store_again(store: SQLTrackerStore) -> None:
    cache = TrackerCache()
    tracker = conversation("Hallo")
    saved(store, tracker, cache)
    known = cache.stored_events(tracker)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted(timestamp=tracker.events[-1].timestamp + 1))
    tracker.update(ActionExecuted("action_listen"))
    read_gives = asyncio.run(event_writes.save(store, tracker, known))
    assert read_gives is None  # unknown: a read now gives only the new session
    cache.keep(store, tracker, read_gives)
    assert cache.get(store, SENDER) is None
    read = asyncio.run(store.retrieve(SENDER))
    assert read.events[0].type_name == "session_started"
    assert len(read.events) < len(tracker.events)
