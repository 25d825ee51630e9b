"""The customer web chat: `WS /chat/ws` (see docs/web-chat-protocol.md).

While the bot is in charge, customer messages go to Rasa and its answers
back to the widget; after a handoff they go to the agent console instead
(only a gas smell is still answered by the bot, bot/domain/emergency.py).
Every message is stored first, so nothing is lost when a tab closes, the
network drops or the app restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError

from bot.domain.emergency import smells_gas
from bot.domain.languages import LANGUAGES
from bot.domain.services import chat as chats
from bot.domain.services import handoff
from bot.domain.services.chat import ChatInfo
from bot.domain.text import clean_message
from bot.protocol import (
    MAX_MESSAGE_CHARS,
    PERSON_PAYLOAD,
    BotReply,
    Button,
    Message,
    typed,
    web_source,
)
from bot.web.context import WebContext
from bot.web.frame_budget import POLICY_VIOLATION, FrameBudget, Verdict
from bot.web.rasa_client import BotUnavailable

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_FRAME_CHARS = 16_000
MAX_PAYLOAD_CHARS = 200
HELLO_TIMEOUT_SECONDS = 10.0


class ChatEnded(Exception):
    """The customer ended the chat; its socket is closed."""


@router.websocket("/chat/ws")
async def chat_socket(socket: WebSocket) -> None:
    web: WebContext = socket.app.state.web
    await socket.accept()
    chat = await _hello(web, socket)
    if chat is None:
        return
    await web.hub.join_chat(chat.conversation_id, socket)
    if _with_a_person(chat):
        await web.push_case(chat.case_id)  # the console shows the customer as connected
    budget = FrameBudget()
    try:
        while True:
            raw = await socket.receive_text()
            verdict = await budget.spend()
            if verdict is Verdict.CLOSE:
                logger.warning(
                    "web chat closed: a flood of frames conversation=%s", chat.conversation_id
                )
                await _close(socket)
                break
            if verdict is Verdict.DROP:
                if _is_message(raw):  # answered politely, as over the message limit
                    await _notice(web, socket, chat, "rate_limited")
                continue
            try:
                chat = await _on_frame(web, socket, chat, _frame(raw))
            except SQLAlchemyError:  # the database is down: say so, keep the socket
                logger.exception("web chat turn failed conversation=%s", chat.conversation_id)
                await _notice(web, socket, chat, "unavailable")
    except (WebSocketDisconnect, ChatEnded):
        pass
    finally:
        await web.hub.leave_chat(chat.conversation_id, socket)
        if _with_a_person(chat):
            await web.push_case(chat.case_id)


def _with_a_person(chat: ChatInfo) -> bool:
    """Whether the chat's case is in the agents' queue (waiting or taken)."""
    return bool(chat.case_id) and chat.state in ("waiting", "agent")


async def _on_frame(
    web: WebContext, socket: WebSocket, chat: ChatInfo, frame: dict[str, Any] | None
) -> ChatInfo:
    """Handle one frame with the chat's current state; return that state."""
    chat = await web.db(lambda s: chats.get(s, chat.id))
    if frame is None:
        await _notice(web, socket, chat, "invalid")
    elif frame["type"] == "message":
        await _on_message(web, socket, chat, frame)
    elif frame["type"] == "typing":
        await _on_typing(web, chat, frame)
    elif frame["type"] == "language":
        await _on_language(web, socket, chat, frame)
    elif frame["type"] == "end":
        await _on_end(web, socket, chat)
    else:
        await _notice(web, socket, chat, "invalid")
    return chat


