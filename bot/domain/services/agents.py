"""Agents of the customer-service team: accounts, logins and console sessions.

Passwords are stored as argon2 hashes. A login creates a console session: the
browser's cookie carries a random token, the database only its SHA-256 hash,
so a leaked table does not let anyone in; logging out deletes the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError
from bot.domain.models import Agent, AgentSession, utcnow

SESSION_HOURS = 10  # a long shift
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verifying against this when the username is unknown takes as long as a real
# check, so response times do not tell which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AgentExists(DomainError):
    """The username is taken."""


class WeakPassword(DomainError):
    """The password is too short."""


@dataclass(frozen=True)
class AgentInfo:
    id: int
    username: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class ConsoleSession:
    agent: AgentInfo
    csrf_token: str


def _info(agent: Agent) -> AgentInfo:
    return AgentInfo(agent.id, agent.username, agent.first_name, agent.last_name)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_agent(
    session: Session, *, username: str, first_name: str, last_name: str, password: str
) -> AgentInfo:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise ValueError("a username has 1 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise AgentExists(username)
    agent = Agent(
        username=username,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        password_hash=_hasher.hash(password),
        active=True,
    )
    session.add(agent)
    session.flush()
    return _info(agent)


@dataclass(frozen=True)
class StoredLogin:
    """What a login checks a password against: an active agent and its hash, or
    (no such active agent) nobody and a dummy hash, checked just the same."""

    agent: AgentInfo | None
    password_hash: str


@dataclass(frozen=True)
class PasswordCheck:
    """The agent if the password was right; then also, if the stored hash was
    made with outdated parameters, the password hashed anew."""

    agent: AgentInfo | None
    new_hash: str | None = None


def stored_login(session: Session, username: str) -> StoredLogin:
    agent = session.scalar(
        select(Agent).where(Agent.username == username.strip().lower(), Agent.active.is_(True))
    )
    if agent is None:
        return StoredLogin(None, _DUMMY_HASH)
    return StoredLogin(_info(agent), agent.password_hash)


def check_password(login: StoredLogin, password: str) -> PasswordCheck:
    """argon2's part of a login, without the database: about 64 MiB of memory per
    check, so the web app runs it on a few threads of its own (bot/web/logins.py)."""
    try:
        _hasher.verify(login.password_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(None)
    if login.agent is None:
        return PasswordCheck(None)
    if _hasher.check_needs_rehash(login.password_hash):
        return PasswordCheck(login.agent, _hasher.hash(password))
    return PasswordCheck(login.agent)


def store_new_hash(session: Session, check: PasswordCheck) -> None:
    """Keep the password's new hash, if the check made one."""
    if check.agent is not None and check.new_hash is not None:
        agent = session.get(Agent, check.agent.id)
        if agent is not None:
            agent.password_hash = check.new_hash


def authenticate(session: Session, username: str, password: str) -> AgentInfo | None:
    """The agent if the password is right, else None (same effort either way)."""
    check = check_password(stored_login(session, username), password)
    store_new_hash(session, check)
    return check.agent


def start_session(session: Session, agent_id: int) -> tuple[str, ConsoleSession]:
    """A new console session: the cookie token (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    row = AgentSession(
        token_hash=token_hash(token),
        agent_id=agent_id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS),
    )
    session.add(row)
    session.flush()
    return token, ConsoleSession(_info(row.agent), row.csrf_token)


def session_of(session: Session, token: str | None) -> ConsoleSession | None:
    """The live console session a cookie token belongs to."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(AgentSession).where(AgentSession.token_hash == token_hash(token)))
    if row is None or row.expires_at <= utcnow() or not row.agent.active:
        return None
    return ConsoleSession(_info(row.agent), row.csrf_token)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token)))


def mark_seen(session: Session, agent_id: int) -> None:
    agent = session.get(Agent, agent_id)
    if agent is not None:
        agent.last_seen_at = utcnow()
