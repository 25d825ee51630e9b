"""Database engines, transactions, and database work in a worker thread.

Nothing is created at import time: `get_engine()` builds the engine on first
use for the configured URL, so tests can point each process at its own file.
Async code (actions, channels, the web app) runs database work through
`run_in_transaction`, never on its event loop.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.infra.settings import get_settings

T = TypeVar("T")


def sqlite_engine_options(busy_seconds: float = 30) -> dict[str, Any]:
    """`create_engine` arguments for a SQLite file shared by threads.

    SQLAlchemy 1.4 opens a new SQLite connection per session unless told to
    pool; with a pool, connections are reused like PostgreSQL's. A statement
    waits up to `busy_seconds` for another connection's write lock. Used for
    our database and for Rasa's SQLite tracker store.
    """
    return {
        "poolclass": QueuePool,
        "pool_size": 5,
        "max_overflow": 10,
        "connect_args": {"check_same_thread": False, "timeout": busy_seconds},
    }


def write_ahead(dbapi_connection: Any, _record: Any = None) -> None:
    """SQLAlchemy `connect` listener: a SQLite connection writes ahead (WAL).

    With SQLite's rollback journal every commit waits for two disk flushes
    and a reader blocks the writer; the file keeps WAL once it is set.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def postgres_connect_args(
    url: str, connect_seconds: int, statement_seconds: int | None
) -> dict[str, Any]:
    """libpq's timeouts: opening a connection, and (if given) any one statement.

    Options already in the URL's `options` are kept; ours come after them.
    """
    args: dict[str, Any] = {"connect_timeout": max(2, connect_seconds)}  # libpq's minimum
    if statement_seconds:
        options = make_url(url).query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        ours = f"-c statement_timeout={statement_seconds * 1000}"
        args["options"] = f"{options} {ours}".strip()
    return args


def make_engine(url: str, *, statement_timeout: bool = True) -> Engine:
    """Create an engine with settings that suit both SQLite and PostgreSQL.

    No wait is unbounded (the settings' `DATABASE_*_TIMEOUT_SECONDS`): an
    unreachable server fails after the connect timeout, a hung statement after
    the statement timeout, a request that finds the pool empty after the pool
    timeout. Migrations pass `statement_timeout=False`: a schema change on a
    large table may take longer than any request should.
    """
    settings = get_settings()
    statement = settings.database_statement_timeout_seconds
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            future=True,
            pool_timeout=settings.database_pool_timeout_seconds,
            **sqlite_engine_options(busy_seconds=statement or 30),
        )
        event.listen(engine, "connect", _foreign_keys)
        event.listen(engine, "connect", write_ahead)
        return engine
    connect_args = {}
    if make_url(url).get_backend_name().startswith("postgresql"):
        connect_args = postgres_connect_args(
            url,
            settings.database_connect_timeout_seconds,
            statement if statement_timeout else None,
        )
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_timeout=settings.database_pool_timeout_seconds,
        connect_args=connect_args,
    )


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: `DATABASE_URL`)."""
    return make_engine(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _session_factory(url: str | None) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commits on success, rolls back on any error."""
    session: Session = _session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def run_in_transaction(work: Callable[[Session], T], url: str | None = None) -> T:
    """Run blocking database `work` in a worker thread, in one transaction.

    The one way async code touches the database: the event loop (of the
    action server, Rasa or the web app) never waits for it.
    """

    def run() -> T:
        with session_scope(url) as session:
            return work(session)

    return await asyncio.to_thread(run)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if it does not exist yet.

    True if it was created. SQLite files are created on first use anyway.
    """
    target = make_url(url)
    if not target.get_backend_name().startswith("postgresql"):
        return False
    _check_name(target.database)
    server = _server_engine(target)
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            ).first()
            if exists:
                return False
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
            return True
    finally:
        server.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database (for test databases), closing its connections."""
    target = make_url(url)
    _check_name(target.database)
    server = _server_engine(target)
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        server.dispose()


def _server_engine(target: Any) -> Engine:
    """An engine on the server's `postgres` database, for creating and dropping databases."""
    connect = {"connect_timeout": max(2, get_settings().database_connect_timeout_seconds)}
    return create_engine(
        target.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        future=True,
        connect_args=connect,
    )


def _check_name(name: str | None) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ValueError(f"not a database name we create: {name!r}")
