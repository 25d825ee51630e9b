"""The app's calls to the bot: customer turns, language, resuming the bot.

They go to the web chat's own channel in the Rasa server (connectors/web.py),
with the shared secret in a header, and come back as the protocol's reply
(bot/protocol.py): texts with buttons, handoff, technical problem, the input
hint of the bot's question and the language it answered in.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.infra.settings import Settings
from bot.protocol import BotReply

logger = logging.getLogger(__name__)
TURN_TIMEOUT_SECONDS = 30.0
CHANNEL = "/webhooks/web"


class BotUnavailable(Exception):
    """Rasa did not answer (down, restarting, overloaded)."""


class RasaClient:
    def __init__(self, settings: Settings) -> None:
        self.base = settings.rasa_base_url
        self.client = httpx.AsyncClient(
            timeout=TURN_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {settings.rasa_auth_token}"},
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def alive(self) -> bool:
        try:
            return (await self.client.get(f"{self.base}/", timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            answer = await self.client.post(f"{self.base}{CHANNEL}{path}", json=body)
            answer.raise_for_status()
            return answer.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("bot call %s failed: %s", path, type(error).__name__)
            raise BotUnavailable(type(error).__name__) from error

    async def turn(
        self, conversation_id: str, text: str, language: str, source: str | None = None
    ) -> BotReply:
        """One customer message (`source`: the browser's address); the bot's reply."""
        body = {"sender": conversation_id, "message": text, "language": language}
        if source:
            body["source"] = source
        answer = await self._post("/turn", body)
        return BotReply.from_json(answer)

    async def set_language(self, conversation_id: str, language: str) -> None:
        await self._post("/language", {"sender": conversation_id, "language": language})

    async def resume(self, conversation_id: str, response: str) -> BotReply:
        """The bot takes the conversation back and says `response`."""
        answer = await self._post("/resume", {"sender": conversation_id, "response": response})
        return BotReply.from_json(answer)
