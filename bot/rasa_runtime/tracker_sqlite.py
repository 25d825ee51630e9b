"""Rasa's SQL tracker store on SQLite (the embedded default): pooled connections, WAL.

Rasa 3.6 passes SQLAlchemy no pool settings for SQLite, so SQLAlchemy 1.4
opens a new connection for every read and every write of a conversation, and
the file keeps SQLite's rollback journal, in which each commit waits for two
disk flushes and a reader (the agents' dashboard reads the events) blocks the
writer. `engine_kwargs` gives SQLite files the same pool as our own database
(bot/infra/db.py; PostgreSQL keeps Rasa's own settings), and
`bot.infra.db.write_ahead` switches each new SQLite connection of the process
to write-ahead logging, which the file then keeps.
"""

from __future__ import annotations

from typing import Any

from rasa.core import tracker_store
from sqlalchemy.engine import make_url

from bot.infra.db import sqlite_engine_options

_rasa_engine_kwargs = tracker_store.create_engine_kwargs


def engine_kwargs(url: Any) -> dict[str, Any]:
    """Rasa's `create_engine` arguments, with a pool for SQLite files."""
    parsed = make_url(str(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return _rasa_engine_kwargs(url)
    return sqlite_engine_options()
