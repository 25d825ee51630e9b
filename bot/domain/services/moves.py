"""Moving house (Umzug): a customer's move recorded as a case for the back office.

Three kinds of move:

- `out`: the customer leaves our supply area; every contract ends on the
  moving date with a final bill, sent to a forwarding address;
- `within`: the customer moves to another address in our supply area; every
  contract continues at the new address from the moving date;
- `in`: someone who is not yet a customer moves into an address in our
  supply area; a person sets up the contracts (no identity check, so the
  case carries the newcomer's name, birth date and a contact).

Rules (from the utility): the moving date lies at most `DAYS_BACK` days in
the past and at most `MONTHS_AHEAD` months ahead; a postcode has five
digits, and a move within or into the area needs one of the supply area
(`SUPPLY_AREA_PREFIXES`). Final meter readings (on the moving date, so only
when that day has come) are stored through the meter-reading service with
reason `move_out`; a reading not given yet is marked missing in the case.

A move is stored once per request id as a `ServiceCase` of kind `move` whose
`data` holds everything an agent needs, with an audit entry that names the
case, never the customer, and a reference the customer keeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.addresses import POSTCODE, Address
from bot.domain.errors import (
    ImplausibleReading,
    InvalidPostcode,
    MoveDateOutOfRange,
    NotFound,
    OutsideSupplyArea,
)
from bot.domain.models import Customer, MeterReading, ServiceCase
from bot.domain.services import meter_readings
from bot.domain.services.service_cases import open_once

KINDS = ("out", "within", "in")
#: The supply area: postcodes starting with these digits (Dortmund 44, Essen and
#: Gelsenkirchen 45, Oberhausen 46, Duisburg 47: the towns of the demo data).
#: A utility with another area changes this list.
SUPPLY_AREA_PREFIXES = ("44", "45", "46", "47")
#: A move is reported at most six weeks after the fact ...
DAYS_BACK = 42
#: ... and at most six months ahead.
MONTHS_AHEAD = 6
#: Why the readings of a move are taken (bot/domain/services/meter_readings.py).
READING_REASON = "move_out"


@dataclass(frozen=True)
class Newcomer:
    """Who moves in, when they are not a customer yet."""

    name: str
    birth_date: dt.date
    contact: str  # a phone number or an e-mail address


@dataclass(frozen=True)
class GivenReading:
    """A final reading the customer gave for a contract's meter (None: not yet)."""

    contract_number: str
    value: Decimal | None
    #: the customer confirmed a value that was read back as implausible
    confirmed: bool = False


@dataclass(frozen=True)
class MoveRequest:
    """What the customer told us about the move."""

    kind: str
    move_date: dt.date
    new_address: Address
    #: where the final bill goes when moving out (None: to the new address)
    forwarding_address: Address | None = None
    readings: tuple[GivenReading, ...] = ()
    newcomer: Newcomer | None = None


@dataclass(frozen=True)
class ContractOutcome:
    """What the move does to one contract, with its final reading if given."""

    contract_number: str
    commodity: str
    tariff: str | None
    meter_number: str | None
    unit: str
    #: `ends` (moving out: final bill) or `moves` (continues at the new address)
    outcome: str
    effective_on: dt.date
    reading: Decimal | None
    reading_confirmed: bool

    @property
    def final_bill(self) -> bool:
        return self.outcome == "ends"


@dataclass(frozen=True)
class MovePreview:
    """A checked move: the request and what happens to each contract."""

    request: MoveRequest
    contracts: tuple[ContractOutcome, ...]
    #: the postcode of the address the customer leaves (the file holds no street)
    old_postcode: str | None
    #: whether the moving day has come, so final readings can be taken
    readings_due: bool

    @property
    def missing_readings(self) -> tuple[ContractOutcome, ...]:
        if not self.readings_due:
            return self.contracts
        return tuple(c for c in self.contracts if c.reading is None)

    @property
    def final_bill_address(self) -> Address | None:
        if self.request.kind != "out":
            return None
        return self.request.forwarding_address or self.request.new_address


@dataclass(frozen=True)
class RecordedMove:
    reference: str
    case_id: int
    data: dict[str, Any]
    already_recorded: bool


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last_day in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last_day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The earliest and the latest moving date that can be reported today."""
    return today - dt.timedelta(days=DAYS_BACK), _add_months(today, MONTHS_AHEAD)


def check_move_date(move_date: dt.date, today: dt.date) -> dt.date:
    """The moving date if it lies in the window; raises MoveDateOutOfRange."""
    earliest, latest = date_window(today)
    if not earliest <= move_date <= latest:
        raise MoveDateOutOfRange(earliest, latest, too_early=move_date < earliest)
    return move_date


def in_supply_area(postcode: str) -> bool:
    return bool(POSTCODE.fullmatch(postcode)) and postcode.startswith(SUPPLY_AREA_PREFIXES)


def check_postcode(postcode: str, kind: str) -> str:
    """A new address's postcode: five digits, in our area for a move within or into it."""
    postcode = postcode.strip()
    if not POSTCODE.fullmatch(postcode):
        raise InvalidPostcode(postcode)
    if kind in ("within", "in") and not in_supply_area(postcode):
        raise OutsideSupplyArea(postcode)
    return postcode


def readings_due(move_date: dt.date, today: dt.date) -> bool:
    """Final readings are the meters' state on the moving day: asked once it has come."""
    return move_date <= today


def _customer(session: Session, customer_number: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number)
    return customer


