"""Customers and agents through the edge's public HTTPS server, as on the internet:
the page, the chat and console WebSockets (wss), the REST webhook, in both languages."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.domain.models import ChatSession
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from bot.ops.edge import client_tls
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget, customer_message


def test_the_page_and_the_rest_webhook_over_https(cluster: Servers, web_app: str) -> None:
    tls = client_tls(cluster.settings)
    with httpx.Client(base_url=cluster.public_url, verify=tls, timeout=60) as client:
        page = client.get("/?lang=tr")
        assert page.status_code == 200 and 'lang="tr"' in page.text
        assert page.headers["strict-transport-security"].startswith("max-age=")
        for message, expected in (("Was kostet Ökostrom?", "Tarife"), ("Merhaba", "Merhaba")):
            turn = client.post(
                "/webhooks/rest/webhook", json={"sender": f"tls-{expected}", "message": message}
            )
            assert turn.status_code == 200 and expected in turn.text, turn.text
        # what the web app keeps for this machine: not served to the internet
        assert client.get("/metrics").status_code == 404
        assert client.get("/ready").status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("language", "ask", "hours"),
    [
        ("de", "Wann hat das Kundenzentrum geöffnet?", "Montag bis Freitag"),
        ("tr", "Müşteri merkezi ne zaman açık?", "pazartesiden cumaya"),
    ],
)
async def test_a_chat_over_wss(
    cluster: Servers, web_app: str, language: str, ask: str, hours: str
) -> None:
    async with Widget(cluster.public_url, language=language, tls=client_tls(cluster.settings)) as w:
        assert hours in await w.texts(ask)


@pytest.mark.asyncio
async def test_an_agent_takes_over_a_chat_through_the_edge(cluster: Servers, web_app: str) -> None:
    tls = client_tls(cluster.settings)
    console = Console(cluster.public_url, tls=tls)
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    live = await console.live()
    try:
        async with Widget(cluster.public_url, language="tr", tls=tls) as widget:
            await widget.say("Bir çalışanla konuşmak istiyorum")
            with session_scope(cluster.database_url) as session:
                case_id = session.scalars(
                    select(ChatSession.case_id).where(
                        ChatSession.token_hash == token_hash(widget.token or "")
                    )
                ).one()
            assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
            sent = console.post(
                f"/agent/api/cases/{case_id}/messages", {"text": "Merhaba, ben Aylin."}
            )
            assert sent.status_code == 201
            message = await widget.from_agent()
            assert message["text"] == "Merhaba, ben Aylin."
            await widget.send(type="message", text="Taşınıyorum")

            seen = await customer_message(live, 15)
            assert seen["case_id"] == case_id and seen["message"]["text"] == "Taşınıyorum"
    finally:
        await live.close()
