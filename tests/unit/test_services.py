import copy
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain.errors import (
    AmountOutOfRange,
    InvalidRecord,
    ReductionTooLarge,
    VerificationFailed,
)
from bot.domain.models import AdvancePaymentChange, Contract, Customer
from bot.domain.services import advance_payments as ap
from bot.domain.services import customer_data, identity
from tests.conftest import demo_document

TODAY = dt.date(2026, 11, 23)


def test_identity_needs_all_three_values(session):
    ok = identity.verify(session, "10000001", "47051", dt.date(1980, 4, 12))
    assert ok.first_name == "Ayşe"
    for number, postcode, born in [
        ("10000001", "47053", dt.date(1980, 4, 12)),
        ("10000001", "47051", dt.date(1980, 4, 13)),
        ("99999999", "47051", dt.date(1980, 4, 12)),
    ]:
        with pytest.raises(VerificationFailed):
            identity.verify(session, number, postcode, born)


def test_import_twice_changes_nothing(session):
    counts = customer_data.import_customers(session, demo_document())
    assert counts["created"] == 0 and counts["updated"] == 0


def test_invalid_record_rejects_whole_file(session):
    document = copy.deepcopy(demo_document())
    document["customers"][0]["first_name"] = "Changed"
    document["customers"][5]["contracts"][0]["bills"][0]["total_amount"] = 12.5
    with pytest.raises(InvalidRecord) as error:
        customer_data.import_customers(session, document)
    assert "customer 6" in str(error.value) and "total_amount" in str(error.value)
    session.rollback()
    first = session.scalar(select(Customer).where(Customer.customer_number == "10000001"))
    assert first.first_name == "Ayşe"


def test_unknown_field_is_rejected():
    document = copy.deepcopy(demo_document())
    document["customers"][0]["nickname"] = "x"
    with pytest.raises(InvalidRecord, match="nickname"):
        customer_data.parse_file(document)


def test_money_round_trips_exactly(session):
    contract = session.scalar(select(Contract).where(Contract.contract_number == "30000001"))
    assert contract.advance_amount == Decimal("85.00")
    assert isinstance(contract.recommended_advance, Decimal)


@pytest.mark.parametrize(
    ("due_day", "today", "expected"),
    [
        (1, dt.date(2026, 11, 23), dt.date(2026, 12, 1)),
        (15, dt.date(2026, 11, 23), dt.date(2026, 12, 15)),
        (28, dt.date(2026, 11, 23), dt.date(2026, 11, 28)),
        (27, dt.date(2026, 11, 23), dt.date(2026, 12, 27)),
        (3, dt.date(2026, 12, 30), dt.date(2027, 2, 3)),
    ],
)
def test_effective_date_is_next_due_date_five_days_ahead(due_day, today, expected):
    assert ap.effective_date(due_day, today) == expected


def test_amount_rules(session):
    # 30000001: current 85.00, recommended 92.00 -> range 5..276, lowest 73.60
    with pytest.raises(AmountOutOfRange):
        ap.preview_change(session, "10000001", "30000001", Decimal("4.99"), TODAY)
    with pytest.raises(AmountOutOfRange):
        ap.preview_change(session, "10000001", "30000001", Decimal("276.01"), TODAY)
    with pytest.raises(ReductionTooLarge):
        ap.preview_change(session, "10000001", "30000001", Decimal("73.59"), TODAY)
    assert ap.preview_change(
        session, "10000001", "30000001", Decimal("73.60"), TODAY
    ).new_amount == Decimal("73.60")


def test_change_is_applied_once_per_request(session):
    args = dict(
        customer_number="10000001",
        contract_number="30000001",
        new_amount=Decimal("95"),
        request_id="req-1",
        channel="rest",
        conversation_id="c1",
        today=TODAY,
    )
    first = ap.apply_change(session, **args)
    second = ap.apply_change(session, **args)
    assert not first.already_applied and second.already_applied
    assert session.scalar(select(func.count()).select_from(AdvancePaymentChange)) == 1
    change = session.scalar(select(AdvancePaymentChange))
    assert (change.old_amount, change.new_amount, change.effective_on) == (
        Decimal("85.00"),
        Decimal("95.00"),
        dt.date(2026, 12, 1),
    )
    exported = customer_data.export_customer(session, "10000001")
    assert exported["contracts"][0]["advance_payment"]["amount"] == "95.00"
    assert exported["advance_payment_changes"][0]["new_amount"] == "95.00"


def test_contract_of_another_customer_is_not_found(session):
    from bot.domain.errors import NotFound

    with pytest.raises(NotFound):
        ap.preview_change(session, "10000001", "30000002", Decimal("90"), TODAY)


def test_hotline_hours_as_operators_write_them():
    import datetime as dt

    from bot.domain.services.handoff import HotlineHours

    hours = HotlineHours.parse("Mo-Fr 07:30-18:00")
    monday_morning = dt.datetime(2026, 11, 23, 7, 45)
    assert hours.is_open(monday_morning)
    assert not hours.is_open(dt.datetime(2026, 11, 28, 10, 0))  # Saturday
    assert HotlineHours.parse("Mo-So 00:00-24:00").is_open(dt.datetime(2026, 11, 29, 23, 59))
    with pytest.raises(ValueError):
        HotlineHours.parse("weekdays 8 to 8")
