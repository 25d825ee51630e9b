"""The app's calls to the Rasa server: customer turns, language, resuming the bot.

Customer messages go through the REST channel with `channel: web` in the
metadata, like any client of the webhook. Setting the language and handing
the conversation back to the bot use Rasa's HTTP API (token protected).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.services.handoff import TECHNICAL_PROBLEM
from bot.settings import Settings

logger = logging.getLogger(__name__)
TURN_TIMEOUT_SECONDS = 30.0


class BotUnavailable(Exception):
    """Rasa did not answer (down, restarting, overloaded)."""


@dataclass
class BotReply:
    """What the bot answered in one turn, for the web chat."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # {text, buttons}
    handoff: dict[str, Any] | None = None
    language: str | None = None
    technical_problem: bool = False  # the bot apologised: its action server failed

    @classmethod
    def from_rasa(cls, answers: list[dict[str, Any]]) -> BotReply:
        reply = cls()
        for answer in answers:
            custom = answer.get("custom")
            if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
                reply.handoff = custom["handoff"]
            if isinstance(custom, dict) and custom.get(TECHNICAL_PROBLEM) is True:
                reply.technical_problem = True
            text = answer.get("text")
            if isinstance(text, str) and text.strip():
                buttons = [
                    {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                    for b in answer.get("buttons") or []
                    if isinstance(b, dict) and b.get("title")
                ]
                reply.messages.append({"text": text, "buttons": buttons})
        return reply


class RasaClient:
    def __init__(self, settings: Settings) -> None:
        self.base = settings.rasa_url
        self.token = settings.rasa_auth_token
        self.client = httpx.AsyncClient(timeout=TURN_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self.client.aclose()

    async def alive(self) -> bool:
        try:
            return (await self.client.get(f"{self.base}/", timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _post(self, path: str, body: Any, api: bool = True) -> Any:
        params = {"token": self.token} if api else None
        try:
            answer = await self.client.post(f"{self.base}{path}", json=body, params=params)
            answer.raise_for_status()
            return answer.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("rasa call %s failed: %s", path.split("/")[1], type(error).__name__)
            raise BotUnavailable(str(error)) from error

    async def turn(self, conversation_id: str, text: str, language: str) -> BotReply:
        """One customer message; the bot's answers and the conversation's language."""
        answers = await self._post(
            "/webhooks/rest/webhook",
            {
                "sender": conversation_id,
                "message": text,
                "metadata": {"language": language, "channel": "web"},
            },
            api=False,
        )
        reply = BotReply.from_rasa(answers if isinstance(answers, list) else [])
        reply.language = await self.language(conversation_id)
        return reply

    async def language(self, conversation_id: str) -> str | None:
        try:
            answer = await self.client.get(
                f"{self.base}/conversations/{conversation_id}/tracker",
                params={"token": self.token, "include_events": "NONE"},
            )
            answer.raise_for_status()
            return (answer.json().get("slots") or {}).get("language")
        except (httpx.HTTPError, ValueError):
            return None

    async def set_language(self, conversation_id: str, language: str) -> None:
        await self._post(
            f"/conversations/{conversation_id}/tracker/events",
            [{"event": "slot", "name": "language", "value": language}],
        )

    async def resume(self, conversation_id: str, response: str) -> BotReply:
        """The bot takes the conversation back and says `response`.

        Rasa's execute endpoint runs the response but does not listen after it;
        the `action_listen` event makes the next message a normal turn.
        """
        events = f"/conversations/{conversation_id}/tracker/events"
        await self._post(events, [{"event": "resume"}])
        answer = await self._post(f"/conversations/{conversation_id}/execute", {"name": response})
        await self._post(events, [{"event": "action", "name": "action_listen"}])
        return BotReply.from_rasa(answer.get("messages") or [])
