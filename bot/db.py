"""Database engine and session scope.

Nothing is created at import time: `get_engine()` builds the engine on first
use for the configured URL, so tests can point each process at its own file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import load_settings


def make_engine(url: str) -> Engine:
    """Create an engine with settings that suit both SQLite and PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            future=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            # SQLAlchemy 1.4 opens a new SQLite connection per session unless
            # told to pool; connections are reused like PostgreSQL's.
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=10,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: `DATABASE_URL`)."""
    return make_engine(url or load_settings().database_url)


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


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if it does not exist yet.

    True if it was created. SQLite files are created on first use anyway.
    """
    target = make_url(url)
    if not target.get_backend_name().startswith("postgresql"):
        return False
    _check_name(target.database)
    server = create_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True
    )
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
    server = create_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True
    )
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        server.dispose()


def _check_name(name: str | None) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ValueError(f"not a database name we create: {name!r}")
