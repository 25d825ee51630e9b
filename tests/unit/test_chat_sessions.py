"""Web chat sessions: found by their secret token, with their messages in order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.models import Agent, ChatSession, utcnow
from bot.domain.services import agent_queue, handoff
from bot.domain.services import chat as chats
from bot.domain.services.agents import token_hash
from bot.domain.services.chat import ChatInfo


def start_chat(session: Session, language: str = "de") -> tuple[str, ChatInfo]:
    return chats.start(session, language)


def make_agent(session: Session, username: str = "aylin", first_name: str = "Aylin") -> Agent:
    agent = Agent(username=username, first_name=first_name, last_name="Demir", password_hash="-")
    session.add(agent)
    session.flush()
    return agent


def texts(session: Session, chat_id: int) -> list[tuple[str, str]]:
    return [(m.sender, m.text) for m in chats.history(session, chat_id)]


def test_new_chat_talks_to_the_bot_in_its_own_conversation(session: Session) -> None:
    token, first = start_chat(session)
    _, second = start_chat(session)
    assert first.state == "bot" and first.case_id is None and first.agent_name is None
    assert first.conversation_id.startswith("web-")
    assert first.conversation_id != second.conversation_id
    assert len(token) >= 32


@pytest.mark.parametrize(("asked", "language"), [("tr", "tr"), ("de", "de"), ("fr", "de")])
def test_chat_language_is_supported_or_german(session: Session, asked: str, language: str) -> None:
    _, chat = start_chat(session, asked)
    assert chat.language == language


def test_only_the_token_hash_is_stored(session: Session) -> None:
    token, chat = start_chat(session)
    row = session.get(ChatSession, chat.id)
    assert row.token_hash == token_hash(token) != token


def test_token_resumes_the_same_chat_with_its_history_in_order(session: Session) -> None:
    token, chat = start_chat(session)
    chats.add_message(session, chat.id, "customer", "Hallo")
    chats.add_message(
        session,
        chat.id,
        "bot",
        "Wie kann ich helfen?",
        buttons=[{"title": "Rechnung", "payload": "/bill"}],
    )
    chats.add_message(session, chat.id, "customer", "Meine Rechnung")

    resumed = chats.resume(session, token)

    assert resumed == chat
    history = chats.history(session, resumed.id)
    assert [(m.sender, m.text) for m in history] == [
        ("customer", "Hallo"),
        ("bot", "Wie kann ich helfen?"),
        ("customer", "Meine Rechnung"),
    ]
    assert history[1].buttons == [{"title": "Rechnung", "payload": "/bill"}]
    assert history[0].id < history[1].id < history[2].id


def test_each_token_resumes_only_its_own_chat(session: Session) -> None:
    mine_token, mine = start_chat(session)
    theirs_token, theirs = start_chat(session, "tr")
    chats.add_message(session, theirs.id, "customer", "Kundennummer 10000001")

    assert chats.resume(session, mine_token) == mine
    assert chats.resume(session, theirs_token) == theirs
    assert texts(session, mine.id) == []


@pytest.mark.parametrize(
    "token",
    [None, 12345, "", "short", "x" * 101, "a-well-formed-but-unknown-token-of-43-chars"],
)
def test_wrong_or_malformed_token_resumes_nothing(session: Session, token: Any) -> None:
    start_chat(session)
    assert chats.resume(session, token) is None


def test_stored_hash_used_as_token_resumes_nothing(session: Session) -> None:
    token, _ = start_chat(session)
    assert chats.resume(session, token_hash(token)) is None


def test_resume_marks_the_chat_active(session: Session) -> None:
    token, chat = start_chat(session)
    row = session.get(ChatSession, chat.id)
    row.last_active_at = utcnow() - dt.timedelta(hours=3)
    session.flush()
    chats.resume(session, token)
    assert row.last_active_at > utcnow() - dt.timedelta(minutes=1)


def test_new_message_marks_the_chat_active(session: Session) -> None:
    _, chat = start_chat(session)
    row = session.get(ChatSession, chat.id)
    row.last_active_at = utcnow() - dt.timedelta(hours=3)
    session.flush()
    chats.add_message(session, chat.id, "customer", "Hallo?")
    assert row.last_active_at > utcnow() - dt.timedelta(minutes=1)


def test_unknown_sender_is_refused(session: Session) -> None:
    _, chat = start_chat(session)
    with pytest.raises(ValueError):
        chats.add_message(session, chat.id, "hacker", "hi")
    assert texts(session, chat.id) == []


def test_agent_message_carries_the_agents_first_name(session: Session) -> None:
    agent = make_agent(session)
    _, chat = start_chat(session)
    message = chats.add_message(session, chat.id, "agent", "Guten Tag!", agent_id=agent.id)
    frame = message.as_frame()
    assert frame["from"] == "agent" and frame["agent_name"] == "Aylin"
    assert frame["type"] == "message" and frame["text"] == "Guten Tag!"
    assert frame["at"].endswith("Z")
    assert chats.history(session, chat.id)[0].agent_name == "Aylin"


def test_history_limit_keeps_the_newest_messages_in_order(session: Session) -> None:
    _, chat = start_chat(session)
    for number in range(5):
        chats.add_message(session, chat.id, "customer", f"m{number}")
    assert [m.text for m in chats.history(session, chat.id, limit=3)] == ["m2", "m3", "m4"]


def test_conversation_id_finds_the_chat(session: Session) -> None:
    _, chat = start_chat(session)
    assert chats.by_conversation(session, chat.conversation_id) == chat
    assert chats.by_conversation(session, "web-unknown") is None


def test_update_changes_state_language_and_case(session: Session) -> None:
    _, chat = start_chat(session)
    updated = chats.update(session, chat.id, state="waiting", language="tr", case_id="H-00000001")
    assert (updated.state, updated.language, updated.case_id) == ("waiting", "tr", "H-00000001")
    assert chats.get(session, chat.id) == updated


def test_update_refuses_unknown_state(session: Session) -> None:
    _, chat = start_chat(session)
    with pytest.raises(ValueError):
        chats.update(session, chat.id, state="closed")
    assert chats.get(session, chat.id).state == "bot"


def test_update_ignores_unsupported_language(session: Session) -> None:
    _, chat = start_chat(session, "tr")
    assert chats.update(session, chat.id, language="xx").language == "tr"


def test_resumed_chat_names_the_agent_who_took_it_over(session: Session) -> None:
    agent = make_agent(session)
    token, chat = start_chat(session)
    case = handoff.open_case(
        session,
        conversation_id=chat.conversation_id,
        reason="customer_request",
        language="de",
        channel="web",
        customer_number=None,
        transcript=[],
    )
    agent_queue.claim(session, case.case_id, agent.id)

    resumed = chats.resume(session, token)

    assert (resumed.state, resumed.case_id, resumed.agent_name) == ("agent", case.case_id, "Aylin")
    row = session.scalar(select(ChatSession).where(ChatSession.id == chat.id))
    assert row.state == "agent"
