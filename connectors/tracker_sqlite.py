"""Rasa's SQL tracker store on SQLite (the embedded default): pooled connections, WAL.

Rasa 3.6 passes SQLAlchemy no pool settings for SQLite, so SQLAlchemy 1.4
opens a new connection for every read and every write of a conversation, and
the file keeps SQLite's rollback journal, in which each commit waits for two
disk flushes and a reader (the agents' dashboard reads the events) blocks the
writer. `engine_kwargs` gives SQLite files a pool (PostgreSQL keeps Rasa's
own settings), and `use_wal` switches each new SQLite connection of the
process to write-ahead logging, which the file then keeps.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from rasa.core import tracker_store
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

_rasa_engine_kwargs = tracker_store.create_engine_kwargs


def engine_kwargs(url: Any) -> dict[str, Any]:
    """Rasa's `create_engine` arguments, with a pool for SQLite files."""
    parsed = make_url(str(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return _rasa_engine_kwargs(url)
    return {
        "poolclass": QueuePool,
        "pool_size": 5,
        "max_overflow": 10,
        "connect_args": {"check_same_thread": False, "timeout": 30},
    }


def use_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy `connect` listener: SQLite connections write ahead."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
