"""Import and export of customer data in the data-contract JSON format.

`import_customers` validates the whole file before writing anything, so a file
with one bad record changes nothing; importing the same file twice is a no-op
(records are matched by their numbers and updated in place).

`export_customer` is also the customer's copy of their data (Art. 15 GDPR):
the record as imported, what the assistant changed, and their conversations,
cases and calls.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, selectinload

from bot.domain.errors import InvalidIban, InvalidRecord, NotFound
from bot.domain.iban import mask_iban, read_iban
from bot.domain.languages import LANGUAGES
from bot.domain.models import (
    AdvancePaymentChange,
    Bill,
    ChatMessage,
    ChatSession,
    Contract,
    Customer,
    HandoffCase,
    MeterReading,
    PaymentArrangement,
    PhoneCall,
    SepaMandate,
    ServiceCase,
    SupplyBlock,
)
from bot.domain.privacy import is_pseudonym
from bot.domain.services import tracker_events
from bot.domain.services.meter_readings import METER_UNITS
from bot.domain.transcript import transcript

COMMODITIES = ("electricity", "gas", "water", "district_heating")
BILL_KINDS = ("annual", "interim", "final")
BILL_STATUSES = ("open", "paid", "overdue")

_CUSTOMER_FIELDS = {
    "customer_number": True,
    "first_name": True,
    "last_name": True,
    "postcode": True,
    "birth_date": True,
    "preferred_language": True,
    "phone": False,
    "email": False,
    "payment": False,
    "contracts": True,
}
_CONTRACT_FIELDS = {
    "contract_number": True,
    "commodity": True,
    "tariff": False,
    "meter_number": False,
    "advance_payment": True,
    "recommended_advance_payment": True,
    "bills": True,
    "meter_readings": False,
    "supply_block": False,
}
_PAYMENT_FIELDS = {
    "method": True,
    "iban": False,
    "account_holder": False,
    "mandate_reference": False,
    "signed_on": False,
    "creditor_id": False,
}
_READING_FIELDS = {"read_on": True, "value": True}
_BLOCK_FIELDS = {"status": True, "announced_on": False, "blocked_on": False, "lifted_on": False}
PAYMENT_METHODS = ("direct_debit", "transfer")
BLOCK_STATUSES = ("announced", "blocked", "lifted")
_MANDATE_REFERENCE = re.compile(r"[A-Za-z0-9+?/:().,' -]{1,35}")
_BILL_FIELDS = {
    name: True
    for name in [
        "bill_number",
        "kind",
        "issued_on",
        "period_start",
        "period_end",
        "consumption",
        "unit",
        "total_amount",
        "advance_payments_made",
        "balance",
        "due_on",
        "status",
    ]
}
_MONEY = re.compile(r"-?\d+(\.\d{1,2})?")


class _Checker:
    """Field checks that name the record and field on failure."""

    def __init__(self, record: str, data: Any, fields: dict[str, bool]) -> None:
        self.record = record
        if not isinstance(data, dict):
            raise InvalidRecord(record, "*", "must be an object")
        self.data = data
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InvalidRecord(record, unknown[0], "is not part of the format")
        for name, required in fields.items():
            if required and data.get(name) is None:
                raise InvalidRecord(record, name, "is missing")

    def fail(self, field: str, problem: str) -> InvalidRecord:
        return InvalidRecord(self.record, field, problem)

    def text(self, field: str, max_length: int = 100, optional: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        if len(value) > max_length:
            raise self.fail(field, f"is longer than {max_length} characters")
        return value.strip()

    def digits(self, field: str, length: int) -> str:
        value = self.data.get(field)
        if not isinstance(value, str) or not re.fullmatch(rf"\d{{{length}}}", value):
            raise self.fail(field, f"must be exactly {length} digits as a string")
        return value

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.data.get(field)
        if value not in allowed:
            raise self.fail(field, f"must be one of {', '.join(allowed)}")
        return value  # type: ignore[return-value]

    def date(self, field: str, optional: bool = False) -> dt.date | None:
        value = self.data.get(field)
        if value is None and optional:
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.fail(field, "must be an ISO date (YYYY-MM-DD)") from None

    def money(self, field: str, data: dict | None = None) -> Decimal:
        value = (data if data is not None else self.data).get(field)
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise self.fail(field, "must be a decimal string in euros with at most two decimals")
        return Decimal(value)

    def quantity(self, field: str) -> Decimal:
        value = self.data.get(field)
        try:
            if not isinstance(value, str):
                raise InvalidOperation
            number = Decimal(value)
            if not number.is_finite() or number < 0:
                raise InvalidOperation
            return number
        except InvalidOperation:
            raise self.fail(field, "must be a non-negative decimal string") from None


def _parse_bill(record: str, raw: Any) -> dict[str, Any]:
    check = _Checker(record, raw, _BILL_FIELDS)
    bill = {
        "bill_number": check.text("bill_number", 40),
        "kind": check.choice("kind", BILL_KINDS),
        "issued_on": check.date("issued_on"),
        "period_start": check.date("period_start"),
        "period_end": check.date("period_end"),
        "consumption": check.quantity("consumption"),
        "unit": check.text("unit", 10),
        "total_amount": check.money("total_amount"),
        "advance_payments_made": check.money("advance_payments_made"),
        "balance": check.money("balance"),
        "due_on": check.date("due_on"),
        "status": check.choice("status", BILL_STATUSES),
    }
    if bill["period_end"] < bill["period_start"]:
        raise check.fail("period_end", "is before period_start")
    return bill


def _parse_contract(record: str, raw: Any) -> dict[str, Any]:
    check = _Checker(record, raw, _CONTRACT_FIELDS)
    number = check.digits("contract_number", 8)
    advance = raw["advance_payment"]
    if not isinstance(advance, dict) or set(advance) != {"amount", "due_day"}:
        raise check.fail("advance_payment", "must have exactly amount and due_day")
    due_day = advance["due_day"]
    if not isinstance(due_day, int) or isinstance(due_day, bool) or not 1 <= due_day <= 28:
        raise check.fail("advance_payment.due_day", "must be a whole number 1-28")
    bills = raw["bills"]
    if not isinstance(bills, list):
        raise check.fail("bills", "must be a list")
    amount = check.money("amount", advance)
    recommended = check.money("recommended_advance_payment")
    if amount < 0 or recommended <= 0:
        raise check.fail("advance_payment", "amounts must be positive")
    return {
        "contract_number": number,
        "commodity": check.choice("commodity", COMMODITIES),
        "tariff": check.text("tariff", optional=True),
        "meter_number": check.text("meter_number", 40, optional=True),
        "advance_amount": amount,
        "advance_due_day": due_day,
        "recommended_advance": recommended,
        "bills": [_parse_bill(f"{record}, bill {i + 1}", bill) for i, bill in enumerate(bills)],
        "meter_readings": _parse_readings(check, raw.get("meter_readings")),
        "supply_block": _parse_block(f"{record}, supply_block", raw.get("supply_block")),
    }


def _parse_readings(check: _Checker, raw: Any) -> list[dict[str, Any]]:
    """Readings from the billing system, oldest first; each date once."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise check.fail("meter_readings", "must be a list")
    readings = []
    for i, item in enumerate(raw):
        reading = _Checker(f"{check.record}, meter reading {i + 1}", item, _READING_FIELDS)
        readings.append({"read_on": reading.date("read_on"), "value": reading.quantity("value")})
    dates = [r["read_on"] for r in readings]
    if len(set(dates)) != len(dates):
        raise check.fail("meter_readings", "has two readings on one date")
    return sorted(readings, key=lambda r: r["read_on"])


