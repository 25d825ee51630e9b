"""Shared fixtures: a fresh, migrated database with the demo customers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import db
from bot.db import session_scope
from bot.migrate import upgrade
from bot.services import customer_data

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILE = ROOT / "data" / "demo" / "customers.json"


def demo_document() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def make_database(path: Path) -> str:
    """Create a migrated SQLite database with the demo data; return its URL."""
    url = f"sqlite:///{path}"
    upgrade(url)
    with session_scope(url) as session:
        customer_data.import_customers(session, demo_document())
    return url


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh demo database, made the process default through DATABASE_URL."""
    url = make_database(tmp_path / "test.db")
    monkeypatch.setenv("DATABASE_URL", url)
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    yield url
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()


@pytest.fixture
def session(database_url: str):
    with session_scope(database_url) as s:
        yield s
