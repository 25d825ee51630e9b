"""Answers to bill questions: the latest bill per contract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import NotFound
from bot.domain.models import Contract, Customer


@dataclass(frozen=True)
class BillView:
    contract_number: str
    commodity: str
    tariff: str | None
    bill_number: str
    kind: str
    issued_on: dt.date
    period_start: dt.date
    period_end: dt.date
    consumption: Decimal
    unit: str
    total_amount: Decimal
    advance_payments_made: Decimal
    balance: Decimal
    due_on: dt.date
    status: str


@dataclass(frozen=True)
class BillOverview:
    """The bills that answer the question, one per contract.

    `commodity_not_found` is set when the customer named a commodity they
    have no contract for; the overview then lists all contracts.
    """

    bills: list[BillView]
    commodity_not_found: bool = False


def _view(contract: Contract) -> BillView | None:
    if not contract.bills:
        return None
    bill = max(contract.bills, key=lambda b: (b.issued_on, b.id))
    return BillView(
        contract_number=contract.contract_number,
        commodity=contract.commodity,
        tariff=contract.tariff,
        bill_number=bill.bill_number,
        kind=bill.kind,
        issued_on=bill.issued_on,
        period_start=bill.period_start,
        period_end=bill.period_end,
        consumption=bill.consumption,
        unit=bill.unit,
        total_amount=bill.total_amount,
        advance_payments_made=bill.advance_payments_made,
        balance=bill.balance,
        due_on=bill.due_on,
        status=bill.status,
    )


def bill_overview(
    session: Session, customer_number: str, commodity: str | None = None
) -> BillOverview:
    """Latest bill of each contract, narrowed to `commodity` when given."""
    customer = session.scalar(
        select(Customer)
        .where(Customer.customer_number == customer_number)
        .options(selectinload(Customer.contracts).selectinload(Contract.bills))
    )
    if customer is None:
        raise NotFound(customer_number)
    contracts = list(customer.contracts)
    not_found = False
    if commodity:
        matching = [c for c in contracts if c.commodity == commodity]
        if matching:
            contracts = matching
        else:
            not_found = True
    views = [v for v in (_view(c) for c in contracts) if v is not None]
    return BillOverview(bills=views, commodity_not_found=not_found)
