"""Failed identity checks counted across conversations (bot/domain/services/identity.py),
and who a request comes from (bot/infra/network.py)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.models import AuditEntry, IdentityGuard
from bot.domain.services import identity
from bot.infra.network import client_address, trusted_set
from bot.protocol import typed

MUELLER = ("10000002", "44137", dt.date(1975, 3, 12))
WRONG = dt.date(1975, 3, 13)
NOW = dt.datetime(2026, 12, 4, 12, 0)
KEY = b"unit-test-pseudonym-key-0123456789"


def fail(
    session: Session, number: str = "10000002", source: str | None = None, at=NOW, key=KEY
) -> None:
    result = identity.check(
        session, number, "44137", WRONG, source=source, pseudonym_key=key, now=at
    )
    assert result.customer is None


def check(session: Session, source: str | None = None, at=NOW) -> identity.CheckResult:
    """The right values for customer 10000002."""
    return identity.check(session, *MUELLER, source=source, pseudonym_key=KEY, now=at)


def test_three_failures_lock_the_number_even_for_the_right_values(session: Session) -> None:
    for _ in range(3):
        fail(session)
    refused = check(session, at=NOW + dt.timedelta(minutes=1))
    assert refused.customer is None and refused.locked
    later = check(session, at=NOW + dt.timedelta(minutes=16))
    assert later.customer is not None and later.customer.customer_number == "10000002"


def test_a_success_forgets_the_numbers_failures(session: Session) -> None:
    fail(session)
    fail(session)
    assert check(session).customer is not None
    fail(session)
    fail(session)
    assert check(session).customer is not None


def test_old_failures_are_forgotten(session: Session) -> None:
    fail(session, at=NOW - dt.timedelta(days=2))
    fail(session, at=NOW - dt.timedelta(days=2))
    fail(session)  # the first of a new day, not the third
    assert check(session).customer is not None


def test_a_lock_long_over_is_forgotten_like_any_old_failure(session: Session) -> None:
    for _ in range(3):
        fail(session, at=NOW - dt.timedelta(days=3))  # locked for 15 minutes, three days ago
    fail(session)  # the first failure of today: no lock
    assert check(session).customer is not None


def test_locks_grow_and_stop_at_a_day() -> None:
    assert identity.lock_for(2, 3) is None
    assert identity.lock_for(3, 3) == dt.timedelta(minutes=15)
    assert identity.lock_for(4, 3) == dt.timedelta(minutes=30)
    assert identity.lock_for(5, 3) == dt.timedelta(hours=1)
    assert identity.lock_for(30, 3) == dt.timedelta(hours=24)


def test_a_source_trying_many_numbers_is_locked(session: Session) -> None:
    for number in range(10090000, 10090000 + identity.SOURCE_LOCK_AFTER):
        fail(session, str(number), source="rest:203.0.113.9")
    refused = check(session, source="rest:203.0.113.9")
    assert refused.locked and refused.customer is None
    assert check(session, source="rest:203.0.113.10").customer


def test_nothing_personal_is_stored_or_audited(session: Session) -> None:
    fail(session, source="voice:+4917612345678")
    keys = [guard.key for guard in session.scalars(select(IdentityGuard))]
    assert all("10000002" not in key and "+49" not in key for key in keys)
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "identity_failed")).all()
    assert {entry.detail["subject"] for entry in audits} == {"customer", "source"}
    assert "10000002" not in str([entry.detail for entry in audits])


def test_a_customer_number_is_stored_as_a_digest_only_the_key_reproduces(
    session: Session,
) -> None:
    fail(session)
    fail(session)  # the same number under the same key: the same row counts on
    (guard,) = session.scalars(select(IdentityGuard)).all()
    assert guard.failures == 2 and guard.key == identity.guard_key("customer", "10000002", KEY)
    # Not the plain digest that anyone could compute for every eight-digit number.
    plain = hashlib.sha256(b"customer:10000002").hexdigest()
    assert plain[:40] not in guard.key and plain[:32] not in guard.key
    # Under another key the same number is another row.
    fail(session, key=b"another-pseudonym-key-0123456789")
    keys = set(session.scalars(select(IdentityGuard.key)))
    assert len(keys) == 2 and guard.key in keys


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not our proxy: the header is a lie
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # the rightmost is ours to trust
        ("127.0.0.1", "198.51.100.1, 127.0.0.1", "198.51.100.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1"),  # IPv4 seen over IPv6
        (None, None, "unknown"),
    ],
)
def test_the_client_address_trusts_only_our_proxies(peer, forwarded, client) -> None:
    assert client_address(peer, forwarded, trusted_set("127.0.0.1, ::1")) == client


@pytest.mark.parametrize(
    ("text", "sent"),
    [("/restart", "restart"), ("//  /stop", "stop"), ("a/b", "a/b"), ("Hallo", "Hallo")],
)
def test_typed_text_is_never_a_command(text, sent) -> None:
    assert typed(text) == sent
