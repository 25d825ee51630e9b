"""An agent's console stops hearing when the session ends (issue 12, finding 7, in part).

Before: the console's WebSocket kept receiving the queue, with customers'
names and messages, after the agent logged out or was deactivated.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from sqlalchemy import select

from bot.domain.models import Agent
from bot.infra.db import session_scope
from tests.harness.servers import Servers
from tests.harness.web_clients import Console
from tests.security.conftest import new_agent_console

pytestmark = pytest.mark.asyncio


async def closed_after_ping(live: websockets.WebSocketClientProtocol) -> bool:
    """Send the console's ping; True if the server then closes the socket."""
    await live.send(json.dumps({"type": "ping"}))
    try:
        while True:
            await asyncio.wait_for(live.recv(), 10)
    except websockets.ConnectionClosed:
        return True
    except asyncio.TimeoutError:
        return False


async def live_console_of_new_agent(
    web: Servers, username: str
) -> tuple[Console, websockets.WebSocketClientProtocol]:
    """A new agent logged in, with the console's live socket open (the queue arrived)."""
    console = new_agent_console(web.database_url, web.app_url, username)
    live = await console.live()
    assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "queue"
    return console, live


async def test_after_logout_the_console_socket_is_closed(web: Servers) -> None:
    console, live = await live_console_of_new_agent(web, "logout-test")
    answer = console.http.post("/agent/logout", data={"csrf_token": console.csrf})
    assert answer.status_code == 303
    assert await closed_after_ping(live)


async def test_a_deactivated_agents_console_is_closed(web: Servers) -> None:
    _, live = await live_console_of_new_agent(web, "leaver-test")
    with session_scope(web.database_url) as session:
        session.scalar(select(Agent).where(Agent.username == "leaver-test")).active = False
    assert await closed_after_ping(live)
