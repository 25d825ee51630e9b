"""Conversations kept in memory between turns, while the database still holds exactly them.

Rasa's SQL tracker store reads every event of the conversation's session and
replays it into a new tracker at the start of every turn (and the channels
read the conversation too, for its language or the buttons last offered).
The cache keeps the tracker a turn saved, and the memos the history module
keeps on it (bot/rasa_runtime/history.py), for the next read, after one
question to the database that is as cheap on turn 50 as on turn 1: the
highest event id of the conversation. A tracker is kept only when it holds
exactly the events a read would load, and used only while that id and its
number of events are what they were; anything else (another Rasa instance
wrote a turn, a turn failed half-way, a new session began, the conversation
was deleted) reads the database as Rasa does.

Kept: the `SIZE` conversations used last, each at most `IDLE_SECONDS` since
it was last used (a conversation idle longer is read again, so what the
retention jobs blank or delete in idle conversations is never served from
memory).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

SIZE = 500
IDLE_SECONDS = 300.0


def highest_event_id(store: SQLTrackerStore, sender_id: str) -> int:
    """The id of the conversation's latest stored event (0: none): any write changes it."""
    with store.engine.connect() as connection:
        highest = connection.execute(
            sa.select(sa.func.max(store.SQLEvent.id)).where(store.SQLEvent.sender_id == sender_id)
        ).scalar()
    return highest or 0


def events_a_read_gives(store: SQLTrackerStore, sender_id: str) -> int:
    """How many events Rasa's read of the conversation would load (its latest session)."""
    with store.session_scope() as session:
        return store._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    events: int
    highest_id: int
    used: float


class TrackerCache:
    """The trackers of the conversations used last, checked against the store on every read."""

    def __init__(self, size: int = SIZE, idle_seconds: float = IDLE_SECONDS) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, store: SQLTrackerStore, sender_id: str) -> DialogueStateTracker | None:
        """The kept tracker, if the store still holds exactly its events."""
        entry = self._entries.pop(sender_id, None)
        if entry is None:
            return None
        now = time.monotonic()
        if now - entry.used > self.idle_seconds or len(entry.tracker.events) != entry.events:
            return None  # idle too long, or changed since (a turn that failed half-way)
        if highest_event_id(store, sender_id) != entry.highest_id:
            return None  # written since (another instance) or deleted
        entry.used = now
        self._entries[sender_id] = entry
        return entry.tracker

    def stored_events(self, tracker: DialogueStateTracker) -> int | None:
        """How many of this very tracker's events the store holds, if it was read or
        saved through the cache (None: unknown)."""
        entry = self._entries.get(tracker.sender_id)
        return entry.events if entry is not None and entry.tracker is tracker else None

    def keep(
        self, store: SQLTrackerStore, tracker: DialogueStateTracker, read_gives: int | None = None
    ) -> None:
        """Keep a tracker just read or saved, if it holds what a read would give.

        `read_gives`: how many events a read of the conversation gives, when the
        caller knows (it just read them, or saved them: bot/rasa_runtime/event_writes.py);
        otherwise the store is asked.
        """
        sender_id = tracker.sender_id
        self._entries.pop(sender_id, None)
        events = len(tracker.events)
        if read_gives is None:
            read_gives = events_a_read_gives(store, sender_id)
        if read_gives != events:
            return  # e.g. a session began this turn: a read gives only the new one
        highest = highest_event_id(store, sender_id)
        self._entries[sender_id] = _Entry(tracker, events, highest, time.monotonic())
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)
