"""Agent accounts, logins and console sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.models import Agent, AgentSession, utcnow
from bot.domain.services import agents
from bot.domain.services.agents import AgentExists, AgentInfo, WeakPassword

PASSWORD = "correct-horse-battery"


def make_agent(
    session: Session, username: str = "aylin", password: str = PASSWORD, first_name: str = "Aylin"
) -> AgentInfo:
    return agents.create_agent(
        session, username=username, first_name=first_name, last_name="Demir", password=password
    )


def stored(session: Session, agent_id: int) -> Agent:
    return session.get(Agent, agent_id)


def session_row(session: Session, token: str) -> AgentSession:
    return session.scalar(
        select(AgentSession).where(AgentSession.token_hash == agents.token_hash(token))
    )


# accounts


def test_password_is_stored_as_argon2_hash_not_in_clear(session: Session) -> None:
    agent = make_agent(session)
    password_hash = stored(session, agent.id).password_hash
    assert password_hash.startswith("$argon2")
    assert PASSWORD not in password_hash


def test_username_is_normalised_and_names_trimmed(session: Session) -> None:
    agent = agents.create_agent(
        session, username="  Aylin ", first_name=" Aylin ", last_name=" Demir ", password=PASSWORD
    )
    assert (agent.username, agent.first_name, agent.last_name) == ("aylin", "Aylin", "Demir")


def test_taken_username_is_refused_whatever_its_case(session: Session) -> None:
    make_agent(session, username="aylin")
    with pytest.raises(AgentExists):
        make_agent(session, username="AYLIN")


def test_password_shorter_than_minimum_is_refused(session: Session) -> None:
    with pytest.raises(WeakPassword):
        make_agent(session, password="x" * (agents.MIN_PASSWORD_LENGTH - 1))
    assert session.scalar(select(func.count(Agent.id))) == 0


def test_password_of_minimum_length_is_accepted(session: Session) -> None:
    make_agent(session, password="x" * agents.MIN_PASSWORD_LENGTH)


@pytest.mark.parametrize("username", ["", "   ", "a" * 65])
def test_empty_or_overlong_username_is_refused(session: Session, username: str) -> None:
    with pytest.raises(ValueError):
        make_agent(session, username=username)


# authentication


def test_right_password_authenticates(session: Session) -> None:
    agent = make_agent(session)
    assert agents.authenticate(session, " Aylin ", PASSWORD) == agent


def test_wrong_password_is_refused(session: Session) -> None:
    make_agent(session)
    assert agents.authenticate(session, "aylin", PASSWORD + "!") is None
    assert agents.authenticate(session, "aylin", "") is None


def test_unknown_username_is_refused(session: Session) -> None:
    make_agent(session)
    assert agents.authenticate(session, "jonas", PASSWORD) is None


def test_another_agents_password_is_refused(session: Session) -> None:
    make_agent(session, username="aylin", password=PASSWORD)
    make_agent(session, username="jonas", password="jonas-secret-2026", first_name="Jonas")
    assert agents.authenticate(session, "aylin", "jonas-secret-2026") is None


def test_inactive_agent_is_refused_even_with_right_password(session: Session) -> None:
    agent = make_agent(session)
    stored(session, agent.id).active = False
    session.flush()
    assert agents.authenticate(session, "aylin", PASSWORD) is None


def test_hash_with_outdated_parameters_is_upgraded_on_login(session: Session) -> None:
    agent = make_agent(session)
    old_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    stored(session, agent.id).password_hash = old_hash
    session.flush()

    assert agents.authenticate(session, "aylin", PASSWORD) == agent

    new_hash = stored(session, agent.id).password_hash
    assert new_hash != old_hash and new_hash.startswith("$argon2")
    assert agents.authenticate(session, "aylin", PASSWORD) == agent


# console sessions


def test_session_token_identifies_the_agent_with_the_csrf_token(session: Session) -> None:
    agent = make_agent(session)
    token, console = agents.start_session(session, agent.id)
    assert console.agent == agent
    assert len(console.csrf_token) >= 32 and console.csrf_token != token

    assert agents.session_of(session, token) == console


def test_only_the_token_hash_is_stored(session: Session) -> None:
    agent = make_agent(session)
    token, _ = agents.start_session(session, agent.id)
    hashes = session.scalars(select(AgentSession.token_hash)).all()
    assert hashes == [agents.token_hash(token)]
    assert token not in hashes


def test_session_lasts_a_shift(session: Session) -> None:
    agent = make_agent(session)
    token, _ = agents.start_session(session, agent.id)
    lifetime = session_row(session, token).expires_at - utcnow()
    assert dt.timedelta(hours=agents.SESSION_HOURS - 1) < lifetime
    assert lifetime <= dt.timedelta(hours=agents.SESSION_HOURS)


def test_each_login_gets_its_own_token_and_csrf_token(session: Session) -> None:
    agent = make_agent(session)
    first_token, first = agents.start_session(session, agent.id)
    second_token, second = agents.start_session(session, agent.id)
    assert first_token != second_token and first.csrf_token != second.csrf_token
    assert agents.session_of(session, first_token) == first
    assert agents.session_of(session, second_token) == second


@pytest.mark.parametrize(
    "token", [None, "", "forged-token-forged-token-forged-token-xx", "x" * 101]
)
def test_missing_or_forged_token_gives_no_session(session: Session, token: str | None) -> None:
    agents.start_session(session, make_agent(session).id)
    assert agents.session_of(session, token) is None


def test_stored_hash_used_as_token_gives_no_session(session: Session) -> None:
    token, _ = agents.start_session(session, make_agent(session).id)
    assert agents.session_of(session, agents.token_hash(token)) is None


def test_expired_session_is_refused(session: Session) -> None:
    token, _ = agents.start_session(session, make_agent(session).id)
    session_row(session, token).expires_at = utcnow() - dt.timedelta(seconds=1)
    session.flush()
    assert agents.session_of(session, token) is None


def test_session_of_deactivated_agent_is_refused(session: Session) -> None:
    agent = make_agent(session)
    token, _ = agents.start_session(session, agent.id)
    stored(session, agent.id).active = False
    session.flush()
    assert agents.session_of(session, token) is None


def test_ended_session_is_refused_and_deleted(session: Session) -> None:
    agent = make_agent(session)
    token, _ = agents.start_session(session, agent.id)
    other_token, other = agents.start_session(session, agent.id)

    agents.end_session(session, token)

    assert agents.session_of(session, token) is None
    assert session_row(session, token) is None
    assert agents.session_of(session, other_token) == other


@pytest.mark.parametrize("token", [None, "", "unknown-token"])
def test_ending_unknown_session_changes_nothing(session: Session, token: str | None) -> None:
    live_token, console = agents.start_session(session, make_agent(session).id)
    agents.end_session(session, token)
    assert agents.session_of(session, live_token) == console


def test_mark_seen_records_the_consoles_last_sign_of_life(session: Session) -> None:
    agent = make_agent(session)
    assert stored(session, agent.id).last_seen_at is None
    before = utcnow()
    agents.mark_seen(session, agent.id)
    seen = stored(session, agent.id).last_seen_at
    assert seen is not None and before <= seen <= utcnow()


def test_mark_seen_of_unknown_agent_is_ignored(session: Session) -> None:
    agents.mark_seen(session, 999_999)
