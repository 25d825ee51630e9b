"""The REST chat channel, with input checks in front of Rasa's own.

Registered in `credentials.yml` under the name `rest`, so the webhook stays at
`POST /webhooks/rest/webhook` with Rasa's request and reply format. Rasa's
stock channel passes anything on: a missing sender puts every anonymous caller
into one shared conversation called "default", a JSON list crashes it into a
500, and a client can claim any input channel. This one:

- answers malformed requests with 400 and a short JSON error;
- requires a sender id and always records the channel as `rest`;
- removes control and invisible characters from the text;
- answers empty and over-long messages itself, politely and in the customer's
  language, without touching the conversation;
- passes on only the metadata the assistant understands (`language`, `channel`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.domain import language
from bot.domain.languages import LANGUAGES, known
from bot.domain.text import clean_message
from bot.infra.limits import limiter
from bot.infra.network import client_address, trusted_set
from bot.infra.settings import Settings, get_settings
from bot.protocol import MAX_MESSAGE_CHARS, conversation_channel, input_problem
from bot.rasa_runtime import conversation
from bot.rasa_runtime.metrics import TURN_SECONDS

logger = logging.getLogger(__name__)

SENDER_PATTERN = re.compile(r"[A-Za-z0-9_.:@\-]{1,128}")
# Channels that may speak through this webhook; the phone has its own.
CHAT_CHANNELS = {"rest", "web", "app"}


class InvalidRequest(ValueError):
    """The request cannot be a chat message; the text says why."""


def parse_request(payload: Any) -> tuple[str, str, dict[str, str]]:
    """Sender, cleaned text and allowed metadata from a webhook body."""
    if not isinstance(payload, dict):
        raise InvalidRequest("the body must be a JSON object")
    sender = payload.get("sender")
    if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
        raise InvalidRequest(
            "'sender' must be 1-128 letters, digits or _ . : @ - identifying the conversation"
        )
    if conversation_channel(sender) != "rest":
        raise InvalidRequest("'sender' names a conversation of another channel")
    message = payload.get("message", "")
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise InvalidRequest("'message' must be a string")
    raw_metadata = payload.get("metadata")
    if raw_metadata is not None and not isinstance(raw_metadata, dict):
        raise InvalidRequest("'metadata' must be a JSON object")
    metadata: dict[str, str] = {}
    if raw_metadata:
        if known(raw_metadata.get("language")):
            metadata["language"] = raw_metadata["language"]
        if raw_metadata.get("channel") in CHAT_CHANNELS:
            metadata["channel"] = raw_metadata["channel"]
    return sender, clean_message(message), metadata


class GuardedRestInput(RestInput):
    """Rasa's REST channel with input checks; same URL and reply format."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(get_settings())

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self.trusted = trusted_set(settings.trusted_proxies)
        # Shared through Redis when several Rasa instances run.
        self.limiter = limiter(settings.redis_url, "rest", settings.rest_messages_per_minute, 60.0)

    def _client(self, request: Request) -> str:
        return client_address(request.ip, request.headers.get("X-Forwarded-For"), self.trusted)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.perf_counter()
            try:
                payload = request.json
            except SanicException:
                return response.json({"error": "the body is not valid JSON"}, status=400)
            try:
                sender, text, metadata = parse_request(payload)
            except InvalidRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            client = self._client(request)
            # Our own machines and proxies (that name no client) are not limited:
            # behind the edge proxy every customer's request names its client.
            if client not in self.trusted:
                if not await self.limiter.allow(client):
                    return await self._refuse(
                        request, sender, text, metadata, "utter_input_rate_limited", 429
                    )
                metadata["source"] = f"rest:{client}"
            # Typed text is never a command: "/restart" is only a button's if the bot offered it.
            text = await conversation.typed_or_offered(request, sender, text)

            problem = input_problem(text)
            if problem:
                return await self._refuse(request, sender, text, metadata, problem)

            collector = CollectingOutputChannel()
            # a turn: from the request to the answer (refusals above are no turn)
            timer = TURN_SECONDS.labels("rest")
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata or None,
                    )
                )
            except Exception:  # noqa: BLE001 - the customer still gets an answer
                # The message text may hold personal data: never log it.
                logger.exception("rest turn failed for one conversation")
                if not collector.messages:
                    lang = metadata.get("language") or "de"
                    text = conversation.domain_text(request, "utter_technical_problem", lang)
                    timer.observe(time.perf_counter() - started)
                    return response.json([{"recipient_id": sender, "text": text}])
            timer.observe(time.perf_counter() - started)
            return response.json(collector.messages)

        return webhook

    async def _refuse(
        self,
        request: Request,
        sender: str,
        text: str,
        metadata: dict[str, str],
        problem: str,
        status: int = 200,
    ) -> HTTPResponse:
        """A polite answer in the customer's language; the conversation is not touched."""
        languages = (
            [metadata["language"]]
            if "language" in metadata
            else await self._languages(request, sender, text)
        )
        logger.info("rest input refused: %s (%d chars)", problem, len(text))
        return response.json(
            [
                {"recipient_id": sender, "text": conversation.domain_text(request, problem, lang)}
                for lang in languages
            ],
            status=status,
        )

    @staticmethod
    async def _languages(request: Request, sender: str, text: str) -> list[str]:
        """Languages to answer in: the conversation's, the text's, else both."""
        current = await conversation.language(request, sender)
        if current:
            return [current]
        detected = language.detect(text[:MAX_MESSAGE_CHARS]) if text else None
        return [detected] if detected else list(LANGUAGES)