def _parse_block(record: str, raw: Any) -> dict[str, Any] | None:
    """The contract's current supply block, if any."""
    if raw is None:
        return None
    check = _Checker(record, raw, _BLOCK_FIELDS)
    block = {
        "status": check.choice("status", BLOCK_STATUSES),
        "announced_on": check.date("announced_on", optional=True),
        "blocked_on": check.date("blocked_on", optional=True),
        "lifted_on": check.date("lifted_on", optional=True),
    }
    if block["status"] in ("blocked", "lifted") and block["blocked_on"] is None:
        raise check.fail("blocked_on", f"is required when the status is {block['status']}")
    if block["status"] == "announced" and block["announced_on"] is None:
        raise check.fail("announced_on", "is required when the status is announced")
    if block["status"] == "lifted" and block["lifted_on"] is None:
        raise check.fail("lifted_on", "is required when the status is lifted")
    return block


def _parse_payment(record: str, raw: Any) -> dict[str, Any] | None:
    """How the customer pays: by transfer, or by direct debit with its SEPA mandate."""
    if raw is None:
        return None
    check = _Checker(record, raw, _PAYMENT_FIELDS)
    method = check.choice("method", PAYMENT_METHODS)
    if method == "transfer":
        extra = sorted(k for k in raw if k != "method")
        if extra:
            raise check.fail(extra[0], "belongs to a direct debit, not a transfer")
        return {"method": method}
    for name in ("iban", "account_holder", "mandate_reference", "signed_on"):
        if raw.get(name) is None:
            raise check.fail(name, "is missing (required for a direct debit)")
    try:
        account = read_iban(check.text("iban", 42) or "")
    except InvalidIban as refusal:
        raise check.fail("iban", f"is not a usable IBAN ({refusal.problem.value})") from None
    reference = check.text("mandate_reference", 35) or ""
    if not _MANDATE_REFERENCE.fullmatch(reference):
        raise check.fail("mandate_reference", "has characters a SEPA mandate reference cannot have")
    return {
        "method": method,
        "account": account,
        "account_holder": check.text("account_holder", 70),
        "mandate_reference": reference,
        "signed_on": check.date("signed_on"),
        "creditor_id": check.text("creditor_id", 35, optional=True) or "",
    }


