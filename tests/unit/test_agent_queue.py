"""The agents' queue: claiming, releasing, closing and requeueing handoff cases."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.errors import NotFound
from bot.domain.models import Agent, AuditEntry, ChatSession, HandoffCase, PhoneCall, utcnow
from bot.domain.services import agent_queue as queue
from bot.domain.services import chat as chats
from bot.domain.services import handoff
from bot.domain.services.agent_queue import CaseEnded, CaseTaken, NotYours
from bot.infra.db import session_scope
from tests.conftest import demo_document

SILENCE = dt.timedelta(minutes=2)


def make_agent(session: Session, first_name: str = "Aylin") -> int:
    agent = Agent(
        username=f"{first_name.lower()}-{secrets.token_hex(3)}",
        first_name=first_name,
        last_name="Demir",
        password_hash="-",
    )
    session.add(agent)
    session.flush()
    return agent.id


def make_case(
    session: Session,
    *,
    conversation_id: str | None = None,
    channel: str = "web",
    reason: str = "customer_request",
    customer_number: str | None = None,
    transcript: list[dict[str, Any]] | None = None,
) -> str:
    return handoff.open_case(
        session,
        conversation_id=conversation_id or f"conv-{secrets.token_hex(4)}",
        reason=reason,
        language="de",
        channel=channel,
        customer_number=customer_number,
        transcript=transcript or [],
    ).case_id


def make_web_case(session: Session) -> tuple[str, int]:
    """A web chat handed to a person: the case id and the chat's id."""
    _, chat = chats.start(session, "de")
    chats.update(session, chat.id, state="waiting")
    return make_case(session, conversation_id=chat.conversation_id), chat.id


def case_row(session: Session, case_id: str) -> HandoffCase:
    return session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))


def audit_rows(session: Session) -> list[tuple[str, int | None, str | None]]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(row.action, row.agent_id, row.case_id) for row in rows]


def age(session: Session, case_id: str, *, created: dt.timedelta) -> None:
    case_row(session, case_id).created_at = utcnow() - created
    session.flush()


def requeued_ids(session: Session) -> list[str]:
    return [case.case_id for case in queue.requeue_abandoned(session, SILENCE)]


def leave(session: Session, case_id: str, agent_id: int, *, silent_for: dt.timedelta) -> None:
    """The agent claimed the case and their console has been quiet since."""
    queue.claim(session, case_id, agent_id)
    case_row(session, case_id).claimed_at = utcnow() - silent_for
    session.get(Agent, agent_id).last_seen_at = utcnow() - silent_for
    session.flush()


# claiming