def _frame(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_FRAME_CHARS:
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return None
    return frame


def _is_message(raw: str) -> bool:
    frame = _frame(raw)
    return frame is not None and frame["type"] == "message"


async def _hello(web: WebContext, socket: WebSocket) -> ChatInfo | None:
    """The first frame: resume the session of a known token, else start one."""
    try:
        raw = await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT_SECONDS)
    except (asyncio.TimeoutError, WebSocketDisconnect):
        await _close(socket)
        return None
    frame = _frame(raw)
    if frame is None or frame["type"] != "hello":
        await _close(socket)
        return None
    language = frame.get("language") if frame.get("language") in LANGUAGES else "de"
    token = frame.get("token")
    idle = dt.timedelta(hours=web.settings.chat_idle_hours)
    chat = await web.db(lambda s: chats.resume(s, token, idle))
    if chat is None:
        token, chat = await web.db(lambda s: chats.start(s, language))
        logger.info("web chat started conversation=%s language=%s", chat.conversation_id, language)
    history = await web.db(lambda s: chats.history(s, chat.id))
    await socket.send_json(
        {
            "type": "session",
            "token": token,
            "language": chat.language,
            "state": chat.state,
            "agent_name": chat.agent_name,
            "history": [message.as_frame() for message in history],
        }
    )
    return chat


async def _close(socket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError):  # already closed by the browser
        await socket.close(code=POLICY_VIOLATION)


async def _notice(web: WebContext, socket: WebSocket, chat: ChatInfo, code: str) -> None:
    """A polite word to this tab only; not part of the conversation."""
    response = {
        "empty": "utter_input_empty",
        "too_long": "utter_input_too_long",
        "rate_limited": "utter_input_rate_limited",
        "invalid": "utter_input_invalid",
        "unavailable": "utter_technical_problem",
    }[code]
    await socket.send_json(
        {"type": "notice", "code": code, "text": web.text(response, chat.language)}
    )


async def _on_message(
    web: WebContext, socket: WebSocket, chat: ChatInfo, frame: dict[str, Any]
) -> None:
    text = frame.get("text")
    if not isinstance(text, str):
        await _notice(web, socket, chat, "invalid")
        return
    text = clean_message(text)
    if not text:
        await _notice(web, socket, chat, "empty")
        return
    if len(text) > MAX_MESSAGE_CHARS:
        await _notice(web, socket, chat, "too_long")
        return
    if not await web.limiter.allow(f"chat:{chat.id}"):
        await _notice(web, socket, chat, "rate_limited")
        return
    payload = frame.get("payload")
    # A button's payload ("/affirm") goes to the bot only if the bot offered that
    # button; anything else is text, and typed text is never a command.
    offered: set[str] = set()
    if isinstance(payload, str) and len(payload) <= MAX_PAYLOAD_CHARS:
        offered = await web.db(lambda s: chats.offered_payloads(s, chat.id))
    to_bot = payload if payload in offered else typed(text)
    await web.say(chat, "customer", text)
    if chat.state == "bot":
        await _bot_turn(web, socket, chat, to_bot)
    elif smells_gas(text):
        # With a person too: the emergency answer cannot wait for them (the bot
        # answers only this; the chat stays with the person).
        await _bot_turn(web, socket, chat, to_bot)


async def _bot_turn(web: WebContext, socket: WebSocket, chat: ChatInfo, text: str) -> None:
    """Rasa answers; the typing indicator stays on until its messages are shown."""
    typing = {"type": "typing", "from": "bot", "active": True}
    await web.hub.to_chat(chat.conversation_id, typing)
    try:
        with web.metrics.turn_seconds.labels("web").time():
            await _bot_answers(web, socket, chat, text)
    finally:
        await web.hub.to_chat(chat.conversation_id, {**typing, "active": False})