def preview_move(
    session: Session, customer_number: str | None, request: MoveRequest, today: dt.date
) -> MovePreview:
    """Check a move without storing it; raises MoveRefused, NotFound or ImplausibleReading."""
    if request.kind not in KINDS:
        raise ValueError(f"unknown kind of move {request.kind!r}")
    check_move_date(request.move_date, today)
    check_postcode(request.new_address.postcode, request.kind)
    if request.forwarding_address is not None:
        check_postcode(request.forwarding_address.postcode, "out")
    if request.kind == "in":
        if request.newcomer is None and customer_number is None:
            raise ValueError("a move in of someone new needs the newcomer's details")
        old_postcode = _customer(session, customer_number).postcode if customer_number else None
        return MovePreview(request, (), old_postcode, readings_due=False)
    if customer_number is None:
        raise ValueError("only a customer moves out or within the area")
    customer = _customer(session, customer_number)
    due = readings_due(request.move_date, today)
    given = {r.contract_number: r for r in request.readings} if due else {}
    known = {m.contract_number for m in meter_readings.meters_of(session, customer_number)}
    if unknown := set(given) - known:
        raise NotFound(sorted(unknown)[0])
    outcomes = []
    for meter in meter_readings.meters_of(session, customer_number):
        reading = given.get(meter.contract_number)
        value: Decimal | None = None
        if reading is not None and reading.value is not None:
            _meter, value, verdict = meter_readings.preview_reading(
                session,
                customer_number,
                meter.contract_number,
                reading.value,
                request.move_date,
                today,
            )
            if verdict.needs_confirmation and not reading.confirmed:
                raise ImplausibleReading(
                    verdict=verdict.verdict,
                    last_value=verdict.last.value if verdict.last else None,
                    consumption=verdict.consumption,
                    expected=verdict.expected,
                )
        outcomes.append(
            ContractOutcome(
                contract_number=meter.contract_number,
                commodity=meter.commodity,
                tariff=meter.tariff,
                meter_number=meter.meter_number,
                unit=meter.unit,
                outcome="ends" if request.kind == "out" else "moves",
                effective_on=request.move_date,
                reading=value,
                reading_confirmed=bool(reading and reading.confirmed and value is not None),
            )
        )
    return MovePreview(request, tuple(outcomes), customer.postcode, readings_due=due)


def _reading_request_id(request_id: str, contract_number: str) -> str:
    return f"{request_id}-{contract_number}"


def case_data(preview: MovePreview, reading_ids: dict[str, int]) -> dict[str, Any]:
    """The case's details as an agent reads them (JSON: dates ISO, quantities as text)."""
    request = preview.request
    final_bill = preview.final_bill_address
    data: dict[str, Any] = {
        "kind": request.kind,
        "move_date": request.move_date.isoformat(),
        "old_address": {"postcode": preview.old_postcode} if preview.old_postcode else None,
        "new_address": request.new_address.as_dict(),
        "forwarding_address": final_bill.as_dict() if final_bill else None,
        "contracts": [
            {
                "contract_number": c.contract_number,
                "commodity": c.commodity,
                "tariff": c.tariff,
                "meter_number": c.meter_number,
                "outcome": c.outcome,
                "effective_on": c.effective_on.isoformat(),
                "final_bill": c.final_bill,
            }
            for c in preview.contracts
        ],
        "readings": [
            {
                "contract_number": c.contract_number,
                "meter_number": c.meter_number,
                "read_on": request.move_date.isoformat(),
                "status": "missing" if c.reading is None else "given",
                "value": None if c.reading is None else str(c.reading),
                "unit": c.unit,
                "confirmed": c.reading_confirmed,
                "meter_reading_id": reading_ids.get(c.contract_number),
            }
            for c in preview.contracts
        ],
        "readings_missing": bool(preview.missing_readings),
    }
    if request.newcomer is not None:
        data["newcomer"] = {
            "name": request.newcomer.name,
            "birth_date": request.newcomer.birth_date.isoformat(),
            "contact": request.newcomer.contact,
        }
    return data


def _recorded(case: ServiceCase) -> RecordedMove:
    return RecordedMove(case.reference, case.id, dict(case.data), already_recorded=True)


def record_move(
    session: Session,
    *,
    customer_number: str | None,
    request: MoveRequest,
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    today: dt.date,
) -> RecordedMove:
    """Store the move once per request id: its final readings, the case, an audit entry."""
    existing = session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))
    if existing is not None:
        return _recorded(existing)
    preview = preview_move(session, customer_number, request, today)
    reading_ids: dict[str, int] = {}
    for outcome in preview.contracts:
        if outcome.reading is None:
            continue
        meter_readings.submit_reading(
            session,
            customer_number=str(customer_number),  # a customer: the preview checked it
            contract_number=outcome.contract_number,
            value=outcome.reading,
            read_on=request.move_date,
            today=today,
            confirmed=outcome.reading_confirmed,
            channel=channel,
            conversation_id=conversation_id,
            request_id=_reading_request_id(request_id, outcome.contract_number),
            reason=READING_REASON,
        )
        reading_ids[outcome.contract_number] = session.scalar(
            select(MeterReading.id).where(
                MeterReading.request_id == _reading_request_id(request_id, outcome.contract_number)
            )
        )
    customer = _customer(session, customer_number) if customer_number else None
    data = case_data(preview, reading_ids)

    opened = open_once(
        session,
        kind="move",
        request_id=request_id,
        data=data,
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="move_reported",
        customer_id=customer.id if customer else None,
        audit_detail={
            "kind": request.kind,
            "readings_given": len(reading_ids),
            "readings_missing": data["readings_missing"],
        },
    )
    if not opened.created:  # the same confirmation delivered twice at once
        return RecordedMove(opened.reference, opened.id, opened.data, already_recorded=True)
    return RecordedMove(opened.reference, opened.id, data, already_recorded=False)
