"""Rasa's SQL tracker store seen from outside Rasa: whole conversations found, read,
changed in place and deleted.

Rasa keeps a conversation as rows of its documented `events` table (one per
event: sender, type, timestamp, intent or action name, the event as JSON).
It appends to a conversation by counting the rows it already has, so rows
here are only changed in place, or deleted with their whole conversation.
Every function works in the caller's connection and transaction (a dry run
rolls it back); a store Rasa has not created yet holds no conversations.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
# Ids per statement (SQLite allows some hundreds of parameters).
_CHUNK = 500


def _seconds(moment: dt.datetime) -> float:
    """A naive UTC time as Rasa's event timestamps count it (Unix seconds)."""
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def stored(connection: Connection) -> bool:
    """Whether Rasa has created its table in this store yet."""
    return inspect(connection).has_table(EVENTS.name)


def last_active(
    connection: Connection, *, since: dt.datetime | None = None, before: dt.datetime | None = None
) -> set[str]:
    """Conversations whose latest event is at or after `since` and before `before`."""
    if not stored(connection):
        return set()
    latest = func.max(EVENTS.c.timestamp)
    query = select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
    if since is not None:
        query = query.having(latest >= _seconds(since))
    if before is not None:
        query = query.having(latest < _seconds(before))
    return set(connection.scalars(query))


def with_slot_value(connection: Connection, slots: Collection[str], value: str) -> set[str]:
    """Conversations in which one of `slots` was ever set to `value`."""
    if not stored(connection) or not value:
        return set()
    rows = connection.execute(
        select(EVENTS.c.sender_id, EVENTS.c.data).where(
            EVENTS.c.type_name == "slot",
            EVENTS.c.action_name.in_(list(slots)),
            EVENTS.c.data.contains(value),  # narrows the scan; the JSON decides
        )
    )
    return {sender for sender, data in rows if json.loads(data or "{}").get("value") == value}


def events_of(connection: Connection, sender_ids: Collection[str]) -> dict[str, list[dict]]:
    """Each conversation's events (as Rasa stores them), in order."""
    found: dict[str, list[dict]] = {}
    if not stored(connection):
        return found
    for chunk in _chunks(sender_ids):
        rows = connection.execute(
            select(EVENTS.c.sender_id, EVENTS.c.data)
            .where(EVENTS.c.sender_id.in_(chunk))
            .order_by(EVENTS.c.id)
        )
        for sender, data in rows:
            found.setdefault(sender, []).append(json.loads(data or "{}"))
    return found


def delete_conversations(connection: Connection, sender_ids: Collection[str]) -> int:
    """Delete every event of these conversations; the number of events deleted."""
    if not stored(connection):
        return 0
    deleted = 0
    for chunk in _chunks(sender_ids):
        deleted += connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk))).rowcount
    return deleted


def rewrite_events(
    connection: Connection,
    sender_ids: Collection[str],
    types: Collection[str],
    change: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> int:
    """Events of these types in these conversations, rewritten in place by `change`.

    `change` returns the new event, or None to leave it as it is; the number
    of events changed.
    """
    if not stored(connection):
        return 0
    changed = 0
    for chunk in _chunks(sender_ids):
        rows = connection.execute(
            select(EVENTS.c.id, EVENTS.c.data).where(
                EVENTS.c.sender_id.in_(chunk), EVENTS.c.type_name.in_(list(types))
            )
        ).all()
        for row_id, data in rows:
            new = change(json.loads(data or "{}"))
            if new is not None:
                connection.execute(
                    update(EVENTS).where(EVENTS.c.id == row_id).values(data=json.dumps(new))
                )
                changed += 1
    return changed
