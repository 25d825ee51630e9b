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


#: Where Rasa runs the custom actions (ACTIONS): in its own process, as `make
#: run` does, or on the action server, the way to scale actions out.
IN_PROCESS, ACTION_SERVER = "in-process", "server"
#: Test modules that run against both, to show the two give the same results.
BOTH_WAYS = {"test_conversations_de", "test_conversations_tr", "test_voice"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "action_server: needs the action server (it stops or inspects it)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests on the `servers` run in process, and also on the action server where
    their module is in BOTH_WAYS, or only there when marked `action_server`."""
    if "servers" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("action_server"):
        ways = [ACTION_SERVER]
    elif metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_WAYS:
        ways = [IN_PROCESS, ACTION_SERVER]
    else:
        ways = [IN_PROCESS]
    metafunc.parametrize("servers", ways, indirect=True, scope="session")


@pytest.fixture(scope="session")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Rasa (running the actions itself, or with the action server) for the whole session."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    actions = getattr(request, "param", IN_PROCESS)
    work = tmp_path_factory.mktemp(f"e2e-{actions}")
    running = Servers(
        database_url=demo_database(work / "stadtwerk.db", slots=True),
        log_dir=work,
        actions=actions,
    )
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
