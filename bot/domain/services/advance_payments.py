"""Self-service changes of the monthly advance payment (Abschlag).

Rules (from the utility): a new amount lies between 5 € and three times the
billing system's recommendation; a reduction below 80 % of the recommendation
is not applied by the assistant (a person must look at it); the change takes
effect from the next due date that is at least five days away. Every change
is stored with an audit record, exactly once per request id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.errors import (
    AmountOutOfRange,
    ChangedMeanwhile,
    NotFound,
    ReductionTooLarge,
    UnchangedAmount,
)
from bot.domain.models import AdvancePaymentChange, Contract, Customer

MINIMUM = Decimal("5.00")
MAXIMUM_FACTOR = Decimal(3)
LOWEST_SHARE_OF_RECOMMENDATION = Decimal("0.80")
LEAD_DAYS = 5
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ContractAdvance:
    contract_number: str
    commodity: str
    tariff: str | None
    amount: Decimal
    recommended: Decimal
    due_day: int


@dataclass(frozen=True)
class ChangePreview:
    contract: ContractAdvance
    new_amount: Decimal
    effective_on: dt.date


@dataclass(frozen=True)
class ChangeResult:
    preview: ChangePreview
    already_applied: bool


def contracts_of(session: Session, customer_number: str) -> list[ContractAdvance]:
    """The customer's contracts with their current advance payment."""
    rows = session.scalars(
        select(Contract)
        .join(Customer)
        .where(Customer.customer_number == customer_number)
        .order_by(Contract.contract_number)
    ).all()
    return [_summary(c) for c in rows]


def _summary(contract: Contract) -> ContractAdvance:
    return ContractAdvance(
        contract_number=contract.contract_number,
        commodity=contract.commodity,
        tariff=contract.tariff,
        amount=contract.advance_amount,
        recommended=contract.recommended_advance,
        due_day=contract.advance_due_day,
    )


def allowed_range(contract: ContractAdvance) -> tuple[Decimal, Decimal]:
    return MINIMUM, (contract.recommended * MAXIMUM_FACTOR).quantize(CENT)


def lowest_self_service_amount(contract: ContractAdvance) -> Decimal:
    return (contract.recommended * LOWEST_SHARE_OF_RECOMMENDATION).quantize(CENT, rounding=ROUND_UP)


def check_amount(contract: ContractAdvance, amount: Decimal) -> None:
    """Raise a `ChangeNotAllowed` subclass if `amount` breaks a rule."""
    minimum, maximum = allowed_range(contract)
    if not minimum <= amount <= maximum:
        raise AmountOutOfRange(minimum=minimum, maximum=maximum)
    if amount == contract.amount:
        raise UnchangedAmount()
    lowest = lowest_self_service_amount(contract)
    if amount < contract.amount and amount < lowest:
        raise ReductionTooLarge(recommended=contract.recommended, lowest_allowed=lowest)


def effective_date(due_day: int, today: dt.date) -> dt.date:
    """The first due date (day `due_day` of a month) at least LEAD_DAYS ahead."""
    earliest = today + dt.timedelta(days=LEAD_DAYS)
    year, month = earliest.year, earliest.month
    if earliest.day > due_day:
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return dt.date(year, month, due_day)


def next_due_date(due_day: int, today: dt.date) -> dt.date:
    """The next due date of an advance payment (day `due_day` of a month), today included."""
    year, month = today.year, today.month
    if today.day > due_day:
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return dt.date(year, month, due_day)


@dataclass(frozen=True)
class AdvanceSchedule:
    """A contract's advance payment, when it is next due, and how it is paid."""

    contract: ContractAdvance
    next_due_on: dt.date
    direct_debit: bool


def schedules_of(session: Session, customer_number: str, today: dt.date) -> list[AdvanceSchedule]:
    """The customer's contracts with their advance payment and next due date."""
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number)
    return [
        AdvanceSchedule(
            contract=contract,
            next_due_on=next_due_date(contract.due_day, today),
            direct_debit=customer.payment_method == "direct_debit",
        )
        for contract in contracts_of(session, customer_number)
    ]


def _owned_contract(
    session: Session, customer_number: str, contract_number: str, *, for_update: bool = False
) -> Contract:
    query = (
        select(Contract)
        .join(Customer)
        .where(
            Customer.customer_number == customer_number,
            Contract.contract_number == contract_number,
        )
    )
    if for_update:  # PostgreSQL locks the row until the change is committed
        query = query.with_for_update(of=Contract)
    contract = session.scalar(query)
    if contract is None:
        raise NotFound(contract_number)
    return contract


def preview_change(
    session: Session,
    customer_number: str,
    contract_number: str,
    new_amount: Decimal,
    today: dt.date,
) -> ChangePreview:
    """Check a requested change and say when it would take effect."""
    contract = _summary(_owned_contract(session, customer_number, contract_number))
    amount = new_amount.quantize(CENT)
    check_amount(contract, amount)
    return ChangePreview(
        contract=contract,
        new_amount=amount,
        effective_on=effective_date(contract.due_day, today),
    )


def apply_change(
    session: Session,
    *,
    customer_number: str,
    contract_number: str,
    new_amount: Decimal,
    request_id: str,
    channel: str,
    conversation_id: str,
    today: dt.date,
) -> ChangeResult:
    """Apply a confirmed change once; a repeated request id changes nothing."""
    existing = session.scalar(
        select(AdvancePaymentChange).where(AdvancePaymentChange.request_id == request_id)
    )
    if existing is not None:
        return _result_of(existing)
    contract = _owned_contract(session, customer_number, contract_number, for_update=True)
    old_amount = contract.advance_amount
    preview = preview_change(session, customer_number, contract_number, new_amount, today)
    change = AdvancePaymentChange(
        contract=contract,
        request_id=request_id,
        old_amount=old_amount,
        new_amount=preview.new_amount,
        effective_on=preview.effective_on,
        channel=channel,
        conversation_id=conversation_id,
    )
    try:
        with session.begin_nested():
            session.add(change)
            session.flush()
            # The rules were checked against `old_amount`: only if it is still the
            # contract's amount does the change land (another conversation may
            # have changed it since; SQLite takes no row lock).
            moved = session.execute(
                update(Contract)
                .where(Contract.id == contract.id, Contract.advance_amount == old_amount)
                .values(advance_amount=preview.new_amount)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                raise ChangedMeanwhile(contract_number)
    except IntegrityError:
        # A concurrent delivery of the same confirmation won the race.
        session.expire_all()
        existing = session.scalar(
            select(AdvancePaymentChange).where(AdvancePaymentChange.request_id == request_id)
        )
        if existing is None:
            raise
        return _result_of(existing)
    session.refresh(contract)
    return ChangeResult(preview=preview, already_applied=False)


def _result_of(change: AdvancePaymentChange) -> ChangeResult:
    contract = _summary(change.contract)
    return ChangeResult(
        preview=ChangePreview(
            contract=contract,
            new_amount=change.new_amount,
            effective_on=change.effective_on,
        ),
        already_applied=True,
    )
