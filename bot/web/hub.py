"""Who is connected, and delivering live frames to them, in one or several app processes.

Customers' widgets are grouped by conversation (one customer may have
several tabs open); agents' consoles are one group. What was said is in the
database; the hub only delivers live frames and knows who is online.

`Hub` serves one app process. `RedisHub` (used when REDIS_URL is set) lets
several app processes behind a load balancer act as one: frames go through
Redis pub/sub to whichever process holds the sockets, "the queue changed"
reaches every process's consoles, and each process publishes which
conversations have a widget connected to it (a set that expires if the
process dies).
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

import redis.asyncio
from fastapi import WebSocket

logger = logging.getLogger(__name__)
QueueChanged = Callable[[], Awaitable[None]]


class Hub:
    def __init__(self, on_queue_changed: QueueChanged | None = None) -> None:
        self.customers: dict[str, set[WebSocket]] = defaultdict(set)
        self.agents: dict[WebSocket, int] = {}
        self.on_queue_changed = on_queue_changed

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

    async def queue_changed(self) -> None:
        """Every console (in every process) should get the queue again."""
        if self.on_queue_changed is not None:
            await self.on_queue_changed()


class RedisHub(Hub):
    PREFIX = "stadtwerk:hub"
    LIVE = "stadtwerk:live"
    LIVE_SECONDS = 30  # a dead process's widgets stop counting after this

    def __init__(self, url: str, on_queue_changed: QueueChanged | None = None) -> None:
        super().__init__(on_queue_changed)
        self.redis = redis.asyncio.from_url(url)
        self.instance = secrets.token_hex(6)
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
        with contextlib.suppress(redis.RedisError):
            await self.redis.delete(self._live_key)
        await self.redis.close()

    async def _listen(self) -> None:
        """Deliver frames published by any process to this process's sockets."""
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.psubscribe(f"{self.PREFIX}:*")
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        await self._deliver(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis restarting: subscribe again
                logger.warning("hub lost its Redis subscription; retrying", exc_info=True)
                await asyncio.sleep(1)

    async def _deliver(self, channel: str, data: bytes) -> None:
        kind = channel[len(self.PREFIX) + 1 :]
        if kind == "queue":
            await super().queue_changed()
            return
        frame = json.loads(data)
        if kind == "consoles":
            await super().to_consoles(frame)
        elif kind.startswith("chat:"):
            await super().to_chat(kind.removeprefix("chat:"), frame)

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(self.LIVE_SECONDS / 3)
            try:
                await self._publish_presence()
            except redis.RedisError:
                logger.warning("hub could not refresh its presence in Redis")

    async def _publish_presence(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._live_key)
            if self.customers:
                pipe.sadd(self._live_key, *self.customers)
                pipe.expire(self._live_key, self.LIVE_SECONDS)
            await pipe.execute()

    async def join_chat(self, conversation_id: str, socket: WebSocket) -> None:
        await super().join_chat(conversation_id, socket)
        await self._publish_presence()

    async def leave_chat(self, conversation_id: str, socket: WebSocket) -> None:
        await super().leave_chat(conversation_id, socket)
        with contextlib.suppress(redis.RedisError):
            await self._publish_presence()

    async def live_conversations(self) -> set[str]:
        keys = [key async for key in self.redis.scan_iter(match=f"{self.LIVE}:*")]
        if not keys:
            return set()
        return {member.decode() for member in await self.redis.sunion(keys)}

    async def to_chat(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await self.redis.publish(f"{self.PREFIX}:chat:{conversation_id}", json.dumps(frame))

    async def to_consoles(self, frame: dict[str, Any]) -> None:
        await self.redis.publish(f"{self.PREFIX}:consoles", json.dumps(frame))

    async def queue_changed(self) -> None:
        await self.redis.publish(f"{self.PREFIX}:queue", "{}")


async def _send_all(sockets: list[WebSocket], frame: dict[str, Any]) -> None:
    async def send(socket: WebSocket) -> None:
        try:
            await socket.send_json(frame)
        except Exception:  # noqa: BLE001 - a closed socket is cleaned up by its reader
            logger.debug("dropping a frame for a closed socket")

    await asyncio.gather(*(send(socket) for socket in sockets))