def _parse_customer(index: int, raw: Any) -> dict[str, Any]:
    label = f"customer {index + 1}"
    if isinstance(raw, dict) and isinstance(raw.get("customer_number"), str):
        label += f" ({raw['customer_number'][:8]})"
    check = _Checker(label, raw, _CUSTOMER_FIELDS)
    contracts = raw["contracts"]
    if not isinstance(contracts, list) or not contracts:
        raise check.fail("contracts", "must be a non-empty list")
    email = check.text("email", 254, optional=True)
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise check.fail("email", "is not an e-mail address")
    phone = check.text("phone", 32, optional=True)
    if phone and not re.fullmatch(r"\+\d{6,15}", phone):
        raise check.fail("phone", "must be in E.164 form (+49...)")
    return {
        "customer_number": check.digits("customer_number", 8),
        "first_name": check.text("first_name"),
        "last_name": check.text("last_name"),
        "postcode": check.digits("postcode", 5),
        "birth_date": check.date("birth_date"),
        "preferred_language": check.choice("preferred_language", LANGUAGES),
        "phone": phone,
        "email": email,
        "payment": _parse_payment(f"{label}, payment", raw.get("payment")),
        "contracts": [
            _parse_contract(f"{label}, contract {i + 1}", c) for i, c in enumerate(contracts)
        ],
    }


def parse_file(document: Any) -> list[dict[str, Any]]:
    """Validate a document of customers only; raise `InvalidRecord` on the first error.

    A document with other sections too (known outages, ...) is read by
    bot/domain/services/data_import.py.
    """
    if not isinstance(document, dict) or set(document) != {"customers"}:
        raise InvalidRecord("file", "customers", "must be the only top-level field")
    return parse_customers(document["customers"])


def parse_customers(raw: Any) -> list[dict[str, Any]]:
    """Validate the `customers` section; raise `InvalidRecord` on the first error."""
    if not isinstance(raw, list):
        raise InvalidRecord("file", "customers", "must be a list")
    customers = [_parse_customer(i, c) for i, c in enumerate(raw)]
    _check_unique(customers)
    return customers


def _check_unique(customers: list[dict[str, Any]]) -> None:
    seen: dict[str, set[str]] = {
        "customer_number": set(),
        "contract_number": set(),
        "bill_number": set(),
        "mandate_reference": set(),
    }

    def claim(kind: str, value: str, record: str) -> None:
        if value in seen[kind]:
            raise InvalidRecord(record, kind, f"{value} appears more than once")
        seen[kind].add(value)

    for customer in customers:
        claim("customer_number", customer["customer_number"], "file")
        if customer["payment"] and customer["payment"]["method"] == "direct_debit":
            claim("mandate_reference", customer["payment"]["mandate_reference"], "file")
        for contract in customer["contracts"]:
            claim("contract_number", contract["contract_number"], "file")
            for bill in contract["bills"]:
                claim("bill_number", bill["bill_number"], "file")


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def import_customers(session: Session, document: Any) -> dict[str, int]:
    """Validate and upsert a whole document. Returns counts of what changed."""
    return write_customers(session, parse_file(document))


