"""Attacks on the running assistant, each one a test that failed before its fix.

They run against the real servers of tests/conftest.py. Attacks that come
"from somewhere" carry an `X-Forwarded-For` address of their own (the
servers trust the local proxy, as they would trust the edge proxy), so one
test's lock never touches another test.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

from bot.domain.services import agents
from bot.infra.db import session_scope
from tests.harness.servers import TOKEN, Servers
from tests.harness.web_clients import Console

_addresses = itertools.count(1)


AGENT_PASSWORD = "a-long-test-password"


def new_agent_console(database_url: str, app_url: str, username: str) -> Console:
    """A new agent, logged in to the console at `app_url`."""
    with session_scope(database_url) as session:
        agents.create_agent(
            session,
            username=username,
            first_name="Test",
            last_name="Agent",
            password=AGENT_PASSWORD,
        )
    console = Console(app_url)
    assert console.login(username, AGENT_PASSWORD).status_code == 303
    return console


def new_address() -> str:
    """An address from the documentation range (RFC 5737), a fresh one each time."""
    number = next(_addresses)
    return f"198.51.{number // 250}.{number % 250 + 1}"


class Attacker:
    """REST conversations from one client address; each `fresh()` is a new conversation."""

    def __init__(self, servers: Servers, address: str | None = None) -> None:
        self.servers = servers
        self.address = address or new_address()
        self.sender = self.fresh()

    def fresh(self) -> str:
        self.sender = f"attack-{uuid.uuid4().hex}"
        return self.sender

    def post(self, text: str) -> httpx.Response:
        return httpx.post(
            self.servers.webhook,
            json={"sender": self.sender, "message": text},
            headers={"X-Forwarded-For": self.address},
            timeout=60,
        )

    def say(self, text: str) -> str:
        answer = self.post(text)
        assert answer.status_code == 200, answer.text
        return " ".join(m.get("text", "") for m in answer.json()).replace("\xa0", " ")

    def slots(self) -> dict[str, Any]:
        tracker = httpx.get(
            f"{self.servers.api}/conversations/{self.sender}/tracker",
            params={"token": TOKEN},
            timeout=30,
        ).json()
        return tracker.get("slots") or {}


# PostgreSQL for the attacks that need it (a database of their own, demo data).
from tests.production.conftest import postgres_server, postgres_urls  # noqa: E402, F401
