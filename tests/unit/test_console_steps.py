"""The console's business steps (bot/web/use_cases.py): one transaction each, what they broadcast.

Each step runs against a real SQLite database; a step that fails half way
must leave nothing behind (the reason the steps exist: a reply stored
without its audit entry, or a claim without the customer being told).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.models import Agent, AuditEntry, ChatMessage, HandoffCase, utcnow
from bot.domain.services import agent_queue
from bot.domain.services import chat as chats
from bot.domain.services.agent_queue import CaseTaken, NotYours
from bot.domain.services.agents import AgentInfo
from bot.infra.db import session_scope
from bot.protocol import Button, Message
from bot.web import use_cases
from tests.unit.test_agent_queue import make_agent, make_case, make_web_case


def texts(name: str, language: str, **values: str) -> str:
    return f"{name}@{language}:" + ",".join(f"{k}={v}" for k, v in sorted(values.items()))


def agent_info(session: Session, first_name: str = "Aylin") -> AgentInfo:
    agent = session.get(Agent, make_agent(session, first_name))
    return AgentInfo(agent.id, agent.username, agent.first_name, agent.last_name)


def count(database_url: str, table: type) -> int:
    with session_scope(database_url) as session:
        return session.scalar(select(func.count()).select_from(table))


def test_claim_tells_the_customer_who_joined_in_one_step(session: Session) -> None:
    agent = agent_info(session)
    case_id, chat_id = make_web_case(session)
    outcome = use_cases.claim(session, case_id, agent, texts)
    chat = chats.get(session, chat_id)
    assert chat.state == "agent" and outcome.summary.status == "claimed"
    (line,) = chats.history(session, chat_id)
    assert (line.sender, line.text) == ("system", "utter_agent_joined@de:agent_name=Aylin")
    assert session.get(Agent, agent.id).last_seen_at is not None
    broadcast = outcome.broadcast
    assert broadcast.queue_changed
    assert broadcast.chat == [
        (chat.conversation_id, line.as_frame()),
        (chat.conversation_id, {"type": "state", "state": "agent", "agent_name": "Aylin"}),
    ]
    assert broadcast.consoles == [
        {"type": "message", "case_id": case_id, "message": line.as_frame()}
    ]


def test_claim_of_a_phone_case_tells_no_widget(session: Session) -> None:
    agent = agent_info(session)
    case_id = make_case(session, channel="voice", conversation_id="CA" + "1" * 32)
    outcome = use_cases.claim(session, case_id, agent, texts)
    assert outcome.broadcast.chat == [] and outcome.broadcast.queue_changed


def test_a_lost_claim_changes_nothing(session: Session) -> None:
    first, second = agent_info(session, "Aylin"), agent_info(session, "Jonas")
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, first, texts)
    with pytest.raises(CaseTaken):
        use_cases.claim(session, case_id, second, texts)
    assert len(chats.history(session, chat_id)) == 1  # only Aylin's line


def test_a_reply_is_stored_with_its_audit_entry(session: Session) -> None:
    agent = agent_info(session)
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, agent, texts)
    outcome = use_cases.reply(session, case_id, agent, "Guten Tag, ich sehe mir das an.")
    message = outcome.message
    assert message is not None and message.sender == "agent"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply")).one()
    assert (entry.case_id, entry.detail) == (case_id, {"message": message.id})
    chat = chats.get(session, chat_id)
    assert outcome.broadcast.chat == [(chat.conversation_id, message.as_frame())]


def test_a_reply_that_fails_half_way_leaves_no_message(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(database_url) as session:
        agent = agent_info(session)
        case_id, _ = make_web_case(session)
        use_cases.claim(session, case_id, agent, texts)
    before = count(database_url, ChatMessage)

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(agent_queue, "audit", broken_audit)
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        use_cases.reply(session, case_id, agent, "Hallo")
    assert count(database_url, ChatMessage) == before


def test_only_the_claiming_agent_replies_and_only_in_web_chats(session: Session) -> None:
    first, second = agent_info(session, "Aylin"), agent_info(session, "Jonas")
    case_id, _ = make_web_case(session)
    use_cases.claim(session, case_id, first, texts)
    with pytest.raises(NotYours):
        use_cases.reply(session, case_id, second, "Hallo")
    phone = make_case(session, channel="voice", conversation_id="CA" + "2" * 32)
    use_cases.claim(session, phone, first, texts)
    with pytest.raises(use_cases.NotAWebChat):
        use_cases.reply(session, phone, first, "Hallo")


def test_release_gives_the_chat_back_to_the_bot_with_its_greeting(session: Session) -> None:
    agent = agent_info(session)
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, agent, texts)
    said = [Message("Ich bin wieder für Sie da.", (Button("Rechnung", "/ask_bill"),))]
    outcome = use_cases.release(session, case_id, agent)
    assert outcome.chat is not None and outcome.chat.id == chat_id
    use_cases.greet(session, outcome.chat, said, outcome.broadcast)
    chat = chats.get(session, chat_id)
    assert chat.state == "bot" and outcome.summary.status == "returned"
    greeting = chats.history(session, chat_id)[-1]
    assert (greeting.sender, greeting.text) == ("bot", "Ich bin wieder für Sie da.")
    assert greeting.buttons == [{"title": "Rechnung", "payload": "/ask_bill"}]
    assert outcome.broadcast.chat[-1] == (
        chat.conversation_id,
        {"type": "state", "state": "bot", "agent_name": None},
    )
    actions = [row.action for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["claim", "release"]


def test_close_stores_the_note_and_audits_it(session: Session) -> None:
    agent = agent_info(session)
    case_id, _ = make_web_case(session)
    use_cases.claim(session, case_id, agent, texts)
    outcome = use_cases.close(session, case_id, agent, "resolved", "  erledigt  ")
    case = session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))
    assert (case.status, case.disposition, case.note) == ("closed", "resolved", "erledigt")
    assert outcome.summary.status == "closed" and outcome.broadcast.queue_changed


def test_requeue_tells_each_customer_to_wait_again(session: Session) -> None:
    agent = agent_info(session)
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, agent, texts)
    long_ago = utcnow() - dt.timedelta(minutes=5)
    session.get(Agent, agent.id).last_seen_at = long_ago
    session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id)).claimed_at = long_ago
    session.flush()
    broadcast = use_cases.requeue(session, dt.timedelta(minutes=1))
    chat = chats.get(session, chat_id)
    assert chat.state == "waiting"
    assert broadcast.chat == [
        (chat.conversation_id, {"type": "state", "state": "waiting", "agent_name": None})
    ]
    assert broadcast.queue_changed
    assert use_cases.requeue(session, dt.timedelta(minutes=1)).queue_changed is False


def test_a_release_or_close_that_lost_the_race_changes_nothing(session: Session) -> None:
    first = agent_info(session)
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, first, texts)
    use_cases.close(session, case_id, first, "resolved", "erledigt")
    with pytest.raises(agent_queue.FinishedMeanwhile):
        use_cases.release(session, case_id, first)  # the other tab was quicker
    with pytest.raises(agent_queue.FinishedMeanwhile):
        use_cases.close(session, case_id, first, "other", "nochmal")
    case = session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))
    assert (case.status, case.note) == ("closed", "erledigt")
    actions = [row.action for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["claim", "close"]
    assert [m.sender for m in chats.history(session, chat_id)] == ["system"]


def test_a_release_the_bot_could_not_follow_is_taken_back(session: Session) -> None:
    agent = agent_info(session)
    case_id, chat_id = make_web_case(session)
    use_cases.claim(session, case_id, agent, texts)
    use_cases.release(session, case_id, agent)
    use_cases.take_back(session, case_id, agent, "release")
    case = session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))
    assert (case.status, case.claimed_by_id, case.closed_at) == ("claimed", agent.id, None)
    assert chats.get(session, chat_id).state == "agent"
    actions = [row.action for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["claim", "release", "release_undone"]
    use_cases.close(session, case_id, agent, "resolved", "doch erledigt")  # and goes on as before
