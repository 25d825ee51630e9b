"""Why a bill is as high as it is: the latest bill of a contract, explained.

A customer who asks "Warum ist meine Rechnung so hoch?" hears, for the latest
bill of the contract in question:

- the consumption against the same period a year before and against the
  previous billing period, when the file has such bills (per day when the
  periods differ in length, e.g. an interim bill of ten months against an
  annual bill);
- the average price per unit (total / consumption), and the previous bill's
  when it changed by at least one per cent;
- the advance payments made against the total, and
- when the back-payment is large (`is_large_back_payment`), the offer to
  raise the advance payment to the recommended amount.

Everything is Decimal. The module reads, it never changes anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import NotFound
from bot.domain.models import Bill, Contract, Customer

#: A back-payment above this many euros is large ...
LARGE_BACK_PAYMENT = Decimal("100.00")
#: ... and so is one above this share of the advance payments made.
LARGE_SHARE_OF_ADVANCES = Decimal("0.20")
#: Periods whose lengths differ by more days than this are compared per day.
SAME_LENGTH_DAYS = 5
#: How far a bill's period may lie from exactly one year before and still count as it.
YEAR_BEFORE_SLACK_DAYS = 15
#: A relative change below this is "about the same" (consumption and price).
NOTABLE_CHANGE = Decimal("0.01")

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
PRICE = Decimal("0.0001")


@dataclass(frozen=True)
class BillFacts:
    """The figures of one bill the explanation works with."""

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

    @property
    def days(self) -> int:
        """Days in the billing period, both ends included."""
        return (self.period_end - self.period_start).days + 1

    @property
    def unit_price(self) -> Decimal | None:
        """The average price per unit (euros, four decimals); None without consumption."""
        if self.consumption <= 0:
            return None
        return (self.total_amount / self.consumption).quantize(PRICE, ROUND_HALF_UP)


@dataclass(frozen=True)
class ConsumptionComparison:
    """The bill's consumption against an earlier bill's.

    `kind` is `year_before` (the same period a year earlier) or `previous`
    (the billing period just before). With `per_day` the values are units per
    day (one decimal), else whole-period consumptions. `change` is the
    relative change (0.057 for 5.7 % more, negative for less). A bill without
    consumption is never compared with.
    """

    kind: str
    earlier: BillFacts
    per_day: bool
    current_value: Decimal
    earlier_value: Decimal
    difference: Decimal
    change: Decimal

    @property
    def direction(self) -> str:
        """`up`, `down`, or `same` (less than one per cent apart)."""
        if abs(self.change) < NOTABLE_CHANGE:
            return "same"
        return "up" if self.change > 0 else "down"


@dataclass(frozen=True)
class PriceComparison:
    """The average price per unit, and the earlier bill's when it changed notably."""

    current: Decimal
    earlier: Decimal | None = None
    change: Decimal | None = None

    @property
    def direction(self) -> str:
        if self.change is None:
            return "same"
        return "up" if self.change > 0 else "down"


@dataclass(frozen=True)
class BillExplanation:
    """What makes up the latest bill of one contract, and what the customer can do."""

    contract_number: str
    commodity: str
    bill: BillFacts
    comparisons: tuple[ConsumptionComparison, ...]
    price: PriceComparison | None
    current_advance: Decimal
    recommended_advance: Decimal
    large_back_payment: bool

    @property
    def offered_advance(self) -> Decimal | None:
        """The advance payment to offer: the recommendation, when the back-payment is
        large and the recommendation is above the current amount."""
        if self.large_back_payment and self.recommended_advance > self.current_advance:
            return self.recommended_advance
        return None


def is_large_back_payment(balance: Decimal, advance_payments_made: Decimal) -> bool:
    """Over 100 €, or over 20 % of the advance payments made (a credit never is)."""
    if balance <= 0:
        return False
    return balance > LARGE_BACK_PAYMENT or balance > advance_payments_made * LARGE_SHARE_OF_ADVANCES


