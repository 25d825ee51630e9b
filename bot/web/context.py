"""What every part of the web app shares: settings, database, Rasa, the hub.

One `WebContext` lives on `app.state.web`. Its helpers are the only way the
routes store a chat message (`say`) and tell consoles that a case changed
(`push_case`), so the stored conversation and what browsers see agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import redis
from fastapi import Request, WebSocket
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.domain.responses import load_responses, response_text
from bot.domain.services import agent_queue
from bot.domain.services import chat as chats
from bot.domain.services.chat import ChatInfo, MessageInfo
from bot.infra.db import run_in_transaction
from bot.infra.limits import Limiter, limiter
from bot.infra.network import named_client, trusted_set
from bot.infra.redis_clients import redis_client
from bot.infra.settings import DOMAIN_DIR, Settings
from bot.protocol import conversation_channel
from bot.web.hub import Hub, RedisHub
from bot.web.logins import Logins
from bot.web.metrics import Metrics
from bot.web.rasa_client import RasaClient
from bot.web.use_cases import Broadcast

T = TypeVar("T")
CHAT_MESSAGES_PER_30_SECONDS = 10


@dataclass
class WebContext:
    settings: Settings
    rasa: RasaClient
    hub: Hub = field(init=False)
    responses: dict[str, Any] = field(default_factory=lambda: load_responses(DOMAIN_DIR))
    limiter: Limiter = field(init=False)  # customers' chat messages
    logins: Logins = field(init=False)  # console logins' limits and password checks
    metrics: Metrics = field(init=False)
    # the newest case this process has told its consoles of (None: not looked yet)
    _newest_case: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # Several app processes share the hub and the limits through Redis when there is one.
        redis_url = self.settings.redis_url
        self.hub = (
            RedisHub(redis_url, self.settings.redis_timeout_seconds, self._send_case)
            if redis_url
            else Hub(self._send_case)
        )
        self.limiter = limiter(redis_url, "chat", CHAT_MESSAGES_PER_30_SECONDS, 30.0)
        self.logins = Logins(self.settings)
        self.metrics = Metrics(self.settings, self.hub.live_chats)

    async def start(self) -> None:
        await self.hub.start()

    async def close(self) -> None:
        await self.hub.stop()
        await self.limiter.close()
        await self.logins.close()
        await self.rasa.close()

    def client_of(self, connection: Request | WebSocket) -> str | None:
        """The browser's address (what our own proxies say, never what a client claims);
        None for this machine or our proxies themselves (they name no client)."""
        peer = connection.client.host if connection.client else None
        forwarded = connection.headers.get("x-forwarded-for")
        return named_client(peer, forwarded, trusted_set(self.settings.trusted_proxies))

    async def readiness(self) -> dict[str, str]:
        """Each dependency: "ok" or why not."""
        checks: dict[str, str] = {}
        try:
            await self.db(lambda s: s.execute(text("SELECT 1")))
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001 - reported, not raised
            checks["database"] = type(error).__name__
        checks["rasa"] = "ok" if await self.rasa.alive() else "unreachable"
        if self.settings.redis_url:
            checks["redis"] = "ok" if await self._redis_alive() else "unreachable"
        return checks

    async def _redis_alive(self) -> bool:
        client = redis_client(self.settings.redis_url, self.settings.redis_timeout_seconds)
        try:
            return bool(await client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            await client.close()

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction, in a worker thread."""
        return await run_in_transaction(work, self.settings.database_url)

    def text(self, response: str, language: str, **values: Any) -> str:
        """A customer-facing text of the domain files, in `language`."""
        text = response_text(self.responses, response, language)
        return text.format(**values) if values else text

    async def say(
        self,
        chat: ChatInfo,
        sender: str,
        text: str,
        *,
        buttons: list[dict[str, str]] | None = None,
        expects: dict[str, Any] | None = None,
        agent_id: int | None = None,
    ) -> MessageInfo:
        """Store a message of the chat and show it in the widget and the console."""
        message = await self.db(
            lambda s: chats.add_message(
                s, chat.id, sender, text, buttons=buttons, expects=expects, agent_id=agent_id
            )
        )
        shown = Broadcast()
        shown.message(chat, message)  # the one place that says who sees a chat message
        await self.publish(shown)
        return message

    async def publish(self, broadcast: Broadcast) -> None:
        """Tell the browsers what a step changed (bot/web/use_cases.py)."""
        for conversation_id, frame in broadcast.chat:
            await self.hub.to_chat(conversation_id, frame)
        for frame in broadcast.consoles:
            await self.hub.to_consoles(frame)
        for case_id in broadcast.cases:
            await self.push_case(case_id)

    async def queue_for(self, agent_id: int) -> list[dict[str, Any]]:
        """The whole queue as `agent_id` sees it (a console asks once, when it connects)."""
        cases = await self.db(agent_queue.active_cases)
        live = await self.hub.live_conversations()
        return [case.as_json(agent_id, case.conversation_id in live) for case in cases]

    async def is_live(self, conversation_id: str) -> bool:
        return await self.hub.is_live(conversation_id)

    async def push_case(self, case_id: str) -> None:
        """A case changed: every console, in every app process, gets that case again.

        Its summary is read once, here; the consoles get nothing else, so a
        change costs the same however many cases are in the queue.
        """
        summary = await self.db(lambda s: agent_queue.case_summary(s, case_id))
        live = await self.hub.is_live(summary.conversation_id)
        await self.hub.case_changed({"summary": asdict(summary), "live": live})

    async def announce_new_cases(self) -> None:
        """Cases the bot opened outside this app (REST, phone) reach this process's consoles.

        Each app process looks for itself (one indexed read) and tells only its
        own consoles, so nothing is sent twice through the hub.
        """
        if self._newest_case is None:  # first look: the consoles got the queue on connect
            self._newest_case = await self.db(agent_queue.last_case_id)
            return
        seen = self._newest_case
        self._newest_case, cases = await self.db(lambda s: agent_queue.opened_after(s, seen))
        for summary in cases:
            if conversation_channel(summary.conversation_id) == "web":
                continue  # the app heard of it from the bot's reply and told the consoles
            live = await self.hub.is_live(summary.conversation_id)
            await self._send_case({"summary": asdict(summary), "live": live})

    async def _send_case(self, change: dict[str, Any]) -> None:
        """Send this process's consoles a changed case (each sees whether it is theirs)."""
        summary = agent_queue.CaseSummary(**change["summary"])
        for socket, agent_id in self.hub.consoles():
            frame = {"type": "case", "case": summary.as_json(agent_id, change["live"] is True)}
            try:
                await socket.send_json(frame)
            except Exception:  # noqa: BLE001 - closed consoles are removed by their reader
                continue