async def _bot_answers(web: WebContext, socket: WebSocket, chat: ChatInfo, text: str) -> None:
    wants_person = text == PERSON_PAYLOAD
    try:
        reply = await web.rasa.turn(
            chat.conversation_id, text, chat.language, source=web.client_of(socket)
        )
    except BotUnavailable:
        if smells_gas(text):
            number = web.settings.emergency_number
            reply = BotReply(
                messages=[
                    Message(web.text("utter_gas_emergency", chat.language, emergency_number=number))
                ]
            )
        else:
            apology = web.text("utter_technical_problem", chat.language)
            reply = BotReply(messages=[Message(apology)], technical_problem=True)
    if reply.language in LANGUAGES and reply.language != chat.language:
        language = reply.language
        chat = await web.db(lambda s: chats.update(s, chat.id, language=language))
    if reply.technical_problem and reply.handoff is None and wants_person:
        # The bot cannot hand over now (its action server failed): the app does.
        await _hand_off_here(web, chat, web_source(web.client_of(socket), chat.conversation_id))
        return
    messages = list(reply.messages)
    if reply.technical_problem and messages:
        # The button with every technical problem: a person is still reachable.
        person = Button(web.text("utter_label_request_human", chat.language), PERSON_PAYLOAD)
        messages[-1] = Message(messages[-1].text, (*messages[-1].buttons, person))
    for number, message in enumerate(messages, 1):
        # the last message is the question: its input hint goes with it
        expects = reply.expects if number == len(messages) and reply.expects else None
        await web.say(
            chat,
            "bot",
            message.text,
            buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
            expects=expects.as_dict() if expects else None,
        )
    if reply.handoff is not None:
        await _wait_for_person(web, chat, reply.handoff.case_id or None)


async def _hand_off_here(web: WebContext, chat: ChatInfo, source: str) -> None:
    """Open the case without the bot; the agent reads the chat as stored here.

    Limited per source like the bot's handoffs (bot/domain/services/handoff.py).
    """
    settings = web.settings
    limit = handoff.SourceLimit(
        source, settings.handoff_cases_per_source_per_hour, settings.pseudonym_key.encode()
    )
    try:
        case = await web.db(
            lambda s: handoff.open_case(
                s,
                conversation_id=chat.conversation_id,
                reason=handoff.TECHNICAL_PROBLEM,
                language=chat.language,
                channel="web",
                customer_number=None,
                transcript=[],
                limit=limit,
            )
        )
    except handoff.TooManyCases:
        refused = handoff.when_refused(
            chat.language, hours=settings.hotline_hours, now=settings.now()
        )
        await web.say(chat, "bot", web.text(refused.response, chat.language, **refused.values))
        return
    then = handoff.what_next(
        case.case_id,
        chat.language,
        hours=settings.hotline_hours,
        wait_minutes=settings.handoff_wait_minutes,
        now=settings.now(),
    )
    await web.say(chat, "bot", web.text(then.response, chat.language, **then.values))
    await _wait_for_person(web, chat, case.case_id)


async def _wait_for_person(web: WebContext, chat: ChatInfo, case_id: str | None) -> None:
    chat = await web.db(lambda s: chats.update(s, chat.id, state="waiting", case_id=case_id))
    await web.hub.to_chat(
        chat.conversation_id, {"type": "state", "state": "waiting", "agent_name": None}
    )
    logger.info("web chat handed off conversation=%s case=%s", chat.conversation_id, case_id)
    if case_id:
        await web.push_case(case_id)


async def _on_typing(web: WebContext, chat: ChatInfo, frame: dict[str, Any]) -> None:
    if chat.case_id and chat.state in ("waiting", "agent"):
        await web.hub.to_consoles(
            {"type": "typing", "case_id": chat.case_id, "active": frame.get("active") is True}
        )


async def _on_language(
    web: WebContext, socket: WebSocket, chat: ChatInfo, frame: dict[str, Any]
) -> None:
    language = frame.get("language")
    if language not in LANGUAGES:
        await _notice(web, socket, chat, "invalid")
        return
    if language == chat.language:
        return
    await web.db(lambda s: chats.update(s, chat.id, language=language))
    try:
        await web.rasa.set_language(chat.conversation_id, language)
    except BotUnavailable:
        logger.warning("language not passed to the bot conversation=%s", chat.conversation_id)


async def _on_end(web: WebContext, socket: WebSocket, chat: ChatInfo) -> None:
    """The customer ended the chat (a shared computer): the token opens nothing any more."""
    await web.db(lambda s: chats.end(s, chat.id))
    logger.info("web chat ended by the customer conversation=%s", chat.conversation_id)
    await socket.send_json({"type": "ended"})
    await socket.close(code=1000)
    raise ChatEnded
