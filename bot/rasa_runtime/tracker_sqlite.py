"""Rasa's SQL tracker store on SQLite (the embedded default): pooled connections, WAL.

Rasa 3.6 passes SQLAlchemy no pool settings for SQLite, so SQLAlchemy 1.4
opens a new connection for every read and every write of a conversation, and
the file keeps SQLite's rollback journal, in which each commit waits for two
disk flushes and a reader (the agents' dashboard reads the events) blocks the
writer. `engine_kwargs` gives SQLite files the same pool as our own database
(bot/infra/db.py), and `bot.infra.db.write_ahead` switches each new SQLite
connection of the process to write-ahead logging, which the file then keeps.
PostgreSQL keeps Rasa's pool settings and gets our database's timeouts
(connect and statement), so a tracker store that stops answering costs a turn
a bounded wait, not a hung conversation.
"""

from __future__ import annotations

from typing import Any

from rasa.core import tracker_store
from sqlalchemy.engine import make_url

from bot.infra.db import postgres_connect_args, sqlite_engine_options
from bot.infra.settings import get_settings

_rasa_engine_kwargs = tracker_store.create_engine_kwargs


def engine_kwargs(url: Any) -> dict[str, Any]:
    """Rasa's `create_engine` arguments: a pool for SQLite files, timeouts for PostgreSQL."""
    parsed = make_url(str(url))
    backend = parsed.get_backend_name()
    if backend.startswith("postgresql"):
        settings = get_settings()
        timeouts = postgres_connect_args(
            str(url),
            settings.database_connect_timeout_seconds,
            settings.database_statement_timeout_seconds,
        )
        return {**_rasa_engine_kwargs(url), "connect_args": timeouts}
    if backend != "sqlite" or parsed.database in (None, "", ":memory:"):
        return _rasa_engine_kwargs(url)
    return sqlite_engine_options()