def test_claim_gives_the_case_to_the_agent(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    summary = queue.claim(session, case_id, aylin)
    assert (summary.status, summary.claimed_by, summary.claimed_by_id) == (
        "claimed",
        "Aylin",
        aylin,
    )
    row = case_row(session, case_id)
    assert row.status == "claimed" and row.claimed_by_id == aylin
    assert row.claimed_at is not None


def test_case_claimed_by_another_agent_raises_case_taken_naming_them(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)

    with pytest.raises(CaseTaken) as taken:
        queue.claim(session, case_id, jonas)

    assert taken.value.first_name == "Aylin"
    assert case_row(session, case_id).claimed_by_id == aylin


def test_claiming_again_by_the_owner_is_idempotent(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    first = queue.claim(session, case_id, aylin)
    claimed_at = case_row(session, case_id).claimed_at

    again = queue.claim(session, case_id, aylin)

    assert again.claimed_by_id == aylin and again.status == "claimed"
    assert again.waiting_seconds == first.waiting_seconds
    assert case_row(session, case_id).claimed_at == claimed_at
    assert [row[0] for row in audit_rows(session)] == ["claim"]


def test_claiming_an_unknown_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        queue.claim(session, "H-NOPE0000", make_agent(session))


def test_closed_case_cannot_be_claimed(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    queue.close(session, case_id, aylin, "resolved", "Erledigt")
    for agent in (jonas, aylin):
        with pytest.raises(CaseEnded):
            queue.claim(session, case_id, agent)
    assert case_row(session, case_id).status == "closed"


def _claim_in_own_transaction(database_url: str, case_id: str, agent_id: int) -> str:
    with session_scope(database_url) as session:
        try:
            return queue.claim(session, case_id, agent_id).claimed_by or ""
        except CaseTaken as taken:
            return f"taken by {taken.first_name}"


def test_claims_in_separate_transactions_give_one_owner(database_url: str) -> None:
    with session_scope(database_url) as session:
        aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
        case_id = make_case(session)

    first = _claim_in_own_transaction(database_url, case_id, aylin)
    second = _claim_in_own_transaction(database_url, case_id, jonas)

    assert (first, second) == ("Aylin", "taken by Aylin")
    with session_scope(database_url) as session:
        assert case_row(session, case_id).claimed_by_id == aylin


def test_racing_claims_give_exactly_one_owner(database_url: str) -> None:
    with session_scope(database_url) as session:
        aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
        case_id = make_case(session)
    start = threading.Barrier(2)

    def attempt(agent_id: int) -> str:
        start.wait(timeout=10)
        return _claim_in_own_transaction(database_url, case_id, agent_id)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(attempt, [aylin, jonas]))

    with session_scope(database_url) as session:
        owner = session.get(Agent, case_row(session, case_id).claimed_by_id).first_name
        claims = [row for row in audit_rows(session) if row[0] == "claim"]
    assert sorted(results) == sorted([owner, f"taken by {owner}"])
    assert len(claims) == 1


# releasing and closing


def test_release_returns_the_case_to_the_bot(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)

    summary = queue.release(session, case_id, aylin)

    assert summary.status == "returned"
    row = case_row(session, case_id)
    assert row.status == "returned" and row.closed_at is not None


def test_release_by_another_agent_raises_not_yours(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    with pytest.raises(NotYours):
        queue.release(session, case_id, jonas)
    assert case_row(session, case_id).status == "claimed"


def test_unclaimed_case_cannot_be_released_or_closed(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    with pytest.raises(NotYours):
        queue.release(session, case_id, aylin)
    with pytest.raises(NotYours):
        queue.close(session, case_id, aylin, "resolved", "Erledigt")
    assert case_row(session, case_id).status == "open"


def test_close_stores_disposition_note_and_time(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)

    summary = queue.close(session, case_id, aylin, "callback", "  Rückruf morgen 10 Uhr  ")

    assert summary.status == "closed"
    row = case_row(session, case_id)
    assert (row.status, row.disposition, row.note) == (
        "closed",
        "callback",
        "Rückruf morgen 10 Uhr",
    )
    assert row.closed_at is not None and row.closed_at >= row.claimed_at


def test_close_by_another_agent_raises_not_yours(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    with pytest.raises(NotYours):
        queue.close(session, case_id, jonas, "resolved", "Erledigt")
    assert case_row(session, case_id).status == "claimed"


def test_closed_case_cannot_be_closed_or_released_again(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    queue.close(session, case_id, aylin, "resolved", "Erledigt")
    with pytest.raises(NotYours):
        queue.close(session, case_id, aylin, "other", "Nochmal")
    with pytest.raises(NotYours):
        queue.release(session, case_id, aylin)
    assert case_row(session, case_id).note == "Erledigt"


@pytest.mark.parametrize(
    ("disposition", "note", "wrong"),
    [
        ("solved", "Erledigt", "disposition"),
        ("", "Erledigt", "disposition"),
        (None, "Erledigt", "disposition"),
        ("resolved", "", "note"),
        ("resolved", "   \n ", "note"),
        ("resolved", None, "note"),
        ("resolved", "x" * (queue.MAX_NOTE + 1), "note"),
    ],
)
def test_close_refuses_unknown_disposition_and_empty_or_long_note(
    session: Session, disposition: Any, note: Any, wrong: str
) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    with pytest.raises(queue.InvalidClosing) as refused:
        queue.close(session, case_id, aylin, disposition, note)
    assert refused.value.field == wrong
    row = case_row(session, case_id)
    assert row.status == "claimed" and row.disposition is None and row.note is None


def test_close_accepts_note_of_maximum_length(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    queue.close(session, case_id, aylin, "other", "x" * queue.MAX_NOTE)
    assert len(case_row(session, case_id).note) == queue.MAX_NOTE


def test_check_owner_accepts_only_the_claiming_agent(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    assert queue.check_owner(session, case_id, aylin).case_id == case_id
    with pytest.raises(NotYours):
        queue.check_owner(session, case_id, jonas)


# audit log


def test_claim_release_and_close_are_audited_with_agent_and_case(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    released, closed = make_case(session), make_case(session)
    queue.claim(session, released, aylin)
    queue.release(session, released, aylin)
    queue.claim(session, closed, jonas)
    queue.close(session, closed, jonas, "forwarded", "An Zählerservice")
    session.flush()

    assert audit_rows(session) == [
        ("claim", aylin, released),
        ("release", aylin, released),
        ("claim", jonas, closed),
        ("close", jonas, closed),
    ]
    close_entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "close"))
    assert close_entry.detail == {"disposition": "forwarded"}


def test_refused_actions_write_no_audit_entry(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    for refused in (
        lambda: queue.claim(session, case_id, jonas),
        lambda: queue.release(session, case_id, jonas),
        lambda: queue.close(session, case_id, jonas, "resolved", "Erledigt"),
        lambda: queue.close(session, case_id, aylin, "bogus", "Erledigt"),
    ):
        with pytest.raises((CaseTaken, NotYours, ValueError)):
            refused()
    session.flush()
    assert audit_rows(session) == [("claim", aylin, case_id)]


# requeueing cases of agents who went silent


def test_requeue_returns_cases_of_silent_agents_to_the_queue(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 2)

    assert requeued_ids(session) == [case_id]

    row = case_row(session, case_id)
    assert (row.status, row.claimed_by_id, row.claimed_at) == ("open", None, None)
    assert audit_rows(session)[-1] == ("requeue", aylin, case_id)


def test_requeue_keeps_cases_of_agents_seen_recently(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 2)
    session.get(Agent, aylin).last_seen_at = utcnow()
    session.flush()

    assert requeued_ids(session) == []
    assert case_row(session, case_id).status == "claimed"


def test_requeue_keeps_recent_claims_of_long_silent_agents(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 10)
    case_row(session, case_id).claimed_at = utcnow()
    session.flush()

    assert requeued_ids(session) == []
    assert case_row(session, case_id).status == "claimed"


def test_requeue_treats_an_agent_never_seen_as_silent(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 2)
    session.get(Agent, aylin).last_seen_at = None
    session.flush()

    assert requeued_ids(session) == [case_id]


def test_requeue_ignores_open_closed_and_returned_cases(session: Session) -> None:
    aylin = make_agent(session)
    waiting, closed, returned = make_case(session), make_case(session), make_case(session)
    for case_id in (closed, returned):
        leave(session, case_id, aylin, silent_for=SILENCE * 2)
    queue.close(session, closed, aylin, "resolved", "Erledigt")
    queue.release(session, returned, aylin)
    age(session, waiting, created=SILENCE * 3)

    assert requeued_ids(session) == []
    assert [case_row(session, c).status for c in (waiting, closed, returned)] == [
        "open",
        "closed",
        "returned",
    ]


def test_requeue_names_the_conversation_to_tell(session: Session) -> None:
    aylin = make_agent(session)
    case_id = make_case(session, conversation_id="conv-requeue-1")
    leave(session, case_id, aylin, silent_for=SILENCE * 2)

    assert queue.requeue_abandoned(session, SILENCE) == [
        queue.Requeued(case_id=case_id, conversation_id="conv-requeue-1")
    ]


def test_racing_requeues_return_each_case_once(database_url: str) -> None:
    """Every app process runs the requeue loop: a case goes back (and is audited) once."""
    with session_scope(database_url) as session:
        aylin = make_agent(session)
        cases = [make_case(session) for _ in range(3)]
        for case_id in cases:
            leave(session, case_id, aylin, silent_for=SILENCE * 2)
    start = threading.Barrier(4)

    def process_round(_: int) -> list[str]:
        start.wait(timeout=10)
        with session_scope(database_url) as session:
            return requeued_ids(session)

    with ThreadPoolExecutor(max_workers=4) as pool:
        rounds = list(pool.map(process_round, range(4)))

    assert sorted(case for found in rounds for case in found) == sorted(cases)
    with session_scope(database_url) as session:
        requeues = [row for row in audit_rows(session) if row[0] == "requeue"]
        assert sorted(row[2] for row in requeues) == sorted(cases)
        assert {case_row(session, c).status for c in cases} == {"open"}


def test_requeued_case_can_be_claimed_by_another_agent(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 2)
    queue.requeue_abandoned(session, SILENCE)

    assert queue.claim(session, case_id, jonas).claimed_by == "Jonas"


# the customer's web chat follows the case


def test_claim_puts_the_web_chat_in_the_agents_hands(session: Session) -> None:
    aylin = make_agent(session)
    case_id, chat_id = make_web_case(session)
    queue.claim(session, case_id, aylin)
    chat = chats.get(session, chat_id)
    assert (chat.state, chat.case_id, chat.agent_name) == ("agent", case_id, "Aylin")


@pytest.mark.parametrize(
    "finish",
    [
        lambda s, case_id, agent: queue.release(s, case_id, agent),
        lambda s, case_id, agent: queue.close(s, case_id, agent, "resolved", "Erledigt"),
    ],
    ids=["release", "close"],
)
def test_release_and_close_give_the_web_chat_back_to_the_bot(session: Session, finish: Any) -> None:
    aylin = make_agent(session)
    case_id, chat_id = make_web_case(session)
    queue.claim(session, case_id, aylin)
    finish(session, case_id, aylin)
    chat = chats.get(session, chat_id)
    assert (chat.state, chat.agent_name) == ("bot", None)


def test_requeue_puts_the_web_chat_back_to_waiting(session: Session) -> None:
    aylin = make_agent(session)
    case_id, chat_id = make_web_case(session)
    leave(session, case_id, aylin, silent_for=SILENCE * 2)
    assert chats.get(session, chat_id).state == "agent"

    queue.requeue_abandoned(session, SILENCE)

    assert chats.get(session, chat_id).state == "waiting"


def test_claim_leaves_other_chats_alone(session: Session) -> None:
    aylin = make_agent(session)
    case_id, _ = make_web_case(session)
    _, bystander = chats.start(session, "de")
    queue.claim(session, case_id, aylin)
    assert session.get(ChatSession, bystander.id).state == "bot"


# the queue and its summaries


def test_active_cases_are_waiting_and_claimed_ones_oldest_first(session: Session) -> None:
    aylin = make_agent(session)
    newest, oldest, middle = make_case(session), make_case(session), make_case(session)
    closed, returned = make_case(session), make_case(session)
    for minutes, case_id in [(1, newest), (30, oldest), (10, middle), (60, closed), (50, returned)]:
        age(session, case_id, created=dt.timedelta(minutes=minutes))
    queue.claim(session, middle, aylin)
    for case_id in (closed, returned):
        queue.claim(session, case_id, aylin)
    queue.close(session, closed, aylin, "resolved", "Erledigt")
    queue.release(session, returned, aylin)

    assert [s.case_id for s in queue.active_cases(session)] == [oldest, middle, newest]


def test_summary_tells_the_claiming_agent_the_case_is_theirs(session: Session) -> None:
    aylin, jonas = make_agent(session, "Aylin"), make_agent(session, "Jonas")
    case_id = make_case(session)
    queue.claim(session, case_id, aylin)
    (summary,) = queue.active_cases(session)

    mine = summary.as_json(aylin, live=True)
    theirs = summary.as_json(jonas, live=False)

    assert (mine["status"], mine["mine"], mine["claimed_by"], mine["live"]) == (
        "claimed",
        True,
        "Aylin",
        True,
    )
    assert (theirs["status"], theirs["mine"], theirs["claimed_by"]) == ("claimed", False, "Aylin")
    assert "claimed_by_id" not in mine and "conversation_id" not in mine


def test_waiting_case_shows_status_waiting_and_is_nobodys(session: Session) -> None:
    aylin = make_agent(session)
    make_case(session, reason="upset")
    (summary,) = queue.active_cases(session)
    data = summary.as_json(aylin, live=False)
    assert (data["status"], data["mine"], data["claimed_by"], data["reason"]) == (
        "waiting",
        False,
        None,
        "upset",
    )


def test_waiting_time_runs_until_the_case_is_claimed(session: Session) -> None:
    aylin = make_agent(session)
    waiting, claimed = make_case(session), make_case(session)
    age(session, waiting, created=dt.timedelta(minutes=5))
    age(session, claimed, created=dt.timedelta(minutes=10))
    queue.claim(session, claimed, aylin)
    case_row(session, claimed).claimed_at = case_row(session, claimed).created_at + dt.timedelta(
        seconds=90
    )
    session.flush()

    seconds = {s.case_id: s.waiting_seconds for s in queue.active_cases(session)}

    assert 300 <= seconds[waiting] <= 310
    assert seconds[claimed] == 90


def test_voice_case_shows_the_callers_number(session: Session) -> None:
    session.add(PhoneCall(call_sid="CA0123456789abcdef", caller="+4915112345678"))
    session.add(PhoneCall(call_sid="CA-other-call", caller="+4917000000000"))
    session.flush()
    make_case(session, conversation_id="CA0123456789abcdef", channel="voice")
    (summary,) = queue.active_cases(session)
    assert summary.caller == "+4915112345678"


def test_web_case_has_no_caller(session: Session) -> None:
    session.add(PhoneCall(call_sid="web-same-id", caller="+4915112345678"))
    session.flush()
    make_case(session, conversation_id="web-same-id", channel="web")
    (summary,) = queue.active_cases(session)
    assert summary.caller is None


def test_case_of_a_known_customer_shows_name_and_contracts(session: Session) -> None:
    make_case(session, customer_number="10000001")
    (summary,) = queue.active_cases(session)
    expected_contracts = next(
        c["contracts"] for c in demo_document()["customers"] if c["customer_number"] == "10000001"
    )
    assert summary.customer is not None
    assert summary.customer["name"] == "Ayşe Yılmaz"
    assert summary.customer["customer_number"] == "10000001"
    assert summary.customer["contracts"] == [
        {
            "contract_number": c["contract_number"],
            "commodity": c["commodity"],
            "tariff": c["tariff"],
        }
        for c in sorted(expected_contracts, key=lambda c: c["contract_number"])
    ]
    assert {"contract_number": "30000001", "commodity": "electricity", "tariff": "Strom Basis"} in (
        summary.customer["contracts"]
    )


@pytest.mark.parametrize("number", [None, "99999999"])
def test_case_without_known_customer_has_no_customer_info(
    session: Session, number: str | None
) -> None:
    make_case(session, customer_number=number)
    (summary,) = queue.active_cases(session)
    assert summary.customer is None


# transcripts


def test_web_case_transcript_is_the_stored_chat(session: Session) -> None:
    aylin = make_agent(session)
    case_id, chat_id = make_web_case(session)
    chats.add_message(session, chat_id, "customer", "Ich will einen Menschen")
    chats.add_message(session, chat_id, "system", "Sie warten auf eine Person.")
    queue.claim(session, case_id, aylin)
    chats.add_message(session, chat_id, "agent", "Hallo, hier Aylin.", agent_id=aylin)

    summary, lines = queue.case_detail(session, case_id)

    assert [(line["from"], line["text"], line["agent_name"]) for line in lines] == [
        ("customer", "Ich will einen Menschen", None),
        ("system", "Sie warten auf eine Person.", None),
        ("agent", "Hallo, hier Aylin.", "Aylin"),
    ]
    assert summary.last_message == "Ich will einen Menschen"


def test_voice_case_transcript_is_the_handed_over_one(session: Session) -> None:
    case_id = make_case(
        session,
        conversation_id="CA-transcript",
        channel="voice",
        transcript=[
            {"from": "customer", "text": "Abschlag ändern", "time": "2026-03-01T09:00:00+00:00"},
            {"from": "bot", "text": "Ihre Kundennummer bitte.", "time": None},
            {"text": "Mitarbeiter bitte"},
        ],
    )
    created = case_row(session, case_id).created_at

    summary, lines = queue.case_detail(session, case_id)

    assert [(line["id"], line["from"], line["text"]) for line in lines] == [
        (f"{case_id}-0", "customer", "Abschlag ändern"),
        (f"{case_id}-1", "bot", "Ihre Kundennummer bitte."),
        (f"{case_id}-2", "customer", "Mitarbeiter bitte"),
    ]
    assert lines[0]["at"] == "2026-03-01T09:00:00Z"
    assert lines[1]["at"] == chats.iso(created)
    assert summary.last_message == "Mitarbeiter bitte"


def test_last_message_is_cut_to_200_characters(session: Session) -> None:
    make_case(session, transcript=[{"from": "customer", "text": "a" * 500}])
    (summary,) = queue.active_cases(session)
    assert summary.last_message == "a" * 200


def test_case_detail_of_unknown_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        queue.case_detail(session, "H-NOPE0000")
