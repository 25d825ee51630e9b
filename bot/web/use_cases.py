"""The agent console's business steps: claim, reply, release, close, requeue.

Each step is one function that runs in one database transaction (the route
calls it through `WebContext.db`) and returns what changed and what to tell
the browsers: frames for the customer's widget and for the consoles, and
whether the queue changed. So a crash in the middle of a step leaves nothing
half done (a message without its audit entry, a claim without its system
line). Release and close change the case first, in one conditional update
(of two racing requests only one wins; the other is refused); only then
does the route ask the bot to take the web chat back and `greet` stores and
shows what it said, so the customer is told nothing that did not happen. If
the bot does not answer, `take_back` undoes the step.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.services import agent_queue, agents
from bot.domain.services import chat as chats
from bot.domain.services.agent_queue import CaseSummary
from bot.domain.services.agents import AgentInfo
from bot.domain.services.chat import ChatInfo, MessageInfo
from bot.protocol import Message

logger = logging.getLogger(__name__)
#: A customer-facing text of the domain: (response name, language, values) → text.
Texts = Callable[..., str]


class NotAWebChat(Exception):
    """Only web chats can be answered from the console (a call went to a phone)."""


@dataclass
class Broadcast:
    """What the browsers are told after a step."""

    chat: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (conversation, frame)
    consoles: list[dict[str, Any]] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)  # cases whose place in the queue changed

    @property
    def queue_changed(self) -> bool:
        return bool(self.cases)

    def message(self, chat: ChatInfo, message: MessageInfo) -> None:
        """A stored chat message: to the customer's widget and to the case's console view."""
        frame = message.as_frame()
        self.chat.append((chat.conversation_id, frame))
        if chat.case_id:
            self.consoles.append({"type": "message", "case_id": chat.case_id, "message": frame})

    def state(self, conversation_id: str, state: str, agent_name: str | None = None) -> None:
        self.chat.append(
            (conversation_id, {"type": "state", "state": state, "agent_name": agent_name})
        )


@dataclass
class Outcome:
    """A step's result: the case as it is now, and what to broadcast."""

    summary: CaseSummary
    broadcast: Broadcast
    #: the web chat the bot takes back (release, close); None for other channels
    chat: ChatInfo | None = None
    #: seconds the case waited until this claim (None: no new claim)
    waited_seconds: float | None = None


@dataclass
class Replied:
    """The agent's message as stored, and what to broadcast."""

    message: MessageInfo
    broadcast: Broadcast


def claim(session: Session, case_id: str, agent: AgentInfo, texts: Texts) -> Outcome:
    """The agent takes the case; a web chat's customer sees who joined."""
    taken = agent_queue.take(session, case_id, agent.id)
    summary = taken.summary
    agents.mark_seen(session, agent.id)
    broadcast = Broadcast(cases=[case_id])
    chat = chats.by_conversation(session, summary.conversation_id)
    if chat is not None:
        line = texts("utter_agent_joined", chat.language, agent_name=agent.first_name)
        broadcast.message(chat, chats.add_message(session, chat.id, "system", line))
        broadcast.state(chat.conversation_id, "agent", agent.first_name)
    waited = taken.waited.total_seconds() if taken.waited is not None else None
    return Outcome(summary, broadcast, waited_seconds=waited)


def web_chat_of(session: Session, case_id: str, agent_id: int) -> ChatInfo | None:
    """The web chat of a case this agent holds (None for a phone case)."""
    case = agent_queue.check_owner(session, case_id, agent_id)
    return chats.by_conversation(session, case.conversation_id)


def reply(session: Session, case_id: str, agent: AgentInfo, text: str) -> Replied:
    """The agent's message to the customer: stored, audited and the agent seen, together."""
    chat = web_chat_of(session, case_id, agent.id)
    if chat is None:
        raise NotAWebChat(case_id)
    message = chats.add_message(session, chat.id, "agent", text, agent_id=agent.id)
    agent_queue.audit(session, "reply", agent_id=agent.id, case_id=case_id, message=message.id)
    agents.mark_seen(session, agent.id)
    broadcast = Broadcast()
    broadcast.message(chat, message)
    return Replied(message, broadcast)


def greet(session: Session, chat: ChatInfo, said: list[Message], broadcast: Broadcast) -> None:
    """The bot is in charge of the web chat again; what it said (`said`) is stored and shown."""
    chat = chats.update(session, chat.id, state="bot")
    for message in said:
        buttons = [{"title": b.title, "payload": b.payload} for b in message.buttons]
        broadcast.message(
            chat, chats.add_message(session, chat.id, "bot", message.text, buttons=buttons)
        )
    broadcast.state(chat.conversation_id, "bot")


def release(session: Session, case_id: str, agent: AgentInfo) -> Outcome:
    """The case goes back to the bot, if this agent still holds it (NotYours otherwise)."""
    summary = agent_queue.release(session, case_id, agent.id)
    chat = chats.by_conversation(session, summary.conversation_id)
    return Outcome(summary, Broadcast(cases=[case_id]), chat)


def close(
    session: Session,
    case_id: str,
    agent: AgentInfo,
    disposition: str,
    note: str,
) -> Outcome:
    """The case is done, if this agent still holds it; a web chat goes back to the bot."""
    summary = agent_queue.close(session, case_id, agent.id, disposition, note)
    chat = chats.by_conversation(session, summary.conversation_id)
    return Outcome(summary, Broadcast(cases=[case_id]), chat)


def take_back(session: Session, case_id: str, agent: AgentInfo, action: str) -> None:
    """Undo a release or close (`action`) whose web chat the bot could not take back."""
    if agent_queue.take_back(session, case_id, agent.id, action):
        logger.warning("case %s undone: the bot did not answer case=%s", action, case_id)


def requeue(session: Session, silent_for: dt.timedelta) -> Broadcast:
    """Cases of consoles silent for `silent_for` go back to the queue; their customers wait again."""
    broadcast = Broadcast()
    for case in agent_queue.requeue_abandoned(session, silent_for):
        logger.info("case back in the queue (console silent) case=%s", case.case_id)
        broadcast.state(case.conversation_id, "waiting")
        broadcast.cases.append(case.case_id)
    return broadcast
