"""A Redis outage leaves the web chat and the console working (issue 12, finding 8, in part).

Before: the hub's calls to Redis were not guarded and had no timeouts, so
with Redis gone the web chat stopped answering (its socket died on the first
frame) and the console's changes returned 500. Now the hub delivers in its
own process while Redis is away, logs one warning without secrets, and goes
through Redis again when it is back.

Each test runs a Redis of its own (never the machine's shared one) and a
web app process that uses it, next to the shared Rasa and action server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
import websockets
from sqlalchemy import select

from bot.domain.models import ChatSession
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from tests.harness.servers import Servers, free_port
from tests.harness.web_clients import Console, Widget
from tests.security.conftest import new_agent_console

pytestmark = pytest.mark.asyncio
PASSWORD = "redis-" + secrets.token_hex(8)  # must never reach a log line


class ThrowawayRedis:
    """`redis-server` on a free port, without persistence, stopped and started at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=PASSWORD, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--requirepass", PASSWORD],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            with contextlib.suppress(redis.RedisError):
                if self.client().ping():
                    return
            time.sleep(0.1)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


def outage_agent_console(servers: Servers, app_url: str) -> Console:
    return new_agent_console(servers.database_url, app_url, f"outage-{secrets.token_hex(3)}")


def case_of(servers: Servers, widget: Widget) -> str:
    with session_scope(servers.database_url) as session:
        case_id = session.scalars(
            select(ChatSession.case_id).where(
                ChatSession.token_hash == token_hash(widget.token or "")
            )
        ).one()
    assert case_id, "the chat was not handed off"
    return case_id


async def case_frame(live: websockets.WebSocketClientProtocol, case_id: str) -> dict:
    """The console's next `case` frame about `case_id`."""

    async def read() -> dict:
        while True:
            frame = json.loads(await live.recv())
            if frame["type"] == "case" and frame["case"]["case_id"] == case_id:
                return frame

    return await asyncio.wait_for(read(), 30)


async def a_person_takes_over(servers: Servers, app_url: str, console: Console) -> None:
    """A customer asks for a person; the agent sees it live, claims, answers and closes."""
    live = await console.live()
    try:
        assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "queue"
        async with Widget(app_url) as widget:
            assert await widget.texts("Hallo")
            await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
            case_id = case_of(servers, widget)
            assert (await case_frame(live, case_id))["case"]["status"] == "waiting"
            assert console.case_of(case_id) is not None
            claimed = console.post(f"/agent/api/cases/{case_id}/claim")
            assert claimed.status_code == 200, claimed.text
            assert (await widget.next("state"))["state"] == "agent"
            sent = console.post(f"/agent/api/cases/{case_id}/messages", {"text": "Hallo!"})
            assert sent.status_code == 201, sent.text
            while (await widget.next("message"))["from"] != "agent":
                pass
            closed = console.post(
                f"/agent/api/cases/{case_id}/close",
                {"disposition": "resolved", "note": "Im Test erledigt"},
            )
            assert closed.status_code == 200, closed.text
    finally:
        await live.close()


async def readiness_of_redis(app_url: str) -> tuple[int, str]:
    """`/ready`'s status and what it says about Redis."""
    async with httpx.AsyncClient(timeout=10) as client:
        ready = await client.get(f"{app_url}/ready")
    return ready.status_code, ready.json()["checks"]["redis"]


def wait_until(check, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(redis.RedisError):
            if check():
                return
        time.sleep(0.2)
    raise TimeoutError("the condition did not come true")


async def test_redis_stopped_mid_chat_and_back(servers: Servers, own_redis: ThrowawayRedis) -> None:
    app = servers.start_another_web("web-redis", redis_url=own_redis.url)
    other = None
    try:
        console = outage_agent_console(servers, app)
        async with Widget(app) as widget:
            assert await widget.texts("Hallo")

            own_redis.stop()  # Redis dies while the customer chats

            # The chat goes on, on the same socket and on a new one.
            assert await widget.texts("Guten Tag")
            await a_person_takes_over(servers, app, console)
            assert await readiness_of_redis(app) == (503, "unreachable")

            own_redis.start()  # Redis is back: the app goes through it again

            # It says again which chats are open here (the widget is still connected).
            conversation = widget_conversation(servers, widget)

            def present() -> bool:
                client = own_redis.client()
                return any(
                    client.sismember(k, conversation) for k in client.keys("stadtwerk:live:*")
                )

            wait_until(present)
        # A console on a second app process hears of a case opened on the first: through Redis.
        other = servers.start_another_web("web-redis-2", redis_url=own_redis.url)
        elsewhere = Console(other)
        elsewhere.http.cookies.update(console.http.cookies)
        live = await elsewhere.live()
        try:
            assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "queue"
            async with Widget(app) as widget:
                await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
                case_id = case_of(servers, widget)
                assert (await case_frame(live, case_id))["case"]["live"] is True
        finally:
            await live.close()
    finally:
        servers.kill("web-redis")
        if other is not None:
            servers.kill("web-redis-2")
    log = (servers.log_dir / "web-redis.log").read_text()
    assert "Redis unreachable" in log and "Redis answers again" in log
    assert PASSWORD not in log


async def test_no_redis_at_all(servers: Servers) -> None:
    nowhere = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there
    app = servers.start_another_web("web-no-redis", ready="/health", redis_url=nowhere)
    try:
        assert await readiness_of_redis(app) == (503, "unreachable")
        await a_person_takes_over(servers, app, outage_agent_console(servers, app))
    finally:
        servers.kill("web-no-redis")
    log = (servers.log_dir / "web-no-redis.log").read_text()
    assert "Redis unreachable" in log
    assert PASSWORD not in log


def widget_conversation(servers: Servers, widget: Widget) -> str:
    with session_scope(servers.database_url) as session:
        return session.scalars(
            select(ChatSession.conversation_id).where(
                ChatSession.token_hash == token_hash(widget.token or "")
            )
        ).one()
