"""The web chat's channel: how the web app (bot/web) talks to the bot.

Registered in `credentials.yml` (name `web`). Only the web app calls it: every
request carries the shared secret (`Authorization: Bearer $RASA_AUTH_TOKEN`),
and conversations are the web chat's own (`web-` and 24 hex digits).

- `POST /webhooks/web/turn` `{sender, message, language, source?}`: one customer
  message; the answer is the protocol's reply as JSON (texts, buttons,
  handoff, technical problem, input hint, language: bot/protocol.py).
- `POST /webhooks/web/language` `{sender, language}`: the customer switched
  the widget's language.
- `POST /webhooks/web/resume` `{sender, response}`: the bot takes the
  conversation back from an agent and says `response`; the answer is the
  reply as JSON.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.domain.languages import known
from bot.domain.text import clean_message
from bot.infra.settings import get_settings
from bot.protocol import WEB_CONVERSATION, input_problem, web_source
from bot.rasa_runtime import conversation
from connectors.collector import ReplyCollector

logger = logging.getLogger(__name__)

RESPONSE = re.compile(r"utter_agent_[a-z_]{1,40}")
TurnHandler = Callable[[UserMessage], Awaitable[Any]]


class BadRequest(ValueError):
    """The request is not one the web app sends; the text says why."""


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json
    except SanicException:
        body = None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if not isinstance(body.get("sender"), str) or not WEB_CONVERSATION.fullmatch(body["sender"]):
        raise BadRequest("'sender' must be a web chat's conversation id")
    return body


def _language(body: dict[str, Any]) -> str:
    language = known(body.get("language"))
    if language is None:
        raise BadRequest("'language' must be de or tr")
    return language


def _source(body: dict[str, Any]) -> str:
    client = body.get("source")
    return web_source(client if isinstance(client, str) else None, body["sender"])


class WebInput(InputChannel):
    """The web app's side door into Rasa: protocol replies instead of Rasa's REST format."""

    @classmethod
    def name(cls) -> str:
        return "web"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(get_settings().rasa_auth_token)

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.secret}".encode())

    def blueprint(self, on_new_message: TurnHandler) -> Blueprint:
        webhook = Blueprint("web_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/turn", methods=["POST"])
        async def turn(request: Request) -> HTTPResponse:
            return await self._handle(request, lambda body: self._turn(on_new_message, body))

        @webhook.route("/language", methods=["POST"])
        async def language(request: Request) -> HTTPResponse:
            async def work(body: dict[str, Any]) -> dict[str, Any]:
                await conversation.set_language(request, body["sender"], _language(body))
                return {"language": body["language"]}

            return await self._handle(request, work)

        @webhook.route("/resume", methods=["POST"])
        async def resume(request: Request) -> HTTPResponse:
            async def work(body: dict[str, Any]) -> dict[str, Any]:
                said = body.get("response")
                if not isinstance(said, str) or not RESPONSE.fullmatch(said):
                    raise BadRequest("'response' must name an utter_agent_* response")
                collector = ReplyCollector()
                await conversation.resume(request, body["sender"], said, collector)
                return collector.reply().to_json()

            return await self._handle(request, work)

        return webhook

    async def _handle(
        self, request: Request, work: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    ) -> HTTPResponse:
        if not self._authorised(request):
            return response.json({"error": "not the web app"}, status=401)
        try:
            body = _body(request)
            return response.json(await work(body))
        except BadRequest as bad:
            return response.json({"error": str(bad)}, status=400)
        except Exception:  # noqa: BLE001 - the app tells the customer; no text is logged
            logger.exception("web channel request failed path=%s", request.path)
            return response.json({"error": "the bot could not answer"}, status=503)

    async def _turn(self, on_new_message: TurnHandler, body: dict[str, Any]) -> dict[str, Any]:
        text = body.get("message")
        if not isinstance(text, str):
            raise BadRequest("'message' must be a string")
        text = clean_message(text)
        if input_problem(text):
            raise BadRequest("the app refuses empty and over-long messages itself")
        collector = ReplyCollector()
        await on_new_message(
            UserMessage(
                text,
                collector,
                body["sender"],
                input_channel=self.name(),
                metadata={
                    "language": _language(body),
                    "channel": "web",
                    # the browser's address as the app saw it (identity checks count per source)
                    "source": _source(body),
                },
            )
        )
        return collector.reply().to_json()
