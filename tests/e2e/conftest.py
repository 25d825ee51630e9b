"""End-to-end helpers: conversations over the REST webhook, rows in the database.

The servers themselves (`servers`, `web`) are fixtures of tests/conftest.py,
shared with the browser tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.domain.models import AdvancePaymentChange, Base, Contract, HandoffCase
from bot.infra.db import session_scope
from tests.harness.servers import TOKEN, Servers


@dataclass
class Chat:
    """One customer's conversation over the REST webhook."""

    servers: Servers
    metadata: dict[str, Any] = field(default_factory=dict)
    sender: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex}")

    def post(self, body: Any) -> httpx.Response:
        return httpx.post(self.servers.webhook, json=body, timeout=60)

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send one message; the bot's replies (text, buttons, custom payloads)."""
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if self.metadata:
            body["metadata"] = self.metadata
        reply = self.post(body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def texts(self, text: str) -> str:
        """Send one message; the bot's reply texts joined into one string.

        Money is formatted with a no-break space (`83,27\xa0€`); tests compare
        with ordinary spaces.
        """
        return joined(self.say(text))

    def tracker(self) -> dict[str, Any]:
        reply = httpx.get(
            f"{self.servers.api}/conversations/{self.sender}/tracker",
            params={"token": TOKEN},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    def slot(self, name: str) -> Any:
        return self.tracker()["slots"].get(name)

    def last_responses(self) -> list[str]:
        """Names of the responses the bot used since the customer's last message."""
        events = self.tracker()["events"]
        last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
        return [
            e.get("metadata", {}).get("utter_action")
            for e in events[last_user:]
            if e["event"] == "bot"
        ]

    def user_messages(self) -> int:
        return sum(1 for e in self.tracker()["events"] if e["event"] == "user")


def joined(replies: list[dict[str, Any]]) -> str:
    """Reply texts as one string, no-break spaces as ordinary spaces."""
    return "\n".join(m.get("text", "") for m in replies).replace("\xa0", " ")


def handoff_payload(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The `handoff` custom payload among the replies, if there is one."""
    for reply in replies:
        if isinstance(reply.get("custom"), dict) and "handoff" in reply["custom"]:
            return reply["custom"]["handoff"]
    return None


@pytest.fixture
def chat(servers: Servers) -> Chat:
    return Chat(servers)


@pytest.fixture
def chat_tr(servers: Servers) -> Chat:
    """A conversation whose channel says the customer reads Turkish."""
    return Chat(servers, metadata={"language": "tr"})


def row_counts(database_url: str) -> dict[str, int]:
    """Rows per table: proof that something was, or was not, written.

    `metric_counters` is left out: it counts what happened (a fallback answer
    too) for /metrics, and holds no customer's data.
    """
    with session_scope(database_url) as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name != "metric_counters"
        }


def changes_for(database_url: str, contract_number: str) -> list[AdvancePaymentChange]:
    with session_scope(database_url) as session:
        rows = session.scalars(
            select(AdvancePaymentChange)
            .join(Contract)
            .where(Contract.contract_number == contract_number)
            .order_by(AdvancePaymentChange.id)
        ).all()
        session.expunge_all()
        return list(rows)


def handoff_for(database_url: str, conversation_id: str) -> HandoffCase | None:
    with session_scope(database_url) as session:
        case = session.scalars(
            select(HandoffCase).where(HandoffCase.conversation_id == conversation_id)
        ).first()
        if case is not None:
            session.expunge(case)
        return case
