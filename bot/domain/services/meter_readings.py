"""Meter readings (Zählerstände) given by customers, checked for plausibility.

A contract has one meter. A reading is compared with the meter's last reading
and with the consumption expected since then from the bills:

- `first`: nothing to compare with (the file has bills but no reading yet);
- `plausible`: at or above the last reading and not far above the expectation;
- `below_last`: below the last reading (a typo, a swapped meter, a rollover);
- `above_expected`: more than `HIGH_FACTOR` times the expected consumption.

The last two are stored only when the customer confirmed the value read back
to them (`confirmed=True`); otherwise `ImplausibleReading` is raised and
nothing changes. Only readings of the meter now installed count as earlier
readings (a swapped meter starts again at `first`), and a reading dated
before the last one is refused (`InvalidReading("before_last_reading")`):
the billing system already has a later one. Each reading is stored once per
request id, with an audit entry that names the record, never the customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import ImplausibleReading, InvalidReading, NotFound
from bot.domain.models import AuditEntry, Bill, Contract, Customer, MeterReading

#: The unit each kind of meter counts in (gas meters count volume, bills energy).
METER_UNITS = {"electricity": "kWh", "gas": "m3", "water": "m3", "district_heating": "kWh"}
#: kWh per m³ of natural gas (calorific value × volume correction); used only to
#: turn billed kWh into the m³ a gas meter shows, for the plausibility check.
GAS_KWH_PER_M3 = Decimal("10.3")
#: A reading showing more than this many times the expected consumption is read back.
HIGH_FACTOR = Decimal(2)
#: The expectation covers at least this many days, so short intervals are not flagged.
MINIMUM_DAYS = 30
#: Meters have at most nine digits before the decimal point.
LARGEST_READING = Decimal("999999999.999")
PLACES = Decimal("0.001")
REASONS = ("regular", "move_out", "move_in", "tariff_change")


@dataclass(frozen=True)
class ReadingView:
    read_on: dt.date
    value: Decimal
    unit: str
    source: str


@dataclass(frozen=True)
class Meter:
    """A contract's meter with what the plausibility check needs."""

    contract_number: str
    commodity: str
    tariff: str | None
    meter_number: str | None
    unit: str
    last: ReadingView | None
    #: expected consumption per day in the meter's unit, from the latest bill
    daily_expected: Decimal | None


@dataclass(frozen=True)
class Plausibility:
    verdict: str
    last: ReadingView | None
    consumption: Decimal | None  # since the last reading
    expected: Decimal | None  # expected since the last reading

    @property
    def needs_confirmation(self) -> bool:
        return self.verdict in ("below_last", "above_expected")


@dataclass(frozen=True)
class SubmittedReading:
    meter: Meter
    reading: ReadingView
    plausibility: Plausibility
    already_applied: bool


def _daily_expected(contract: Contract, unit: str) -> Decimal | None:
    bills: list[Bill] = sorted(contract.bills, key=lambda b: (b.period_end, b.id))
    if not bills:
        return None
    bill = bills[-1]
    days = (bill.period_end - bill.period_start).days + 1
    if days <= 0 or bill.consumption <= 0:
        return None
    consumption = bill.consumption
    if bill.unit.lower() == "kwh" and unit == "m3" and contract.commodity == "gas":
        consumption = consumption / GAS_KWH_PER_M3
    elif bill.unit.lower() != unit.lower():
        return None  # units we cannot compare
    return consumption / days


def _readings_of_meter(contract: Contract, leaving_out: int | None = None) -> list[MeterReading]:
    """The readings of the meter now installed, oldest first (`leaving_out`: a reading's id)."""
    return [
        r
        for r in contract.meter_readings
        if r.id != leaving_out and r.meter_number in (None, contract.meter_number)
    ]


def _meter(contract: Contract, leaving_out: int | None = None) -> Meter:
    """The contract's meter, as it was before the reading `leaving_out` (if given)."""
    unit = METER_UNITS[contract.commodity]
    readings = _readings_of_meter(contract, leaving_out)
    last = readings[-1] if readings else None
    return Meter(
        contract_number=contract.contract_number,
        commodity=contract.commodity,
        tariff=contract.tariff,
        meter_number=contract.meter_number,
        unit=unit,
        last=_view(last) if last is not None else None,
        daily_expected=_daily_expected(contract, unit),
    )


def _view(reading: MeterReading) -> ReadingView:
    return ReadingView(
        read_on=reading.read_on, value=reading.value, unit=reading.unit, source=reading.source
    )


def meters_of(session: Session, customer_number: str) -> list[Meter]:
    """The customer's meters (one per contract), in contract order; raises NotFound."""
    customer = session.scalar(
        select(Customer)
        .where(Customer.customer_number == customer_number)
        .options(
            selectinload(Customer.contracts).selectinload(Contract.bills),
            selectinload(Customer.contracts).selectinload(Contract.meter_readings),
        )
    )
    if customer is None:
        raise NotFound(customer_number)
    return [_meter(c) for c in customer.contracts]


