"""Tariffs: the price sheet, a yearly-cost estimate from the customer's own consumption,
and switch requests.

Prices are gross (what customers are quoted): a working price in euros per
kWh and a base price in euros per month. The yearly cost in a tariff is
consumption × working price + 12 × base price, in cents, rounded half up.

A contract's yearly consumption comes from its latest bill (scaled to 365
days), or from two meter readings at least `MIN_READING_DAYS` apart. Its
current cost is its own tariff's price when the tariff is on the sheet, or
else what the latest bill cost for a year. A switch request becomes a
service case of kind `tariff_switch` (reference `TW-…`); the back office
confirms the switch date in writing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import DomainError, InvalidRecord, NotFound
from bot.domain.models import Contract, Customer, Tariff
from bot.domain.records import section_records
from bot.domain.services.service_cases import Opened, open_once

KIND = "tariff_switch"
#: commodities billed per kWh, the only ones with tariffs to compare
ENERGY = ("electricity", "gas", "district_heating")
DAYS_PER_YEAR = Decimal(365)
#: two readings closer together than this say too little about a year
MIN_READING_DAYS = 90
#: a bill shorter than this says too little about a year
MIN_BILL_DAYS = 60
CENT = Decimal("0.01")
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_WORKING_PRICE = re.compile(r"\d{1,2}\.\d{1,4}|\d{1,2}")
_BASE_PRICE = re.compile(r"\d{1,4}(\.\d{1,2})?")


class SwitchRefused(DomainError):
    """A switch that cannot be requested (the message says why, for the log)."""


@dataclass(frozen=True)
class TariffView:
    code: str
    name: str
    commodity: str
    working_price: Decimal
    base_price: Decimal
    green: bool
    minimum_term_months: int

    def yearly_cost(self, kwh: Decimal) -> Decimal:
        """The gross cost of `kwh` a year in this tariff, in cents."""
        return (kwh * self.working_price + 12 * self.base_price).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Option:
    """One tariff for one contract: its yearly cost, and the saving against today
    (negative: it would cost more; None: today's cost is not known)."""

    tariff: TariffView
    cost: Decimal
    saving: Decimal | None


@dataclass(frozen=True)
class Comparison:
    """What a contract costs a year today and in every other tariff of its commodity."""

    contract_number: str
    commodity: str
    current_tariff: str | None
    #: kWh a year; None when neither bills nor readings say it
    consumption: Decimal | None
    current_cost: Decimal | None
    #: the other offered tariffs, cheapest first
    options: tuple[Option, ...]

    @property
    def cheapest_saving(self) -> Option | None:
        """The option that saves most, if any saves at all."""
        best = self.options[0] if self.options else None
        return best if best is not None and best.saving is not None and best.saving > 0 else None


def _view(tariff: Tariff) -> TariffView:
    return TariffView(
        tariff.code,
        tariff.name,
        tariff.commodity,
        tariff.working_price,
        tariff.base_price,
        bool(tariff.green),
        int(tariff.minimum_term_months or 0),
    )


def offered(session: Session, commodity: str | None = None) -> list[TariffView]:
    """The tariffs on offer (of one commodity, if given), by commodity, then working price."""
    query = select(Tariff).where(Tariff.offered.is_(True))
    if commodity is not None:
        query = query.where(Tariff.commodity == commodity)
    found = session.scalars(query).all()
    order = {name: index for index, name in enumerate(ENERGY)}
    return sorted(
        (_view(t) for t in found),
        key=lambda t: (order.get(t.commodity, len(order)), t.working_price, t.name),
    )


def by_code(session: Session, code: str) -> TariffView | None:
    found = session.scalar(select(Tariff).where(Tariff.code == code, Tariff.offered.is_(True)))
    return _view(found) if found is not None else None


def _folded(text: str) -> str:
    """Lower case without accents, umlauts written out: `Öko` and `oeko` meet as `oko`."""
    text = text.casefold().replace("ae", "a").replace("oe", "o").replace("ue", "u")
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", plain.replace("ı", "i")))


def named_in(text: str, names: dict[str, str]) -> str | None:
    """The code of the tariff the customer named (`zu strom oeko bitte`, `Ökostrom`) among
    `names` (code → name), if exactly one."""
    folded = _folded(text)
    whole = [code for code, name in names.items() if f" {_folded(name)} " in f" {folded} "]
    if len(whole) == 1:
        return whole[0]
    # a word only one tariff's name has (`Öko`, `Komfort`), also at a word's start (`Ökostrom`)
    said = folded.split()

    def distinctive(code: str) -> bool:
        others = {
            w for other, name in names.items() if other != code for w in _folded(name).split()
        }
        return any(
            len(word) >= 3 and word not in others and any(s.startswith(word) for s in said)
            for word in _folded(names[code]).split()
        )

    found = [code for code in names if distinctive(code)]
    return found[0] if len(found) == 1 else None


# --- consumption and cost ------------------------------------------------------------------


def _scaled_to_year(amount: Decimal, days: int) -> Decimal:
    return amount * DAYS_PER_YEAR / Decimal(days)


def yearly_consumption(contract: Contract) -> Decimal | None:
    """kWh a year: from the latest bill in kWh, else from the meter readings."""
    bills = [b for b in contract.bills if b.unit == "kWh"]
    if bills:
        bill = max(bills, key=lambda b: (b.period_end, b.issued_on))
        days = (bill.period_end - bill.period_start).days + 1
        if days >= MIN_BILL_DAYS:
            return _scaled_to_year(bill.consumption, days).quantize(Decimal(1), ROUND_HALF_UP)
    readings = sorted(
        (r for r in contract.meter_readings if r.unit == "kWh"), key=lambda r: r.read_on
    )
    if len(readings) >= 2:
        first, last = readings[0], readings[-1]
        days = (last.read_on - first.read_on).days
        used = last.value - first.value
        if days >= MIN_READING_DAYS and used > 0:
            return _scaled_to_year(used, days).quantize(Decimal(1), ROUND_HALF_UP)
    return None


def _billed_yearly_cost(contract: Contract) -> Decimal | None:
    """What the latest bill in kWh cost, for a year."""
    bills = [b for b in contract.bills if b.unit == "kWh"]
    if not bills:
        return None
    bill = max(bills, key=lambda b: (b.period_end, b.issued_on))
    days = (bill.period_end - bill.period_start).days + 1
    if days < MIN_BILL_DAYS:
        return None
    return _scaled_to_year(bill.total_amount, days).quantize(CENT, ROUND_HALF_UP)


def compare_contract(contract: Contract, tariffs: list[TariffView]) -> Comparison:
    """The contract's cost today against every other offered tariff of its commodity."""
    mine = [t for t in tariffs if t.commodity == contract.commodity]
    current = next(
        (t for t in mine if contract.tariff and _folded(t.name) == _folded(contract.tariff)), None
    )
    kwh = yearly_consumption(contract)
    current_cost: Decimal | None = None
    if kwh is not None:
        current_cost = current.yearly_cost(kwh) if current else _billed_yearly_cost(contract)
    options: list[Option] = []
    if kwh is not None:
        for tariff in mine:
            if tariff == current:
                continue
            cost = tariff.yearly_cost(kwh)
            saving = current_cost - cost if current_cost is not None else None
            options.append(Option(tariff, cost, saving))
        options.sort(key=lambda o: (o.cost, o.tariff.name))
    return Comparison(
        contract.contract_number,
        contract.commodity,
        contract.tariff,
        kwh,
        current_cost,
        tuple(options),
    )


def _customer(session: Session, customer_number: str) -> Customer:
    customer = session.scalar(
        select(Customer)
        .where(Customer.customer_number == customer_number)
        .options(
            selectinload(Customer.contracts).selectinload(Contract.bills),
            selectinload(Customer.contracts).selectinload(Contract.meter_readings),
        )
    )
    if customer is None:
        raise NotFound(f"customer {customer_number[:2]}…")
    return customer


def compare(
    session: Session, customer_number: str, commodity: str | None = None
) -> list[Comparison]:
    """One comparison per energy contract of the customer (of `commodity`, if given) that
    has tariffs on offer."""
    customer = _customer(session, customer_number)
    tariffs = offered(session)
    with_tariffs = {t.commodity for t in tariffs}
    return [
        compare_contract(contract, tariffs)
        for contract in customer.contracts
        if contract.commodity in with_tariffs
        and (commodity is None or contract.commodity == commodity)
    ]


def request_switch(
    session: Session,
    *,
    customer_number: str,
    contract_number: str,
    tariff_code: str,
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    switch_on: dt.date,
) -> Opened:
    """A `tariff_switch` case for the back office (once per request id), to take effect
    on `switch_on` (the back office confirms the date in writing)."""
    customer = _customer(session, customer_number)
    contract = next((c for c in customer.contracts if c.contract_number == contract_number), None)
    if contract is None:
        raise SwitchRefused("the contract is not the customer's")
    tariff = by_code(session, tariff_code)
    if tariff is None or tariff.commodity != contract.commodity:
        raise SwitchRefused("no such tariff on offer for this commodity")
    comparison = compare_contract(contract, offered(session))
    option = next((o for o in comparison.options if o.tariff.code == tariff_code), None)
    if option is None and comparison.consumption is not None:
        raise SwitchRefused("the contract is in this tariff already")
    return open_once(
        session,
        kind=KIND,
        request_id=request_id,
        data={
            "contract_number": contract.contract_number,
            "commodity": contract.commodity,
            "from_tariff": contract.tariff,
            "to_tariff": tariff.name,
            "to_tariff_code": tariff.code,
            "minimum_term_months": tariff.minimum_term_months,
            "switch_on": switch_on.isoformat(),
            "yearly_consumption_kwh": _text(comparison.consumption),
            "estimated_yearly_cost": _text(option.cost if option else None),
            "estimated_yearly_saving": _text(option.saving if option else None),
        },
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="tariff_switch_requested",
        customer_id=customer.id,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


# --- import (the utility's price sheet) ------------------------------------------------------

_FIELDS = {
    "code": True,
    "name": True,
    "commodity": True,
    "working_price": True,
    "base_price": True,
    "green": False,
    "minimum_term_months": False,
    "offered": False,
}


def parse_tariffs(raw: Any) -> list[dict[str, Any]]:
    """Validate the `tariffs` section (raise InvalidRecord on the first error)."""
    parsed: list[dict[str, Any]] = []
    seen: dict[str, set[str]] = {"code": set(), "name": set()}
    for record, item in section_records(raw, "tariffs", _FIELDS):
        code, name = item["code"], item["name"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidRecord(
                record, "code", "must be 1 to 40 lower-case letters, digits, - or _"
            )
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
            raise InvalidRecord(record, "name", "must be a string of 1 to 100 characters")
        name = " ".join(name.split())
        for field, value in (("code", code), ("name", _folded(name))):
            if value in seen[field]:
                raise InvalidRecord("file", field, f"{item[field]} appears more than once")
            seen[field].add(value)
        if item["commodity"] not in ENERGY:
            raise InvalidRecord(record, "commodity", f"must be one of {', '.join(ENERGY)}")
        working = _price(record, "working_price", item["working_price"], _WORKING_PRICE)
        base = _price(record, "base_price", item["base_price"], _BASE_PRICE)
        if working <= 0:
            raise InvalidRecord(record, "working_price", "must be more than 0")
        flags = {}
        for flag, default in (("green", False), ("offered", True)):
            value = item.get(flag, default)
            if not isinstance(value, bool):
                raise InvalidRecord(record, flag, "must be true or false")
            flags[flag] = value
        term = item.get("minimum_term_months", 0)
        if not isinstance(term, int) or isinstance(term, bool) or not 0 <= term <= 36:
            raise InvalidRecord(
                record, "minimum_term_months", "must be a whole number from 0 to 36"
            )
        parsed.append(
            {
                "code": code,
                "name": name,
                "commodity": item["commodity"],
                "working_price": working,
                "base_price": base,
                "minimum_term_months": term,
                **flags,
            }
        )
    return parsed


def _price(record: str, field: str, raw: Any, pattern: re.Pattern[str]) -> Decimal:
    try:
        if not isinstance(raw, str) or not pattern.fullmatch(raw):
            raise InvalidOperation
        return Decimal(raw)
    except InvalidOperation:
        places = 4 if field == "working_price" else 2
        raise InvalidRecord(
            record, field, f"must be a decimal string in euros with at most {places} decimals"
        ) from None


def import_tariffs(session: Session, tariffs: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert parsed tariffs by their code."""
    counts = {"tariffs": 0, "created": 0, "updated": 0}
    for values in tariffs:
        counts["tariffs"] += 1
        tariff = session.scalar(select(Tariff).where(Tariff.code == values["code"]))
        if tariff is None:
            session.add(Tariff(**values))
            counts["created"] += 1
            continue
        changed = False
        for key, value in values.items():
            if getattr(tariff, key) != value:
                setattr(tariff, key, value)
                changed = True
        counts["updated"] += int(changed)
    session.flush()
    return counts
