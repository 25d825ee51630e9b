"""Answers to bill questions: the latest bill per contract, and what a customer owes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import NotFound
from bot.domain.models import Bill, Contract, Customer


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
    return _bill_view(contract, max(contract.bills, key=lambda b: (b.issued_on, b.id)))


def _bill_view(contract: Contract, bill: Bill) -> BillView:
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


@dataclass(frozen=True)
class BlockView:
    """A supply block that is announced or in force (not yet lifted)."""

    contract_number: str
    commodity: str
    status: str
    announced_on: dt.date | None
    blocked_on: dt.date | None


@dataclass(frozen=True)
class AccountStanding:
    """What a customer owes now: unpaid bills (open or overdue with a positive
    balance), their total, and the supply blocks not yet lifted."""

    unpaid: list[BillView]
    total: Decimal
    blocks: list[BlockView]

    @property
    def overdue(self) -> Decimal:
        return sum((b.balance for b in self.unpaid if b.status == "overdue"), Decimal("0.00"))


UNPAID = ("open", "overdue")


def account_standing(session: Session, customer_number: str) -> AccountStanding:
    """The customer's unpaid bills across contracts and their blocks; raises NotFound."""
    customer = session.scalar(
        select(Customer)
        .where(Customer.customer_number == customer_number)
        .options(
            selectinload(Customer.contracts).selectinload(Contract.bills),
            selectinload(Customer.contracts).selectinload(Contract.supply_blocks),
        )
    )
    if customer is None:
        raise NotFound(customer_number)
    unpaid: list[BillView] = []
    blocks: list[BlockView] = []
    for contract in customer.contracts:
        for bill in contract.bills:
            if bill.status in UNPAID and bill.balance > 0:
                unpaid.append(_bill_view(contract, bill))
        blocks.extend(
            BlockView(
                contract_number=contract.contract_number,
                commodity=contract.commodity,
                status=block.status,
                announced_on=block.announced_on,
                blocked_on=block.blocked_on,
            )
            for block in contract.supply_blocks
            if block.status != "lifted"
        )
    unpaid.sort(key=lambda b: (b.due_on, b.bill_number))
    total = sum((b.balance for b in unpaid), Decimal("0.00"))
    return AccountStanding(unpaid=unpaid, total=total, blocks=blocks)