def write_customers(session: Session, customers: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert customers validated by `parse_customers`. Returns counts of what changed."""
    counts = {"customers": 0, "contracts": 0, "bills": 0, "created": 0, "updated": 0}
    for data in customers:
        contracts = data.pop("contracts")
        payment = data.pop("payment")
        customer = session.scalar(
            select(Customer).where(Customer.customer_number == data["customer_number"])
        )
        if customer is None:
            customer = Customer(**data)
            session.add(customer)
            counts["created"] += 1
        elif _assign(customer, data):
            counts["updated"] += 1
        counts["customers"] += 1
        if payment is not None:
            _import_payment(session, customer, payment, counts)
        for contract_data in contracts:
            bills = contract_data.pop("bills")
            readings = contract_data.pop("meter_readings")
            block = contract_data.pop("supply_block")
            contract = session.scalar(
                select(Contract).where(Contract.contract_number == contract_data["contract_number"])
            )
            if contract is None:
                contract = Contract(customer=customer, **contract_data)
                session.add(contract)
                counts["created"] += 1
            else:
                contract.customer = customer
                if _assign(contract, contract_data):
                    counts["updated"] += 1
            counts["contracts"] += 1
            for bill_data in bills:
                bill = session.scalar(
                    select(Bill).where(Bill.bill_number == bill_data["bill_number"])
                )
                if bill is None:
                    session.add(Bill(contract=contract, **bill_data))
                    counts["created"] += 1
                else:
                    bill.contract = contract
                    if _assign(bill, bill_data):
                        counts["updated"] += 1
                counts["bills"] += 1
            session.flush()
            _import_readings(session, contract, readings, counts)
            if block is not None:
                _import_block(session, contract, block, counts)
    session.flush()
    return counts


def _import_readings(
    session: Session, contract: Contract, readings: list[dict[str, Any]], counts: dict[str, int]
) -> None:
    """Billing-system readings are matched by date; customers' own readings stay."""
    known = {
        r.read_on: r
        for r in session.scalars(
            select(MeterReading).where(
                MeterReading.contract_id == contract.id, MeterReading.source == "billing"
            )
        )
    }
    for item in readings:
        reading = known.get(item["read_on"])
        if reading is None:
            session.add(
                MeterReading(
                    contract_id=contract.id,
                    meter_number=contract.meter_number,
                    read_on=item["read_on"],
                    value=item["value"],
                    unit=METER_UNITS[contract.commodity],
                    source="billing",
                    reason="regular",
                    confirmed=False,
                )
            )
            counts["created"] += 1
        elif reading.value != item["value"]:
            reading.value = item["value"]
            counts["updated"] += 1


def _import_block(
    session: Session, contract: Contract, block: dict[str, Any], counts: dict[str, int]
) -> None:
    """The contract's current block: its latest block row is updated, or one is added."""
    current = session.scalar(
        select(SupplyBlock)
        .where(SupplyBlock.contract_id == contract.id)
        .order_by(SupplyBlock.id.desc())
        .limit(1)
    )
    if current is None or current.status == "lifted" and block["status"] != "lifted":
        session.add(SupplyBlock(contract_id=contract.id, **block))
        counts["created"] += 1
    elif _assign(current, block):
        counts["updated"] += 1


def _import_payment(
    session: Session, customer: Customer, payment: dict[str, Any], counts: dict[str, int]
) -> None:
    """The payment method; a direct debit's mandate is matched by its reference."""
    session.flush()
    active = session.scalars(
        select(SepaMandate).where(
            SepaMandate.customer_id == customer.id, SepaMandate.status == "active"
        )
    ).all()
    changed = customer.payment_method != payment["method"]
    customer.payment_method = payment["method"]
    if payment["method"] == "transfer":
        for mandate in active:
            mandate.status, mandate.revoked_on = "revoked", dt.date.today()
            changed = True
        counts["updated"] += int(changed)
        return
    account = payment["account"]
    values = {
        "iban": account.iban,
        "bic": account.bic,
        "bank_name": account.bank_name,
        "account_holder": payment["account_holder"],
        "signed_on": payment["signed_on"],
        "creditor_id": payment["creditor_id"],
        "status": "active",
        "revoked_on": None,
    }
    mandate = session.scalar(
        select(SepaMandate).where(SepaMandate.mandate_reference == payment["mandate_reference"])
    )
    if mandate is not None and mandate.customer_id != customer.id:
        raise InvalidRecord(
            f"customer {customer.customer_number[:8]}, payment",
            "mandate_reference",
            "belongs to another customer",
        )
    for other in active:
        if mandate is None or other.id != mandate.id:
            other.status, other.revoked_on = "revoked", payment["signed_on"]
            changed = True
    if mandate is None:
        session.add(
            SepaMandate(
                customer_id=customer.id,
                mandate_reference=payment["mandate_reference"],
                source="billing",
                **values,
            )
        )
        counts["created"] += 1
    elif _assign(mandate, values) or changed:
        counts["updated"] += 1


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _time(moment: dt.datetime | str | None) -> str | None:
    """A naive UTC time (or a transcript's ISO time) as the export writes times: `...Z`."""
    if isinstance(moment, str):
        return moment.replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _payment(customer: Customer, mandates: list[SepaMandate]) -> dict[str, Any]:
    """The payment method in the import format (the active mandate's account in full)."""
    active = next((m for m in reversed(mandates) if m.status == "active"), None)
    if customer.payment_method != "direct_debit" or active is None:
        return {"method": "transfer"}
    payment = {
        "method": "direct_debit",
        "iban": active.iban,
        "account_holder": active.account_holder,
        "mandate_reference": active.mandate_reference,
        "signed_on": active.signed_on.isoformat(),
    }
    if active.creditor_id:
        payment["creditor_id"] = active.creditor_id
    return payment


def _self_service(
    session: Session, customer: Customer, mandates: list[SepaMandate]
) -> dict[str, Any]:
    """What the customer did themselves: readings, mandates, arrangements, cases."""
    readings = [
        (contract, r)
        for contract in customer.contracts
        for r in contract.meter_readings
        if r.source == "customer"
    ]
    readings.sort(key=lambda pair: (pair[1].created_at, pair[1].id))
    arrangements = session.scalars(
        select(PaymentArrangement)
        .where(PaymentArrangement.customer_id == customer.id)
        .order_by(PaymentArrangement.created_at, PaymentArrangement.id)
    ).all()
    cases = session.scalars(
        select(ServiceCase)
        .where(ServiceCase.customer_id == customer.id)
        .order_by(ServiceCase.created_at, ServiceCase.id)
    ).all()
    return {
        "meter_readings_submitted": [
            {
                "contract_number": contract.contract_number,
                "meter_number": r.meter_number,
                "read_on": r.read_on.isoformat(),
                "value": _quantity(r.value),
                "unit": r.unit,
                "reason": r.reason,
                "plausibility": r.plausibility,
                "confirmed": r.confirmed,
                "channel": r.channel,
                "conversation_id": r.conversation_id,
                "created_at": _time(r.created_at),
            }
            for contract, r in readings
        ],
        "sepa_mandates": [
            {
                "mandate_reference": m.mandate_reference,
                "iban": mask_iban(m.iban),
                "bank_name": m.bank_name,
                "bic": m.bic,
                "account_holder": m.account_holder,
                "creditor_id": m.creditor_id or None,
                "signed_on": m.signed_on.isoformat(),
                "status": m.status,
                "revoked_on": _day(m.revoked_on),
                "source": m.source,
                "channel": m.channel,
                "conversation_id": m.conversation_id,
                "created_at": _time(m.created_at),
            }
            for m in mandates
        ],
        "payment_arrangements": [
            {
                "reference": a.reference,
                "kind": a.kind,
                "total": _money(a.total),
                "deferred_until": _day(a.deferred_until),
                "status": a.status,
                "instalments": [
                    {"number": i.number, "due_on": i.due_on.isoformat(), "amount": _money(i.amount)}
                    for i in a.instalments
                ],
                "channel": a.channel,
                "conversation_id": a.conversation_id,
                "created_at": _time(a.created_at),
            }
            for a in arrangements
        ],
        "service_cases": [
            {
                "reference": c.reference,
                "kind": c.kind,
                "status": c.status,
                "priority": c.priority,
                "data": c.data,
                "language": c.language,
                "channel": c.channel,
                "conversation_id": c.conversation_id,
                "handoff_case_id": c.handoff_case_id,
                "attachments": [
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        "sha256": a.sha256,
                        "created_at": _time(a.created_at),
                    }
                    for a in c.attachments
                ],
                "created_at": _time(c.created_at),
            }
            for c in cases
        ],
    }


