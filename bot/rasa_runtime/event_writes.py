"""Saving a turn's new events: the rows Rasa's SQL tracker store writes, in one statement.

Rasa's `SQLTrackerStore.save` first counts the events the store holds of the
conversation's session (a query that costs more the longer the conversation),
to know which of the tracker's events are new, and then adds one ORM object
per new event. When the tracker cache knows that count (it read or saved this
very tracker, and the turn began with the database unchanged since:
bot/rasa_runtime/tracker_cache.py), the count is not asked again and the new
rows go in as one multi-row insert. The rows are the ones Rasa writes; the
event broker, when one is configured, gets the events as Rasa sends them.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


def row(sender_id: str, event: Event) -> dict[str, Any]:
    """The `events` table row Rasa's SQL tracker store writes for an event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


async def save(
    store: SQLTrackerStore, tracker: DialogueStateTracker, stored: int | None
) -> int | None:
    """Save the events the store does not hold yet; how many a read then gives, if known.

    `stored`: how many of the tracker's events the store holds (None: unknown,
    then this is Rasa's own save, which counts them).
    """
    if stored is None:
        await store.save(tracker)
        return None
    await store.stream_events(tracker)
    new = list(itertools.islice(tracker.events, stored, None))
    if new:
        rows = [row(tracker.sender_id, event) for event in new]
        with store.session_scope() as session:
            session.execute(sa.insert(store.SQLEvent.__table__), rows)
            session.commit()
    if any(isinstance(event, SessionStarted) for event in new):
        return None  # a read now gives only the new session: count it
    return stored + len(new)