def _relative(current: Decimal, earlier: Decimal) -> Decimal:
    return ((current - earlier) / earlier).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _compare(kind: str, current: BillFacts, earlier: BillFacts) -> ConsumptionComparison:
    per_day = abs(current.days - earlier.days) > SAME_LENGTH_DAYS
    if per_day:
        now_rate = current.consumption / current.days
        then_rate = earlier.consumption / earlier.days
        # The change comes from the exact rates, so rounding shows no false trend.
        change = _relative(now_rate, then_rate)
        now = now_rate.quantize(TENTH, ROUND_HALF_UP)
        then = then_rate.quantize(TENTH, ROUND_HALF_UP)
    else:
        change = _relative(current.consumption, earlier.consumption)
        now, then = current.consumption, earlier.consumption
    return ConsumptionComparison(
        kind=kind,
        earlier=earlier,
        per_day=per_day,
        current_value=now,
        earlier_value=then,
        difference=now - then,
        change=change,
    )


def _year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _is_year_before(candidate: BillFacts, bill: BillFacts) -> bool:
    slack = dt.timedelta(days=YEAR_BEFORE_SLACK_DAYS)
    return (
        abs(candidate.period_start - _year_earlier(bill.period_start)) <= slack
        and abs(candidate.period_end - _year_earlier(bill.period_end)) <= slack
    )


def latest(bills: list[BillFacts]) -> BillFacts:
    """The bill issued last (the one a customer asks about)."""
    return max(bills, key=lambda b: (b.issued_on, b.period_end, b.bill_number))


def comparisons(bill: BillFacts, bills: list[BillFacts]) -> tuple[ConsumptionComparison, ...]:
    """The bill against the same period a year before and against the previous period.

    The previous period is the latest bill that ended before this one began;
    when that bill is the one of a year before, it is compared once.
    """
    earlier = [b for b in bills if b.period_end < bill.period_start and b.consumption > 0]
    year_before = next(
        (
            b
            for b in sorted(earlier, key=lambda b: b.period_end, reverse=True)
            if _is_year_before(b, bill)
        ),
        None,
    )
    previous = max(earlier, key=lambda b: (b.period_end, b.issued_on), default=None)
    found: list[ConsumptionComparison] = []
    if year_before is not None:
        found.append(_compare("year_before", bill, year_before))
    if previous is not None and previous != year_before:
        found.append(_compare("previous", bill, previous))
    return tuple(found)


def price_comparison(bill: BillFacts, earlier: BillFacts | None) -> PriceComparison | None:
    """The average price per unit; the earlier bill's too when it differs by 1 % or more."""
    current = bill.unit_price
    if current is None:
        return None
    before = earlier.unit_price if earlier is not None else None
    if earlier is None or before is None:
        return PriceComparison(current=current)
    # from the exact averages, not the rounded ones shown
    change = _relative(
        bill.total_amount / bill.consumption, earlier.total_amount / earlier.consumption
    )
    if abs(change) < NOTABLE_CHANGE:
        return PriceComparison(current=current)
    return PriceComparison(current=current, earlier=before, change=change)


def explain(
    contract_number: str,
    commodity: str,
    current_advance: Decimal,
    recommended_advance: Decimal,
    bills: list[BillFacts],
) -> BillExplanation:
    """The explanation of the latest of `bills` (not empty)."""
    bill = latest(bills)
    compared = comparisons(bill, bills)
    # The price is compared with the bill just before (the previous period's).
    previous = next((c.earlier for c in compared if c.kind == "previous"), None)
    if previous is None and compared:
        previous = compared[0].earlier
    return BillExplanation(
        contract_number=contract_number,
        commodity=commodity,
        bill=bill,
        comparisons=compared,
        price=price_comparison(bill, previous),
        current_advance=current_advance,
        recommended_advance=recommended_advance,
        large_back_payment=is_large_back_payment(bill.balance, bill.advance_payments_made),
    )


def _facts(bill: Bill) -> BillFacts:
    return BillFacts(
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
    )


def explain_latest_bill(
    session: Session, customer_number: str, contract_number: str
) -> BillExplanation:
    """Explain the latest bill of the customer's contract; NotFound when it is not
    the customer's contract or has no bill yet."""
    contract = session.scalar(
        select(Contract)
        .join(Customer)
        .where(
            Customer.customer_number == customer_number,
            Contract.contract_number == contract_number,
        )
        .options(selectinload(Contract.bills))
    )
    if contract is None or not contract.bills:
        raise NotFound(contract_number)
    return explain(
        contract.contract_number,
        contract.commodity,
        contract.advance_amount,
        contract.recommended_advance,
        [_facts(b) for b in contract.bills],
    )