def _lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transcript lines as exported: who, what, when."""
    return [
        {"from": line.get("from"), "text": line.get("text"), "time": _time(line.get("time"))}
        for line in lines
    ]


def own_conversations(session: Session, tracker: Connection | None, customer: Customer) -> set[str]:
    """The conversations in which this customer proved who they are.

    Found in the tracker store (the verified customer slot) and in what the
    assistant recorded for them (cases, advance-payment changes).
    """
    found = set(
        session.scalars(
            select(HandoffCase.conversation_id).where(
                HandoffCase.customer_number == customer.customer_number
            )
        )
    )
    found |= set(
        session.scalars(
            select(AdvancePaymentChange.conversation_id)
            .join(Contract, Contract.id == AdvancePaymentChange.contract_id)
            .where(Contract.customer_id == customer.id)
        )
    )
    if tracker is not None:
        found |= tracker_events.with_slot_value(
            tracker, ("verified_customer",), customer.customer_number
        )
    return {conversation for conversation in found if not is_pseudonym(conversation)}


def _conversation(
    session: Session, conversation_id: str, events: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """One conversation as the customer had it: the web chat as stored, else Rasa's events."""
    chat = session.scalar(select(ChatSession).where(ChatSession.conversation_id == conversation_id))
    if chat is not None:
        rows = session.scalars(
            select(ChatMessage)
            .where(ChatMessage.chat_session_id == chat.id)
            .order_by(ChatMessage.id)
        )
        messages = [
            {"from": row.sender, "text": row.text, "time": _time(row.created_at)} for row in rows
        ]
        channel = "web"
    else:
        messages = _lines(transcript(events, masked=False))
        call = session.scalar(select(PhoneCall.id).where(PhoneCall.call_sid == conversation_id))
        channel = "voice" if call is not None else "rest"
    if not messages:
        return None
    return {
        "conversation_id": conversation_id,
        "channel": channel,
        "started_at": messages[0]["time"],
        "last_message_at": messages[-1]["time"],
        "messages": messages,
    }


