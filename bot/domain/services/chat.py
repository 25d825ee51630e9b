"""Web chat sessions and their messages.

A session is found by its secret token (the browser keeps it; the database
only its hash) and owns one Rasa conversation id. Every message, from the
customer, the bot, an agent or the system, is stored before it is shown, so
a reload, a second tab or a restarted app shows the same conversation.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.languages import LANGUAGES
from bot.domain.models import ChatMessage, ChatSession, HandoffCase, utcnow
from bot.domain.services.agents import token_hash

SENDERS = ("customer", "bot", "agent", "system")
STATES = ("bot", "waiting", "agent")


@dataclass(frozen=True)
class ChatInfo:
    id: int
    conversation_id: str
    language: str
    state: str
    case_id: str | None
    agent_name: str | None = None


@dataclass(frozen=True)
class MessageInfo:
    id: int
    sender: str
    text: str
    at: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    agent_name: str | None = None
    expects: dict[str, Any] | None = None  # a bot question's input hint

    def as_frame(self) -> dict[str, Any]:
        """The `message` frame of the wire protocol."""
        return {
            "type": "message",
            "id": self.id,
            "from": self.sender,
            "text": self.text,
            "buttons": self.buttons,
            "expects": self.expects,
            "agent_name": self.agent_name,
            "at": self.at,
        }


def iso(moment: Any) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def _message(row: ChatMessage) -> MessageInfo:
    return MessageInfo(
        id=row.id,
        sender=row.sender,
        text=row.text,
        at=iso(row.created_at),
        buttons=list(row.buttons or []),
        agent_name=row.agent.first_name if row.agent is not None else None,
        expects=row.expects if isinstance(row.expects, dict) else None,
    )


def _info(session: Session, chat: ChatSession) -> ChatInfo:
    agent_name = None  # the claimed case tells who is in charge
    if chat.state == "agent" and chat.case_id:
        case = session.scalar(select(HandoffCase).where(HandoffCase.case_id == chat.case_id))
        if case is not None and case.claimed_by is not None:
            agent_name = case.claimed_by.first_name
    return ChatInfo(
        chat.id, chat.conversation_id, chat.language, chat.state, chat.case_id, agent_name
    )


def start(session: Session, language: str) -> tuple[str, ChatInfo]:
    """A new chat: its token (given to the browser once) and the session."""
    token = secrets.token_urlsafe(32)
    chat = ChatSession(
        token_hash=token_hash(token),
        conversation_id="web-" + secrets.token_hex(12),
        language=language if language in LANGUAGES else "de",
        state="bot",
    )
    session.add(chat)
    session.flush()
    return token, _info(session, chat)


def resume(session: Session, token: Any, idle: dt.timedelta | None = None) -> ChatInfo | None:
    """The session of a browser's token; None if unknown, ended, or idle longer than `idle`."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    chat = session.scalar(select(ChatSession).where(ChatSession.token_hash == token_hash(token)))
    if chat is None:
        return None
    if idle is not None and chat.last_active_at < utcnow() - idle:
        end(session, chat.id)  # the old token opens nothing any more
        return None
    chat.last_active_at = utcnow()
    return _info(session, chat)


def end(session: Session, chat_id: int) -> None:
    """The customer ended the chat (or it expired): its token opens nothing any more.

    The messages stay for the agents' case and the retention rules; only the
    browser's way back into them is gone.
    """
    chat = session.get(ChatSession, chat_id)
    chat.token_hash = token_hash(secrets.token_urlsafe(32))
    session.flush()


def get(session: Session, chat_id: int) -> ChatInfo:
    return _info(session, session.get(ChatSession, chat_id))


def by_conversation(session: Session, conversation_id: str) -> ChatInfo | None:
    chat = session.scalar(select(ChatSession).where(ChatSession.conversation_id == conversation_id))
    return _info(session, chat) if chat is not None else None


def history(session: Session, chat_id: int, limit: int = 500) -> list[MessageInfo]:
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.chat_session_id == chat_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    ).all()
    return [_message(row) for row in reversed(rows)]


def offered_payloads(session: Session, chat_id: int) -> set[str]:
    """The payloads of the buttons the bot offered since the customer last wrote."""
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.chat_session_id == chat_id)
        .order_by(ChatMessage.id.desc())
        .limit(20)
    )
    payloads: set[str] = set()
    for row in rows:
        if row.sender == "customer":
            break
        if row.sender == "bot":
            payloads |= {
                b["payload"] for b in row.buttons or [] if isinstance(b.get("payload"), str)
            }
    return payloads


def add_message(
    session: Session,
    chat_id: int,
    sender: str,
    text: str,
    *,
    buttons: list[dict[str, str]] | None = None,
    expects: dict[str, Any] | None = None,
    agent_id: int | None = None,
) -> MessageInfo:
    if sender not in SENDERS:
        raise ValueError(f"unknown sender {sender!r}")
    row = ChatMessage(
        chat_session_id=chat_id,
        sender=sender,
        text=text,
        buttons=buttons or [],
        expects=expects,
        agent_id=agent_id,
    )
    session.add(row)
    chat = session.get(ChatSession, chat_id)
    chat.last_active_at = utcnow()
    session.flush()
    return _message(row)


def update(
    session: Session,
    chat_id: int,
    *,
    state: str | None = None,
    language: str | None = None,
    case_id: str | None = None,
) -> ChatInfo:
    chat = session.get(ChatSession, chat_id)
    if state is not None:
        if state not in STATES:
            raise ValueError(f"unknown chat state {state!r}")
        chat.state = state
    if language in LANGUAGES:
        chat.language = language
    if case_id is not None:
        chat.case_id = case_id
    session.flush()
    return _info(session, chat)
