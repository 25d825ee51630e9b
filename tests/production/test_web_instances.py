"""Two web app processes sharing Redis act as one: widget on one, agent on the other."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from bot.domain.models import ChatSession
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget, customer_message

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def two_apps(cluster: Servers, web_app: str) -> tuple[str, str]:
    return web_app, cluster.start_another_web()


async def test_customer_on_one_app_agent_on_the_other(
    cluster: Servers, two_apps: tuple[str, str]
) -> None:
    first, second = two_apps
    console = Console(second)
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    live = await console.live()
    try:
        async with Widget(first) as widget:
            await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
            with session_scope(cluster.database_url) as session:
                case_id = session.scalars(
                    select(ChatSession.case_id).where(
                        ChatSession.token_hash == token_hash(widget.token or "")
                    )
                ).one()
            # The console on the other process sees the case, and that the customer is online.
            case = console.case_of(case_id)
            assert case is not None and case["live"] is True

            assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
            state = await widget.next("state")
            assert state["state"] == "agent" and state["agent_name"] == "Aylin"
            sent = console.post(
                f"/agent/api/cases/{case_id}/messages", {"text": "Hallo, hier Aylin."}
            )
            assert sent.status_code == 201
            message = await widget.from_agent()
            assert message["text"] == "Hallo, hier Aylin."

            await widget.send(type="message", text="Danke, ich habe eine Frage zum Umzug")

            seen = await customer_message(live, 15)
            assert seen["case_id"] == case_id
            assert seen["message"]["text"] == "Danke, ich habe eine Frage zum Umzug"
    finally:
        await live.close()


async def test_failed_logins_are_counted_across_processes(two_apps: tuple[str, str]) -> None:
    first, second = two_apps
    username = f"guess-{secrets.token_hex(3)}"
    statuses = [
        Console(first if attempt % 2 else second).login(username, "wrong").status_code
        for attempt in range(5)
    ]
    assert statuses == [401] * 5
    # The sixth try is refused by either process, before the password is even checked.
    assert Console(first).login(username, "wrong").status_code == 429
    assert Console(second).login(username, "wrong").status_code == 429
    # Another name from the same address is not affected.
    assert Console(second).login("aylin", "demo-aylin-2026").status_code == 303
