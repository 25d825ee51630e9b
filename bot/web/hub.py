"""Who is connected to this app process, and sending frames to them.

Customers' widgets are grouped by conversation (one customer may have
several tabs open); agents' consoles are one group. What was said is in the
database; the hub only delivers live frames and knows who is online.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from fastapi import WebSocket

logger = logging.getLogger(__name__)


class Hub:
    def __init__(self) -> None:
        self.customers: dict[str, set[WebSocket]] = defaultdict(set)
        self.agents: dict[WebSocket, int] = {}

    # --- customers --------------------------------------------------------------------

    def join_chat(self, conversation_id: str, socket: WebSocket) -> None:
        self.customers[conversation_id].add(socket)

    def leave_chat(self, conversation_id: str, socket: WebSocket) -> None:
        sockets = self.customers.get(conversation_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.customers[conversation_id]

    def live_chats(self) -> int:
        """Conversations with at least one widget connected to this process."""
        return len(self.customers)

    def is_live(self, conversation_id: str) -> bool:
        """Whether the customer of this conversation has the widget open."""
        return bool(self.customers.get(conversation_id))

    async def to_chat(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await _send_all(list(self.customers.get(conversation_id, ())), frame)

    # --- agents -----------------------------------------------------------------------

    def join_console(self, socket: WebSocket, agent_id: int) -> None:
        self.agents[socket] = agent_id

    def leave_console(self, socket: WebSocket) -> None:
        self.agents.pop(socket, None)

    def consoles(self) -> list[tuple[WebSocket, int]]:
        return list(self.agents.items())

    async def to_consoles(self, frame: dict[str, Any]) -> None:
        await _send_all(list(self.agents), frame)


async def _send_all(sockets: list[WebSocket], frame: dict[str, Any]) -> None:
    async def send(socket: WebSocket) -> None:
        try:
            await socket.send_json(frame)
        except Exception:  # noqa: BLE001 - a closed socket is cleaned up by its reader
            logger.debug("dropping a frame for a closed socket")

    await asyncio.gather(*(send(socket) for socket in sockets))
