"""Payment arrangements for customers who cannot pay their open balance now.

The utility's rules (the constants below):

- An arrangement is possible for an open balance (all unpaid bills, see
  `billing.account_standing`) over `MINIMUM_BALANCE`; a smaller balance cannot
  be split or put off by the assistant.
- **Instalments** (Ratenzahlung, `RZ-…`): `MIN_INSTALMENTS` to
  `MAX_INSTALMENTS` monthly instalments, none below `SMALLEST_INSTALMENT`, so
  a balance allows at most `balance / SMALLEST_INSTALMENT` of them. Amounts
  are whole cents; the cents that do not divide evenly go on the last
  instalment, so the schedule adds up to the balance exactly. The first
  instalment is due `FIRST_DUE_IN_DAYS` days ahead, the others on the same
  day of the following months (the month's last day where it is shorter).
- **Deferral** (Stundung, `ST-…`): the whole balance is due on one later date,
  at most `MAX_DEFERRAL_DAYS` days ahead; one deferral per customer in
  `DEFERRAL_INTERVAL_DAYS` days (counted from the day it was agreed).
- A customer with an arrangement still running (its last due date not past)
  is shown that one; there is no second.

Every arrangement is stored once per request id with its schedule, a
reference the customer keeps and an audit entry that names the record, never
the customer.

A supply block (Sperre, § 19 StromGVV/GasGVV) is for a person: a customer
facing an announced one is told about the statutory avoidance agreement
(Abwendungsvereinbarung) and gets a priority service case
(`open_supply_block_case`), which the conversation's handoff case is linked to.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import (
    ArrangementExists,
    BalanceTooSmall,
    DeferralAlreadyUsed,
    DeferralOutOfRange,
    InstalmentsOutOfRange,
    NotFound,
)
from bot.domain.models import (
    AuditEntry,
    Customer,
    Instalment,
    PaymentArrangement,
    ServiceCase,
)
from bot.domain.references import new_reference
from bot.domain.services.billing import AccountStanding, BlockView, account_standing

#: An arrangement only for an open balance over this amount.
MINIMUM_BALANCE = Decimal("100.00")
#: Fewest and most monthly instalments.
MIN_INSTALMENTS = 2
MAX_INSTALMENTS = 6
#: No instalment below this amount.
SMALLEST_INSTALMENT = Decimal("25.00")
#: The first instalment falls due this many days after the agreement.
FIRST_DUE_IN_DAYS = 14
#: A deferral puts the payment off by at most this many days.
MAX_DEFERRAL_DAYS = 30
#: At most one deferral per customer within this many days.
DEFERRAL_INTERVAL_DAYS = 365

INSTALMENTS = "instalments"
DEFERRAL = "deferral"
KINDS = (INSTALMENTS, DEFERRAL)
CENT = Decimal("0.01")


# --- the schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """One payment of a plan: an instalment, or the deferred balance."""

    number: int
    due_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class Plan:
    """What the customer pays when: instalments, or the whole balance on one later date."""

    kind: str
    total: Decimal
    payments: tuple[Payment, ...]

    @property
    def last_due_on(self) -> dt.date:
        return self.payments[-1].due_on

    @property
    def deferred_until(self) -> dt.date | None:
        return self.payments[0].due_on if self.kind == DEFERRAL else None


def largest_count(total: Decimal) -> int:
    """The most instalments `total` allows: none below SMALLEST_INSTALMENT, at most MAX."""
    return max(0, min(MAX_INSTALMENTS, int(total // SMALLEST_INSTALMENT)))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day where that month is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalment_plan(total: Decimal, count: int, today: dt.date) -> Plan:
    """`count` monthly instalments adding up to `total`; InstalmentsOutOfRange if not allowed."""
    maximum = largest_count(total)
    if not MIN_INSTALMENTS <= count <= maximum:
        raise InstalmentsOutOfRange(
            minimum=MIN_INSTALMENTS, maximum=maximum, smallest_amount=SMALLEST_INSTALMENT
        )
    share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    last = total - share * (count - 1)
    first_due = today + dt.timedelta(days=FIRST_DUE_IN_DAYS)
    payments = tuple(
        Payment(number=n, due_on=add_months(first_due, n - 1), amount=share)
        for n in range(1, count)
    ) + (Payment(number=count, due_on=add_months(first_due, count - 1), amount=last),)
    return Plan(kind=INSTALMENTS, total=total, payments=payments)


def latest_deferral(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=MAX_DEFERRAL_DAYS)


def deferral_plan(total: Decimal, until: dt.date, today: dt.date) -> Plan:
    """The whole `total` due on `until`; DeferralOutOfRange if that is not allowed."""
    latest = latest_deferral(today)
    if until <= today:
        raise DeferralOutOfRange(problem="past", latest=latest)
    if until > latest:
        raise DeferralOutOfRange(problem="too_late", latest=latest)
    return Plan(kind=DEFERRAL, total=total, payments=(Payment(1, until, total),))


# --- the customer's situation ---------------------------------------------------------


@dataclass(frozen=True)
class Arrangement:
    """A stored arrangement as the customer hears it."""

    reference: str
    plan: Plan
    agreed_on: dt.date


@dataclass(frozen=True)
class PaymentSituation:
    """What decides which arrangement a customer may agree today."""

    standing: AccountStanding
    #: an arrangement whose last payment is not yet due
    running: Arrangement | None
    #: the day the customer's last deferral within DEFERRAL_INTERVAL_DAYS was agreed
    last_deferral_on: dt.date | None
    payment_method: str
    today: dt.date

    @property
    def total(self) -> Decimal:
        return self.standing.total

    @property
    def eligible(self) -> bool:
        return self.total > MINIMUM_BALANCE

    @property
    def largest_count(self) -> int:
        return largest_count(self.total)

    @property
    def latest_deferral(self) -> dt.date:
        return latest_deferral(self.today)

    @property
    def deferral_possible_from(self) -> dt.date | None:
        """When a new deferral is possible, if the last one was too recent."""
        if self.last_deferral_on is None:
            return None
        return self.last_deferral_on + dt.timedelta(days=DEFERRAL_INTERVAL_DAYS)

    @property
    def earliest_due_on(self) -> dt.date | None:
        """The due date of the oldest unpaid bill."""
        return min((b.due_on for b in self.standing.unpaid), default=None)

    @property
    def announced_blocks(self) -> list[BlockView]:
        return [b for b in self.standing.blocks if b.status == "announced"]

    @property
    def blocks_in_force(self) -> list[BlockView]:
        return [b for b in self.standing.blocks if b.status == "blocked"]


def _customer(session: Session, customer_number: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number)
    return customer


def _arrangements(session: Session, customer: Customer) -> list[PaymentArrangement]:
    return list(
        session.scalars(
            select(PaymentArrangement)
            .where(PaymentArrangement.customer_id == customer.id)
            .options(selectinload(PaymentArrangement.instalments))
            .order_by(PaymentArrangement.created_at, PaymentArrangement.id)
        ).all()
    )


def _agreed_on(row: PaymentArrangement, zone: dt.tzinfo | None) -> dt.date:
    """The day (in the utility's time zone `zone`) an arrangement was agreed."""
    stored = row.created_at.replace(tzinfo=dt.timezone.utc)  # stored in UTC
    return stored.astimezone(zone or dt.timezone.utc).date()


def _plan_of(row: PaymentArrangement) -> Plan:
    if row.kind == DEFERRAL:
        payments: tuple[Payment, ...] = (Payment(1, row.deferred_until, row.total),)
    else:
        payments = tuple(Payment(i.number, i.due_on, i.amount) for i in row.instalments)
    return Plan(kind=row.kind, total=row.total, payments=payments)


def _arrangement_of(row: PaymentArrangement, zone: dt.tzinfo | None) -> Arrangement:
    return Arrangement(reference=row.reference, plan=_plan_of(row), agreed_on=_agreed_on(row, zone))


def situation(
    session: Session, customer_number: str, today: dt.date, zone: dt.tzinfo | None = None
) -> PaymentSituation:
    """The customer's balance, blocks, running arrangement and last deferral; raises NotFound.

    `today` and `zone` are the utility's day and time zone (default UTC).
    """
    customer = _customer(session, customer_number)
    standing = account_standing(session, customer_number)
    rows = _arrangements(session, customer)
    running = None
    for row in reversed(rows):
        plan = _plan_of(row)
        if row.status == "active" and plan.payments and plan.last_due_on >= today:
            running = Arrangement(row.reference, plan, _agreed_on(row, zone))
            break
    interval_start = today - dt.timedelta(days=DEFERRAL_INTERVAL_DAYS)
    deferrals = [
        agreed
        for r in rows
        if r.kind == DEFERRAL and (agreed := _agreed_on(r, zone)) > interval_start
    ]
    return PaymentSituation(
        standing=standing,
        running=running,
        last_deferral_on=max(deferrals, default=None),
        payment_method=customer.payment_method,
        today=today,
    )


def check_allowed(current: PaymentSituation, kind: str) -> None:
    """Raise an ArrangementRefused if the customer may not agree an arrangement of `kind`."""
    if kind not in KINDS:
        raise ValueError(f"unknown arrangement kind {kind!r}")
    if current.running is not None:
        raise ArrangementExists(reference=current.running.reference)
    if not current.eligible:
        raise BalanceTooSmall(total=current.total, minimum=MINIMUM_BALANCE)
    if kind == DEFERRAL and current.last_deferral_on is not None:
        raise DeferralAlreadyUsed(
            agreed_on=current.last_deferral_on,
            possible_from=current.last_deferral_on + dt.timedelta(days=DEFERRAL_INTERVAL_DAYS),
        )


def plan_for(
    current: PaymentSituation, kind: str, *, count: int | None = None, until: dt.date | None = None
) -> Plan:
    """The plan the customer asked for, checked against every rule."""
    check_allowed(current, kind)
    if kind == INSTALMENTS:
        if count is None:
            raise ValueError("instalments need a count")
        return instalment_plan(current.total, count, current.today)
    if until is None:
        raise ValueError("a deferral needs a date")
    return deferral_plan(current.total, until, current.today)


def preview(
    session: Session,
    customer_number: str,
    kind: str,
    today: dt.date,
    *,
    count: int | None = None,
    until: dt.date | None = None,
    zone: dt.tzinfo | None = None,
) -> Plan:
    """The plan that `agree` would store now, without storing anything."""
    current = situation(session, customer_number, today, zone)
    return plan_for(current, kind, count=count, until=until)


# --- agreeing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreed:
    arrangement: Arrangement
    already_agreed: bool  # the same request id was stored before
    payment_method: str  # the customer's: `direct_debit` or `transfer`


def _by_request(session: Session, request_id: str) -> PaymentArrangement | None:
    return session.scalar(
        select(PaymentArrangement)
        .where(PaymentArrangement.request_id == request_id)
        .options(selectinload(PaymentArrangement.instalments))
    )


def _reference_taken(
    session: Session, table: type[PaymentArrangement] | type[ServiceCase]
) -> Callable[[str], bool]:
    """Whether a reference is in use in `table` (for `new_reference`)."""
    return lambda reference: (
        session.scalar(select(table.id).where(table.reference == reference)) is not None
    )


def agree(
    session: Session,
    *,
    customer_number: str,
    kind: str,
    count: int | None = None,
    until: dt.date | None = None,
    request_id: str,
    channel: str,
    conversation_id: str,
    today: dt.date,
    zone: dt.tzinfo | None = None,
) -> Agreed:
    """Store the arrangement the customer confirmed, once per request id.

    The rules are checked again (the balance or another conversation may have
    changed meanwhile); a refusal raises an ArrangementRefused and stores nothing.
    """
    existing = _by_request(session, request_id)
    if existing is not None:
        return _already(existing, zone)
    customer = _customer(session, customer_number)
    # Updating the customer's row (to its own value) locks it until the commit:
    # two conversations of one customer agree one after the other, and the
    # second sees the first one's arrangement (PostgreSQL's row lock, SQLite's
    # write lock).
    session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(payment_method=Customer.payment_method)
        .execution_options(synchronize_session=False)
    )
    current = situation(session, customer_number, today, zone)
    plan = plan_for(current, kind, count=count, until=until)
    row = PaymentArrangement(
        customer_id=customer.id,
        reference=new_reference(kind, _reference_taken(session, PaymentArrangement)),
        kind=kind,
        total=plan.total,
        deferred_until=plan.deferred_until,
        status="active",
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    if kind == INSTALMENTS:
        row.instalments = [
            Instalment(number=p.number, due_on=p.due_on, amount=p.amount) for p in plan.payments
        ]
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            session.add(
                AuditEntry(
                    agent_id=None,
                    action="payment_arrangement_agreed",
                    case_id=None,
                    detail={
                        "payment_arrangement": row.id,
                        "kind": kind,
                        "payments": len(plan.payments),
                        "channel": channel,
                    },
                )
            )
            session.flush()
    except IntegrityError:
        # the same confirmation delivered twice at once: the first one stored it
        session.expire_all()
        existing = _by_request(session, request_id)
        if existing is None:
            raise
        return _already(existing, zone)
    arrangement = Arrangement(row.reference, plan, _agreed_on(row, zone))
    return Agreed(arrangement, already_agreed=False, payment_method=customer.payment_method)


def _already(row: PaymentArrangement, zone: dt.tzinfo | None) -> Agreed:
    return Agreed(
        _arrangement_of(row, zone), already_agreed=True, payment_method=row.customer.payment_method
    )


# --- supply blocks ----------------------------------------------------------------------


@dataclass(frozen=True)
class SupplyBlockCase:
    reference: str
    data: dict[str, Any]
    created: bool


def open_supply_block_case(
    session: Session,
    *,
    customer_number: str,
    request_id: str,
    language: str,
    channel: str,
    conversation_id: str,
    reported_by_customer: bool,
) -> SupplyBlockCase:
    """A priority case (kind `supply_block`) for a person, once per request id.

    Its data say what the agent needs for an avoidance agreement: the blocks
    not yet lifted (contract, commodity, status, dates), the open balance and
    whether the customer reported a block the file does not show.
    """
    existing = session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))
    if existing is not None:
        return SupplyBlockCase(existing.reference, existing.data, created=False)
    customer = _customer(session, customer_number)
    standing = account_standing(session, customer_number)
    announced = [b for b in standing.blocks if b.status == "announced"]
    data = {
        "contracts": sorted({b.contract_number for b in standing.blocks}),
        "blocks": [
            {
                "contract_number": b.contract_number,
                "commodity": b.commodity,
                "status": b.status,
                "announced_on": b.announced_on.isoformat() if b.announced_on else None,
                "blocked_on": b.blocked_on.isoformat() if b.blocked_on else None,
            }
            for b in standing.blocks
        ],
        "balance": str(standing.total),
        "overdue": str(standing.overdue),
        "announced_on": min(
            (b.announced_on.isoformat() for b in announced if b.announced_on), default=None
        ),
        "reported_by_customer": reported_by_customer,
    }
    case = ServiceCase(
        reference=new_reference("supply_block", _reference_taken(session, ServiceCase)),
        kind="supply_block",
        customer_id=customer.id,
        status="open",
        priority=True,
        data=data,
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
            session.add(
                AuditEntry(
                    agent_id=None,
                    action="supply_block_case_opened",
                    case_id=None,
                    detail={"service_case": case.id, "channel": channel},
                )
            )
            session.flush()
    except IntegrityError:
        session.expire_all()
        existing = session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))
        if existing is None:
            raise
        return SupplyBlockCase(existing.reference, existing.data, created=False)
    return SupplyBlockCase(case.reference, data, created=True)


def link_handoff(session: Session, reference: str, handoff_case_id: str) -> None:
    """Name the handoff case that took the conversation in the service case."""
    case = session.scalar(select(ServiceCase).where(ServiceCase.reference == reference))
    if case is None:
        raise NotFound(reference)
    case.handoff_case_id = handoff_case_id
    session.flush()