def export_customer(
    session: Session, customer_number: str, tracker: Connection | None = None
) -> dict[str, Any]:
    """One customer in the import format, plus what the assistant did and said with them.

    `tracker`: a connection to Rasa's tracker store, for the conversations
    held only there (REST and phone); without it, web chats and cases only.
    """
    customer = session.scalar(
        select(Customer)
        .where(Customer.customer_number == customer_number)
        .options(
            selectinload(Customer.contracts).selectinload(Contract.bills),
            selectinload(Customer.contracts).selectinload(Contract.meter_readings),
            selectinload(Customer.contracts).selectinload(Contract.supply_blocks),
        )
    )
    if customer is None:
        raise NotFound(customer_number)
    mandates = session.scalars(
        select(SepaMandate)
        .where(SepaMandate.customer_id == customer.id)
        .order_by(SepaMandate.created_at, SepaMandate.id)
    ).all()
    record: dict[str, Any] = {
        "customer_number": customer.customer_number,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "postcode": customer.postcode,
        "birth_date": customer.birth_date.isoformat(),
        "preferred_language": customer.preferred_language,
    }
    if customer.phone:
        record["phone"] = customer.phone
    if customer.email:
        record["email"] = customer.email
    record["payment"] = _payment(customer, mandates)
    record["contracts"] = []
    for contract in customer.contracts:
        item: dict[str, Any] = {
            "contract_number": contract.contract_number,
            "commodity": contract.commodity,
        }
        if contract.tariff:
            item["tariff"] = contract.tariff
        if contract.meter_number:
            item["meter_number"] = contract.meter_number
        item["advance_payment"] = {
            "amount": _money(contract.advance_amount),
            "due_day": contract.advance_due_day,
        }
        item["recommended_advance_payment"] = _money(contract.recommended_advance)
        item["bills"] = [
            {
                "bill_number": bill.bill_number,
                "kind": bill.kind,
                "issued_on": bill.issued_on.isoformat(),
                "period_start": bill.period_start.isoformat(),
                "period_end": bill.period_end.isoformat(),
                "consumption": _quantity(bill.consumption),
                "unit": bill.unit,
                "total_amount": _money(bill.total_amount),
                "advance_payments_made": _money(bill.advance_payments_made),
                "balance": _money(bill.balance),
                "due_on": bill.due_on.isoformat(),
                "status": bill.status,
            }
            for bill in contract.bills
        ]
        imported = [r for r in contract.meter_readings if r.source == "billing"]
        if imported:
            item["meter_readings"] = [
                {"read_on": r.read_on.isoformat(), "value": _quantity(r.value)} for r in imported
            ]
        if contract.supply_blocks:
            block = contract.supply_blocks[-1]
            item["supply_block"] = {
                key: value
                for key, value in {
                    "status": block.status,
                    "announced_on": _day(block.announced_on),
                    "blocked_on": _day(block.blocked_on),
                    "lifted_on": _day(block.lifted_on),
                }.items()
                if value is not None
            }
        record["contracts"].append(item)
    contract_ids = [c.id for c in customer.contracts]
    changes = session.scalars(
        select(AdvancePaymentChange)
        .where(AdvancePaymentChange.contract_id.in_(contract_ids))
        .order_by(AdvancePaymentChange.created_at, AdvancePaymentChange.id)
    ).all()
    record["advance_payment_changes"] = [
        {
            "contract_number": change.contract.contract_number,
            "old_amount": _money(change.old_amount),
            "new_amount": _money(change.new_amount),
            "effective_on": change.effective_on.isoformat(),
            "channel": change.channel,
            "conversation_id": change.conversation_id,
            "created_at": change.created_at.isoformat(timespec="seconds") + "Z",
        }
        for change in changes
    ]
    record.update(_self_service(session, customer, mandates))
    cases = session.scalars(
        select(HandoffCase)
        .where(HandoffCase.customer_number == customer.customer_number)
        .order_by(HandoffCase.created_at, HandoffCase.id)
    ).all()
    record["handoffs"] = [
        {
            "case_id": case.case_id,
            "reason": case.reason,
            "language": case.language,
            "channel": case.channel,
            "status": case.status,
            "conversation_id": case.conversation_id,
            "created_at": case.created_at.isoformat(timespec="seconds") + "Z",
            "messages": len(case.transcript or []),
            "closed_at": _time(case.closed_at),
            "disposition": case.disposition,
            "note": case.note,
            "transcript": _lines(case.transcript or []),
        }
        for case in cases
    ]
    conversations = own_conversations(session, tracker, customer)
    events = tracker_events.events_of(tracker, conversations) if tracker is not None else {}
    found = [_conversation(session, c, events.get(c, [])) for c in sorted(conversations)]
    record["conversations"] = sorted(
        (c for c in found if c is not None), key=lambda c: c["started_at"] or ""
    )
    # calls in which they proved who they are, and calls from their number
    linked = [PhoneCall.call_sid.in_(sorted(conversations))]
    if customer.phone:
        linked.append(PhoneCall.caller == customer.phone)
    calls = session.scalars(
        select(PhoneCall).where(or_(*linked)).order_by(PhoneCall.started_at, PhoneCall.id)
    )
    record["phone_calls"] = [
        {
            "call_sid": call.call_sid,
            "caller": call.caller,
            "language": call.language,
            "status": call.status,
            "started_at": _time(call.started_at),
            "ended_at": _time(call.ended_at),
            "duration_seconds": call.duration_seconds,
        }
        for call in calls
    ]
    return record
