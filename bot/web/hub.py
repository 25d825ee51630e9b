"""Who is connected, and delivering live frames to them, in one or several app processes.

Customers' widgets are grouped by conversation (one customer may have
several tabs open); agents' consoles are one group. What was said is in the
database; the hub only delivers live frames and knows who is online.

`Hub` serves one app process. `RedisHub` (used when REDIS_URL is set) lets
several app processes behind a load balancer act as one: frames go through
Redis pub/sub to whichever process holds the sockets, "this case changed"
reaches every process's consoles, and each process publishes which
conversations have a widget connected to it (a set that expires if the
process dies).

While Redis cannot be reached (an outage, a restart, a hung network) a
`RedisHub` delivers in its own process: its widgets and consoles get every
frame of what happens there and no caller sees an error. A warning is
logged once per outage; when its subscription is back, frames go through
Redis again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from fastapi import WebSocket

from bot.infra.redis_clients import redis_client

logger = logging.getLogger(__name__)
# A case changed: each process tells its consoles (`change` as WebContext made it).
CaseChanged = Callable[[dict[str, Any]], Awaitable[None]]
# How a call to Redis fails when Redis is gone or does not answer.
REDIS_FAILURES = (redis.RedisError, OSError, asyncio.TimeoutError)


class Hub:
    def __init__(self, on_case_changed: CaseChanged | None = None) -> None:
        self.customers: dict[str, set[WebSocket]] = defaultdict(set)
        self.agents: dict[WebSocket, int] = {}
        self.on_case_changed = on_case_changed

    async def start(self) -> None:
        """Nothing to connect to for one process."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    # --- customers --------------------------------------------------------------------

    async def join_chat(self, conversation_id: str, socket: WebSocket) -> None:
        self.customers[conversation_id].add(socket)

    async def leave_chat(self, conversation_id: str, socket: WebSocket) -> None:
        sockets = self.customers.get(conversation_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.customers[conversation_id]

    def live_chats(self) -> int:
        """Conversations with at least one widget connected to this process."""
        return len(self.customers)

    async def live_conversations(self) -> set[str]:
        """Conversations whose customer has the widget open (in any process)."""
        return set(self.customers)

    async def is_live(self, conversation_id: str) -> bool:
        """Whether this conversation's customer has the widget open (in any process)."""
        return conversation_id in self.customers

    async def to_chat(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await _send_all(list(self.customers.get(conversation_id, ())), frame)

    # --- agents -----------------------------------------------------------------------

    def join_console(self, socket: WebSocket, agent_id: int) -> None:
        self.agents[socket] = agent_id

    def leave_console(self, socket: WebSocket) -> None:
        self.agents.pop(socket, None)

    def consoles(self) -> list[tuple[WebSocket, int]]:
        """The consoles connected to this process."""
        return list(self.agents.items())

    async def to_consoles(self, frame: dict[str, Any]) -> None:
        await _send_all(list(self.agents), frame)

    async def case_changed(self, change: dict[str, Any]) -> None:
        """One case changed: the consoles of every process are told."""
        if self.on_case_changed is not None:
            await self.on_case_changed(change)


class RedisHub(Hub):
    PREFIX = "stadtwerk:hub"
    LIVE = "stadtwerk:live"
    LIVE_SECONDS = 30  # a dead process's widgets stop counting after this
    POLL_SECONDS = 1.0  # the subscription is read in steps this long
    RETRY_SECONDS = 1.0  # after losing Redis, subscribe again this often

    def __init__(
        self, url: str, timeout: float, on_case_changed: CaseChanged | None = None
    ) -> None:
        super().__init__(on_case_changed)
        self.redis = redis_client(url, timeout)  # a call gives up after `timeout` seconds
        self.instance = secrets.token_hex(6)
        # Subscribed, so frames published through Redis reach this process's
        # sockets too; while False, everything is delivered in this process.
        self.through_redis = False
        self._outage_logged = False
        self._tasks: list[asyncio.Task] = []

    @property
    def _live_key(self) -> str:
        return f"{self.LIVE}:{self.instance}"

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._keep_presence()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.through_redis:
            with contextlib.suppress(*REDIS_FAILURES):
                await self.redis.delete(self._live_key)
        await self.redis.close()

    # --- Redis lost and found ---------------------------------------------------------

    def _lost(self, error: BaseException) -> None:
        """Redis failed: deliver in this process until the subscription is back."""
        self.through_redis = False
        if not self._outage_logged:
            # The error's type only: its text may name the server (never the URL's password).
            logger.warning(
                "hub: Redis unreachable (%s); delivering in this process until it answers",
                type(error).__name__,
            )
            self._outage_logged = True

    def _found(self) -> None:
        self.through_redis = True
        if self._outage_logged:  # the outage's end, as visible as its start
            logger.warning("hub: Redis answers again; frames go through it")
            self._outage_logged = False

    async def _listen(self) -> None:
        """Deliver frames published by any process to this process's sockets."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(f"{self.PREFIX}:*")
                await self._publish_presence()
                self._found()
                while self.through_redis:  # a failed publish elsewhere ends this
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self.POLL_SECONDS
                    )
                    if message is not None and message["type"] == "pmessage":
                        await self._deliver(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis gone or restarting: subscribe again
                self._lost(error)
            finally:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await pubsub.close()
            await asyncio.sleep(self.RETRY_SECONDS)

    async def _deliver(self, channel: str, data: bytes) -> None:
        """One frame from Redis to this process's sockets (a bad one is skipped)."""
        kind = channel[len(self.PREFIX) + 1 :]
        try:
            payload = json.loads(data)
            if kind == "case":
                await Hub.case_changed(self, payload)
            elif kind == "consoles":
                await Hub.to_consoles(self, payload)
            elif kind.startswith("chat:"):
                await Hub.to_chat(self, kind.removeprefix("chat:"), payload)
        except Exception:  # noqa: BLE001 - one bad frame must not end the subscription
            logger.exception("hub: a frame from Redis could not be delivered")

    async def _publish(
        self, channel: str, payload: dict[str, Any], here: Callable[[], Awaitable[None]]
    ) -> None:
        """To every process through Redis; while Redis is away, `here` (this process)."""
        if self.through_redis:
            try:
                await self.redis.publish(f"{self.PREFIX}:{channel}", json.dumps(payload))
                return
            except REDIS_FAILURES as error:
                self._lost(error)
        await here()

    # --- who is online ----------------------------------------------------------------

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(self.LIVE_SECONDS / 3)
            await self._refresh_presence()

    async def _refresh_presence(self) -> None:
        """Tell Redis which conversations have a widget here (again when it is back)."""
        if not self.through_redis:
            return
        try:
            await self._publish_presence()
        except REDIS_FAILURES as error:
            self._lost(error)

    async def _publish_presence(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._live_key)
            if self.customers:
                pipe.sadd(self._live_key, *self.customers)
                pipe.expire(self._live_key, self.LIVE_SECONDS)
            await pipe.execute()

    async def _live_keys(self) -> list[bytes]:
        return [key async for key in self.redis.scan_iter(match=f"{self.LIVE}:*")]

    async def join_chat(self, conversation_id: str, socket: WebSocket) -> None:
        await super().join_chat(conversation_id, socket)
        await self._refresh_presence()

    async def leave_chat(self, conversation_id: str, socket: WebSocket) -> None:
        await super().leave_chat(conversation_id, socket)
        await self._refresh_presence()

    async def live_conversations(self) -> set[str]:
        here = await super().live_conversations()
        if not self.through_redis:
            return here
        try:
            keys = await self._live_keys()
            members = await self.redis.sunion(keys) if keys else set()
        except REDIS_FAILURES as error:
            self._lost(error)
            return here
        return here | {member.decode() for member in members}

    async def is_live(self, conversation_id: str) -> bool:
        if await super().is_live(conversation_id):
            return True
        if not self.through_redis:
            return False
        try:
            keys = await self._live_keys()
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.sismember(key, conversation_id)
                return any(await pipe.execute())
        except REDIS_FAILURES as error:
            self._lost(error)
            return False

    # --- delivering -------------------------------------------------------------------

    async def to_chat(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await self._publish(
            f"chat:{conversation_id}", frame, lambda: Hub.to_chat(self, conversation_id, frame)
        )

    async def to_consoles(self, frame: dict[str, Any]) -> None:
        await self._publish("consoles", frame, lambda: Hub.to_consoles(self, frame))

    async def case_changed(self, change: dict[str, Any]) -> None:
        await self._publish("case", change, lambda: Hub.case_changed(self, change))


async def _send_all(sockets: list[WebSocket], frame: dict[str, Any]) -> None:
    async def send(socket: WebSocket) -> None:
        try:
            await socket.send_json(frame)
        except Exception:  # noqa: BLE001 - a closed socket is cleaned up by its reader
            logger.debug("dropping a frame for a closed socket")

    await asyncio.gather(*(send(socket) for socket in sockets))