def check_value(value: Decimal, read_on: dt.date, today: dt.date) -> Decimal:
    """The value rounded to the meter's precision; raises InvalidReading."""
    if not value.is_finite():
        raise InvalidReading("not_a_number")
    if value < 0:
        raise InvalidReading("negative")
    if value > LARGEST_READING:
        raise InvalidReading("too_large")
    if read_on > today:
        raise InvalidReading("future_date")
    return value.quantize(PLACES)


def plausibility(meter: Meter, value: Decimal, read_on: dt.date) -> Plausibility:
    """How `value` compares with the meter's last reading and the bills."""
    last = meter.last
    if last is None:
        return Plausibility("first", None, None, None)
    consumption = value - last.value
    expected = None
    if meter.daily_expected is not None:
        days = max((read_on - last.read_on).days, MINIMUM_DAYS)
        expected = (meter.daily_expected * days).quantize(PLACES)
    if consumption < 0:
        return Plausibility("below_last", last, consumption, expected)
    if expected is not None and consumption > expected * HIGH_FACTOR:
        return Plausibility("above_expected", last, consumption, expected)
    return Plausibility("plausible", last, consumption, expected)


def _owned_contract(session: Session, customer_number: str, contract_number: str) -> Contract:
    contract = session.scalar(
        select(Contract)
        .join(Customer)
        .where(
            Customer.customer_number == customer_number,
            Contract.contract_number == contract_number,
        )
        .options(selectinload(Contract.bills), selectinload(Contract.meter_readings))
    )
    if contract is None:
        raise NotFound(contract_number)
    return contract


def preview_reading(
    session: Session,
    customer_number: str,
    contract_number: str,
    value: Decimal,
    read_on: dt.date,
    today: dt.date,
) -> tuple[Meter, Decimal, Plausibility]:
    """Check a reading without storing it: the meter, the rounded value, the verdict."""
    meter = _meter(_owned_contract(session, customer_number, contract_number))
    checked = check_value(value, read_on, today)
    if meter.last is not None and read_on < meter.last.read_on:
        raise InvalidReading("before_last_reading")
    return meter, checked, plausibility(meter, checked, read_on)


def submit_reading(
    session: Session,
    *,
    customer_number: str,
    contract_number: str,
    value: Decimal,
    read_on: dt.date,
    today: dt.date,
    confirmed: bool,
    channel: str,
    conversation_id: str,
    request_id: str,
    reason: str = "regular",
) -> SubmittedReading:
    """Store a customer's reading once per request id.

    An implausible reading that was not `confirmed` raises ImplausibleReading
    and stores nothing.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reading reason {reason!r}")
    existing = session.scalar(select(MeterReading).where(MeterReading.request_id == request_id))
    if existing is not None:
        return _submitted(existing)
    meter, checked, verdict = preview_reading(
        session, customer_number, contract_number, value, read_on, today
    )
    if verdict.needs_confirmation and not confirmed:
        raise ImplausibleReading(
            verdict=verdict.verdict,
            last_value=verdict.last.value if verdict.last else None,
            consumption=verdict.consumption,
            expected=verdict.expected,
        )
    contract = _owned_contract(session, customer_number, contract_number)
    reading = MeterReading(
        contract_id=contract.id,
        meter_number=contract.meter_number,
        read_on=read_on,
        value=checked,
        unit=meter.unit,
        source="customer",
        reason=reason,
        plausibility=verdict.verdict,
        confirmed=confirmed and verdict.needs_confirmation,
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            session.add(reading)
            session.flush()
            session.add(
                AuditEntry(
                    agent_id=None,
                    action="meter_reading_submitted",
                    case_id=None,
                    detail={
                        "meter_reading": reading.id,
                        "channel": channel,
                        "plausibility": verdict.verdict,
                        "confirmed": reading.confirmed,
                        "reason": reason,
                    },
                )
            )
            session.flush()
    except IntegrityError:
        # the same confirmation delivered twice at once: the first one stored it
        session.expire_all()
        existing = session.scalar(select(MeterReading).where(MeterReading.request_id == request_id))
        if existing is None:
            raise
        return _submitted(existing)
    return SubmittedReading(meter, _view(reading), verdict, already_applied=False)


def _submitted(reading: MeterReading) -> SubmittedReading:
    """A reading stored before (the same request again), as its first submission returned it."""
    contract = reading.contract
    earlier = [
        r
        for r in _readings_of_meter(contract, leaving_out=reading.id)
        if (r.read_on, r.id) < (reading.read_on, reading.id)
    ]
    meter = _meter(contract, leaving_out=reading.id)
    last = _view(earlier[-1]) if earlier else None
    consumption = reading.value - last.value if last is not None else None
    verdict = Plausibility(reading.plausibility or "first", last, consumption, None)
    return SubmittedReading(meter, _view(reading), verdict, already_applied=True)
