"""The output channel that collects one turn's replies, for channels that answer at once.

Rasa's `CollectingOutputChannel` keeps the REST wire form of each message
(text, buttons, custom). This one also keeps what Rasa handed over in full,
with the response's metadata, so `reply()` can give the protocol's
`BotReply` with its input hint and language (bot/protocol.py).
"""

from __future__ import annotations

import copy
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

from bot.protocol import BotReply


class ReplyCollector(CollectingOutputChannel):
    """Collects the bot's messages of one turn; `reply()` reads them as a `BotReply`."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent.append(copy.deepcopy(message))
        await super().send_response(recipient_id, message)

    def reply(self) -> BotReply:
        return BotReply.from_rasa(self.sent)
