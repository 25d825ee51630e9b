"""The production topology: PostgreSQL, Redis and two Rasa instances behind the edge (nginx).

PostgreSQL and Redis run on this machine on their standard ports (and in CI).
Where they are absent the tests skip and say why; with CI=true they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from bot.domain.services import agents, customer_data
from bot.infra.db import drop_database, ensure_database, session_scope
from bot.infra.migrate import upgrade
from tests.conftest import DEMO_AGENTS_FILE, demo_document
from tests.harness.servers import MODEL, Servers

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def _missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({type(error).__name__}); production-path tests need it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        engine = create_engine(POSTGRES, future=True)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means: no server
        _missing("PostgreSQL", error)
    return POSTGRES


@pytest.fixture(scope="session")
def redis_server() -> str:
    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        _missing("Redis", error)
    return REDIS


def new_database(server: str, purpose: str) -> str:
    name = f"stadtwerk_test_{purpose}_{secrets.token_hex(4)}"
    url = server.rsplit("/", 1)[0] + f"/{name}"
    ensure_database(url)
    return url


@pytest.fixture(scope="session")
def postgres_urls(postgres_server: str) -> Iterator[tuple[str, str]]:
    """A fresh customer database (migrated, demo data) and a tracker database."""
    data, tracker = new_database(postgres_server, "data"), new_database(postgres_server, "rasa")
    upgrade(data)
    with session_scope(data) as session:
        customer_data.import_customers(session, demo_document())
    yield data, tracker
    for url in (data, tracker):
        drop_database(url)


@pytest.fixture(scope="session")
def cluster(
    postgres_urls: tuple[str, str], redis_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Two Rasa instances behind the edge (nginx), one action server, on PostgreSQL and Redis."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    data, tracker = postgres_urls
    running = Servers(
        database_url=data,
        log_dir=tmp_path_factory.mktemp("cluster"),
        tracker_store_url=tracker,
        redis_url=redis_server,
        rasa_instances=2,
        actions="server",  # as `make run-prod` runs it
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def web_app(cluster: Servers) -> str:
    """The web app beside the cluster (started once, with demo agents); its own URL."""
    with session_scope(cluster.database_url) as session:
        for record in json.loads(DEMO_AGENTS_FILE.read_text(encoding="utf-8")):
            with contextlib.suppress(agents.AgentExists):
                agents.create_agent(session, **record)
    cluster.start_web()
    return cluster.app_url


def say(url: str, sender: str, text: str, **metadata: str) -> list[dict]:
    """One REST turn; the reply must be a 200 with a JSON list."""
    body: dict = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    reply = httpx.post(url, json=body, timeout=120)
    assert reply.status_code == 200, (reply.status_code, reply.text)
    answers = reply.json()
    assert isinstance(answers, list)
    return answers


def joined(answers: list[dict]) -> str:
    return " ".join(a.get("text", "") for a in answers).replace("\xa0", " ")
