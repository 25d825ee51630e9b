"""Identity check: customer number, postcode and birth date must belong together.

The answer is the same whichever value is wrong, and whether or not the
customer number exists, so the check cannot be used to probe for customers.

Failed checks are counted in the database, per customer number (whether it
exists or not) and per source (the client address, the caller's number),
across conversations and channels: enough failures lock that key for a
while that doubles with every further failure. A locked key is refused
before the values are even compared, so a guess that happens to be right
gets nothing during the lock. Every failure and every refusal is audited,
without the values themselves. The counters' keys are keyed digests
(`bot/domain/privacy.py`) made with the secret the caller passes in
(`PSEUDONYM_KEY`): the table cannot be read back to numbers or addresses.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.errors import VerificationFailed
from bot.domain.models import AuditEntry, Customer, IdentityGuard, utcnow
from bot.domain.privacy import pseudonymous_key

# What the check compares, as the dialogue's slots name them.
VALUES = ("customer_number", "postcode", "birth_date")
# Tries within one conversation (then a person takes over).
MAX_ATTEMPTS = 3
# Failures of one customer number, and of one source (which may be many
# customers behind one address), before a lock.
CUSTOMER_LOCK_AFTER = 3
SOURCE_LOCK_AFTER = 10
FIRST_LOCK = dt.timedelta(minutes=15)
LONGEST_LOCK = dt.timedelta(hours=24)
# Failures this old, without a lock in force, are forgotten.
FORGET_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class VerifiedCustomer:
    customer_number: str
    first_name: str
    last_name: str
    preferred_language: str


@dataclass(frozen=True)
class CheckResult:
    """The customer if the values belong together; `locked` if the check was refused."""

    customer: VerifiedCustomer | None
    locked: bool = False


def verify(
    session: Session, customer_number: str, postcode: str, birth_date: dt.date
) -> VerifiedCustomer:
    """Return the customer if all three values match, else raise `VerificationFailed`."""
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    expected = (
        f"{customer.postcode}|{customer.birth_date.isoformat()}" if customer else "-----|----------"
    )
    given = f"{postcode}|{birth_date.isoformat()}"
    if not hmac.compare_digest(expected, given) or customer is None:
        raise VerificationFailed()
    return VerifiedCustomer(
        customer_number=customer.customer_number,
        first_name=customer.first_name,
        last_name=customer.last_name,
        preferred_language=customer.preferred_language,
    )


def guard_key(kind: str, value: str, pseudonym_key: bytes) -> str:
    """The key of a customer number's (`customer`) or a source's (`source`) failures.

    A keyed digest (`PSEUDONYM_KEY`), never the number or address itself.
    """
    return pseudonymous_key(kind, value, pseudonym_key)


def lock_for(failures: int, threshold: int) -> dt.timedelta | None:
    """How long `failures` lock a key (None below `threshold`): doubling, at most a day."""
    if failures < threshold:
        return None
    return min(FIRST_LOCK * 2 ** (failures - threshold), LONGEST_LOCK)


def check(
    session: Session,
    customer_number: str,
    postcode: str,
    birth_date: dt.date,
    *,
    source: str | None,
    pseudonym_key: bytes,
    now: dt.datetime | None = None,
) -> CheckResult:
    """Check the three values, unless the number or the source is locked.

    Failures are counted under keyed digests made with `pseudonym_key`.
    Returns instead of raising, so the failures it counts are committed with
    the caller's transaction.
    """
    now = now or utcnow()
    number_key = guard_key("customer", customer_number, pseudonym_key)
    subjects = {number_key: ("customer", CUSTOMER_LOCK_AFTER)}
    if source:
        subjects[guard_key("source", source, pseudonym_key)] = ("source", SOURCE_LOCK_AFTER)
    guards = _guards(session, list(subjects))
    locked = [
        key for key, guard in guards.items() if guard.locked_until and guard.locked_until > now
    ]
    if locked:
        for key in locked:
            _audit(session, "identity_refused", subjects[key][0], guards[key])
        return CheckResult(None, locked=True)
    try:
        customer = verify(session, customer_number, postcode, birth_date)
    except VerificationFailed:
        for key, (kind, threshold) in subjects.items():
            guard = _count_failure(session, guards[key], now)
            lock = lock_for(guard.failures, threshold)
            guard.locked_until = now + lock if lock else None
            _audit(session, "identity_failed", kind, guard)
        session.flush()
        return CheckResult(None, locked=False)
    # The customer proved who they are: their number's failures are forgotten
    # (a source's are not: one address may try many numbers).
    guards[number_key].failures = 0
    guards[number_key].locked_until = None
    session.flush()
    return CheckResult(customer)


def _count_failure(session: Session, guard: IdentityGuard, now: dt.datetime) -> IdentityGuard:
    """One more failure, counted in the database (parallel guesses all count)."""
    lock_over = guard.locked_until is None or guard.locked_until <= now
    if guard.last_failure_at < now - FORGET_AFTER and lock_over:
        session.execute(
            update(IdentityGuard).where(IdentityGuard.id == guard.id).values(failures=0)
        )
    session.execute(
        update(IdentityGuard)
        .where(IdentityGuard.id == guard.id)
        .values(failures=IdentityGuard.failures + 1, last_failure_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(guard)
    return guard


def _guards(session: Session, keys: list[str]) -> dict[str, IdentityGuard]:
    """The guard of each key, made on first use (another transaction may make it at once).

    The rows are locked for the transaction where the database can (PostgreSQL),
    so parallel checks of one key wait for each other.
    """
    query = select(IdentityGuard).where(IdentityGuard.key.in_(keys)).with_for_update()
    found = {guard.key: guard for guard in session.scalars(query)}
    for key in keys:
        if key in found:
            continue
        try:
            with session.begin_nested():
                guard = IdentityGuard(key=key, failures=0, last_failure_at=utcnow())
                session.add(guard)
            found[key] = guard
        except IntegrityError:
            found[key] = session.scalars(
                select(IdentityGuard).where(IdentityGuard.key == key)
            ).one()
    return found


def _audit(session: Session, action: str, kind: str, guard: IdentityGuard) -> None:
    detail = {"subject": kind, "failures": guard.failures}
    if guard.locked_until is not None:
        detail["locked_until"] = guard.locked_until.isoformat(timespec="seconds") + "Z"
    session.add(AuditEntry(agent_id=None, action=action, case_id=None, detail=detail))


def customers_with_phone(session: Session, phone: str) -> list[str]:
    """Customer numbers registered with exactly this phone number."""
    return list(session.scalars(select(Customer.customer_number).where(Customer.phone == phone)))
