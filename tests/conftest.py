"""Shared fixtures: a fresh, migrated database with the demo customers, and the
real servers (Rasa, actions, web app) for end-to-end and browser tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.services import agents
from bot.infra import db
from bot.infra.db import session_scope
from tests.harness.servers import DEMO_CUSTOMERS, MODEL, Servers, demo_database

ROOT = Path(__file__).resolve().parent.parent

DEMO_AGENTS_FILE = ROOT / "data" / "demo" / "agents.json"


def demo_document() -> dict:
    return json.loads(DEMO_CUSTOMERS.read_text(encoding="utf-8"))


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh demo database, made the process default through DATABASE_URL."""
    url = demo_database(tmp_path / "test.db")
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


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """One Rasa server and one action server for the whole test session."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    work = tmp_path_factory.mktemp("e2e")
    running = Servers(database_url=demo_database(work / "stadtwerk.db", slots=True), log_dir=work)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def web(servers: Servers) -> Servers:
    """The web app too (widget gateway, console), with the demo agents."""
    with session_scope(servers.database_url) as session:
        for record in json.loads(DEMO_AGENTS_FILE.read_text(encoding="utf-8")):
            agents.create_agent(session, **record)
    servers.start_web()
    return servers
