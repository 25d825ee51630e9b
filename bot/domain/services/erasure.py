"""Erasure of one customer (Art. 17 GDPR): `python -m bot forget-customer NUMBER`.

Deleted: every conversation about them (those in which they proved who they
are, in which their number was typed, their calls from their registered
phone, their cases' conversations) in Rasa's tracker store, web chats and
phone calls; their handoff cases; the identity-check counters of their number
and phone (found by their keyed digests, `PSEUDONYM_KEY`); their bills (copies: the billing system keeps the originals).

Kept, pseudonymised: advance-payment changes and payment arrangements
(instalment plans, deferrals) made through the assistant are booking records the utility must keep (AO §147, HGB §257; `purge` deletes
them when the period ends). They stay with their contract (number and
commodity only) and a customer row that no longer names anyone: no name,
birth date, postcode, phone or e-mail, and a customer number nobody can type,
so no identity check can ever succeed against it. Without such records the
customer row and contracts are deleted.

The agents' audit log holds no customer data and stays; the erasure itself is
audited, with the counts and without the number.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.domain.errors import NotFound
from bot.domain.models import (
    AdvancePaymentChange,
    AuditEntry,
    Bill,
    Contract,
    Customer,
    HandoffCase,
    IdentityGuard,
    MeterReading,
    PaymentArrangement,
    PhoneCall,
    SepaMandate,
    ServiceCase,
    SupplyBlock,
)
from bot.domain.privacy import is_pseudonym, pseudonym
from bot.domain.services import identity, tracker_events
from bot.domain.services.customer_data import own_conversations
from bot.domain.services.retention import Report, delete_conversations, rows_affected

ERASED_NAME = "-"
ERASED_POSTCODE = "00000"
ERASED_BIRTH_DATE = dt.date(1900, 1, 1)


def erased_number() -> str:
    """A customer number for a kept record: eight characters, never eight digits."""
    return "X" + secrets.token_hex(4)[:7].upper()


def forget_customer(
    session: Session, tracker: Connection, customer_number: str, pseudonym_key: bytes
) -> Report:
    """Remove or pseudonymise everything about one customer; raises NotFound, changing nothing.

    `pseudonym_key` finds their identity-check counters (`identity.guard_key`)
    and makes the pseudonyms in the booking records that stay.
    """
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number)
    report = Report()
    conversations = own_conversations(session, tracker, customer)
    conversations |= tracker_events.with_slot_value(tracker, ("customer_number",), customer_number)
    if customer.phone:
        conversations |= set(
            session.scalars(select(PhoneCall.call_sid).where(PhoneCall.caller == customer.phone))
        )
    report.add("conversations", "deleted", len(conversations))
    delete_conversations(session, tracker, conversations, report)
    cases = delete(HandoffCase).where(
        or_(
            HandoffCase.customer_number == customer_number,
            HandoffCase.conversation_id.in_(sorted(conversations)),
        )
    )
    report.add("handoff_cases", "deleted", rows_affected(session, cases))
    keys = [identity.guard_key("customer", customer_number, pseudonym_key)]
    if customer.phone:
        keys.append(identity.guard_key("source", f"voice:{customer.phone}", pseudonym_key))
    guards = delete(IdentityGuard).where(IdentityGuard.key.in_(keys))
    report.add("identity_guards", "deleted", rows_affected(session, guards))
    _self_service(session, customer, conversations, report)
    _account(session, customer, pseudonym_key, report)
    session.add(
        AuditEntry(
            agent_id=None,
            action="customer_erased",
            case_id=None,
            detail={f"{table} {what}": count for table, what, count in report.rows},
        )
    )
    session.flush()
    return report


def _self_service(
    session: Session, customer: Customer, conversations: set[str], report: Report
) -> None:
    """Service cases (with their files), mandates, readings and blocks are deleted.

    Cases opened in the customer's own conversations go too, also those opened
    before they proved who they are (a complaint, a fault ticket, a newcomer's move).
    """
    cases = session.scalars(
        select(ServiceCase).where(
            or_(
                ServiceCase.customer_id == customer.id,
                ServiceCase.conversation_id.in_(sorted(conversations)),
            )
        )
    ).all()
    for case in cases:
        session.delete(case)  # its attachments go with it
    report.add("service_cases", "deleted (with the files sent with them)", len(cases))
    mandates = delete(SepaMandate).where(SepaMandate.customer_id == customer.id)
    report.add(
        "sepa_mandates",
        "deleted (the billing system keeps the originals)",
        rows_affected(session, mandates),
    )
    contracts = select(Contract.id).where(Contract.customer_id == customer.id)
    readings = delete(MeterReading).where(MeterReading.contract_id.in_(contracts))
    report.add("meter_readings", "deleted", rows_affected(session, readings))
    blocks = delete(SupplyBlock).where(SupplyBlock.contract_id.in_(contracts))
    report.add("supply_blocks", "deleted", rows_affected(session, blocks))
    session.flush()


def _account(session: Session, customer: Customer, pseudonym_key: bytes, report: Report) -> None:
    """Bills deleted; contracts and the customer kept, pseudonymised, only for booking records."""
    contracts = list(
        session.scalars(select(Contract.id).where(Contract.customer_id == customer.id))
    )
    bills = delete(Bill).where(Bill.contract_id.in_(contracts))
    report.add(
        "bills", "deleted (the billing system keeps the originals)", rows_affected(session, bills)
    )
    booked = set(
        session.scalars(
            select(AdvancePaymentChange.contract_id).where(
                AdvancePaymentChange.contract_id.in_(contracts)
            )
        )
    )
    changes = session.scalars(
        select(AdvancePaymentChange).where(AdvancePaymentChange.contract_id.in_(contracts))
    ).all()
    for change in changes:
        if not is_pseudonym(change.conversation_id):
            change.conversation_id = pseudonym(change.conversation_id, pseudonym_key)
    report.add(
        "advance_payment_changes",
        "kept as booking records (AO §147, HGB §257), pseudonymised",
        len(changes),
    )
    arrangements = session.scalars(
        select(PaymentArrangement).where(PaymentArrangement.customer_id == customer.id)
    ).all()
    for arrangement in arrangements:
        if not is_pseudonym(arrangement.conversation_id):
            arrangement.conversation_id = pseudonym(arrangement.conversation_id, pseudonym_key)
    report.add(
        "payment_arrangements",
        "kept as booking records (AO §147, HGB §257), pseudonymised",
        len(arrangements),
    )
    unbooked = delete(Contract).where(Contract.id.in_(sorted(set(contracts) - booked)))
    report.add("contracts", "deleted", rows_affected(session, unbooked))
    for contract in session.scalars(select(Contract).where(Contract.id.in_(sorted(booked)))):
        contract.meter_number = None
    report.add("contracts", "kept for their booking records, pseudonymised", len(booked))
    if booked or arrangements:
        customer.customer_number = erased_number()
        customer.first_name = customer.last_name = ERASED_NAME
        customer.postcode = ERASED_POSTCODE
        customer.birth_date = ERASED_BIRTH_DATE
        customer.phone = customer.email = None
        report.add("customers", "kept for booking records, pseudonymised", 1)
        report.notes.append(
            "Kept: advance-payment changes and payment arrangements are booking records "
            "(AO §147, HGB §257); "
            "they stay with their contract under a customer that names no one, "
            "until `purge` deletes them when their legal period ends."
        )
    else:
        session.expunge(customer)
        report.add(
            "customers",
            "deleted",
            rows_affected(session, delete(Customer).where(Customer.id == customer.id)),
        )
