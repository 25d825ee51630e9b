"""The import format's optional self-service parts: payment (SEPA mandate), meter
readings and supply blocks; refused when wrong, idempotent, and exported back."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.errors import InvalidRecord
from bot.domain.models import Customer, MeterReading, SepaMandate, SupplyBlock
from bot.domain.services import billing, customer_data
from tests.conftest import demo_document

IMPORT_FIELDS = {
    "customer_number",
    "first_name",
    "last_name",
    "postcode",
    "birth_date",
    "preferred_language",
    "phone",
    "email",
    "payment",
    "contracts",
}


def record(document: dict[str, Any], number: str) -> dict[str, Any]:
    return next(c for c in document["customers"] if c["customer_number"] == number)


def refused(document: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as error:
        customer_data.parse_file(document)
    assert f"'{field}'" in str(error.value)


def test_demo_mandates_readings_and_blocks_are_imported(session) -> None:
    claudia = session.scalar(select(Customer).where(Customer.customer_number == "10000025"))
    assert claudia.payment_method == "direct_debit"
    mandate = session.scalars(
        select(SepaMandate).where(SepaMandate.customer_id == claudia.id)
    ).one()
    assert (mandate.mandate_reference, mandate.status, mandate.source) == (
        "STW-DEMO-0000025",
        "active",
        "billing",
    )
    assert mandate.bank_name == "Commerzbank" and mandate.bic == "COBADEFFXXX"
    gas = claudia.contracts[1]
    assert [(r.read_on.isoformat(), r.value, r.unit) for r in gas.meter_readings] == [
        ("2024-12-31", Decimal("8120.500"), "m3"),
        ("2025-12-31", Decimal("9095.200"), "m3"),
    ]
    kemal = billing.account_standing(session, "10000026")
    assert kemal.total == Decimal("340.40") and kemal.overdue == Decimal("340.40")
    assert [(b.status, b.announced_on.isoformat()) for b in kemal.blocks] == [
        ("announced", "2026-11-20")
    ]
    assert billing.account_standing(session, "10000027").blocks[0].status == "blocked"
    ayse = session.scalar(select(Customer).where(Customer.customer_number == "10000001"))
    assert ayse.payment_method == "transfer"


def test_export_imports_back_unchanged(session) -> None:
    numbers = ["10000025", "10000026", "10000027", "10000028", "10000001"]
    exported = [customer_data.export_customer(session, n) for n in numbers]
    document = {"customers": [{k: v for k, v in e.items() if k in IMPORT_FIELDS} for e in exported]}
    counts = customer_data.import_customers(session, document)
    assert counts["created"] == 0 and counts["updated"] == 0
    assert exported[0]["payment"]["iban"] == "DE89370400440532013000"
    # the activity part shows mandates masked
    assert exported[0]["sepa_mandates"][0]["iban"] == "DE89 **** **** **** **30 00"


def test_a_new_account_revokes_the_old_mandate_and_transfer_revokes_all(session) -> None:
    document = copy.deepcopy(demo_document())
    record(document, "10000025")["payment"] = {
        "method": "direct_debit",
        "iban": "DE02 1203 0000 0000 2020 51",
        "account_holder": "Claudia Neumann",
        "mandate_reference": "STW-DEMO-0000025-2",
        "signed_on": "2026-11-01",
    }
    customer_data.import_customers(session, document)
    mandates = session.scalars(select(SepaMandate).order_by(SepaMandate.id)).all()
    claudia = [m for m in mandates if m.mandate_reference.startswith("STW-DEMO-0000025")]
    assert [(m.status, m.iban) for m in claudia] == [
        ("revoked", "DE89370400440532013000"),
        ("active", "DE02120300000000202051"),
    ]
    record(document, "10000025")["payment"] = {"method": "transfer"}
    customer_data.import_customers(session, document)
    session.expire_all()
    statuses = session.scalars(
        select(SepaMandate.status).where(SepaMandate.mandate_reference.like("STW-DEMO-0000025%"))
    ).all()
    assert statuses == ["revoked", "revoked"]
    assert customer_data.export_customer(session, "10000025")["payment"] == {"method": "transfer"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["payment"].update(iban="DE88370400440532013000"), "iban"),  # check digits
        (lambda c: c["payment"].update(method="cash"), "method"),
        (lambda c: c["payment"].pop("signed_on"), "signed_on"),
        (lambda c: c["payment"].update(mandate_reference="STW_ÄÖÜ"), "mandate_reference"),
        (lambda c: c["payment"].update(bank="x"), "bank"),
        (
            lambda c: c.update(payment={"method": "transfer", "iban": "DE89370400440532013000"}),
            "iban",
        ),
        (
            lambda c: c["contracts"][0]["meter_readings"].append(
                {"read_on": "2024-12-31", "value": "1"}
            ),
            "meter_readings",
        ),
        (lambda c: c["contracts"][0]["meter_readings"][0].update(value="-5"), "value"),
        (lambda c: c["contracts"][0]["meter_readings"][0].update(value=41870), "value"),
        (lambda c: c["contracts"][0]["meter_readings"][0].update(unit="kWh"), "unit"),
        (lambda c: c["contracts"][0].update(supply_block={"status": "blocked"}), "blocked_on"),
        (
            lambda c: c["contracts"][0].update(
                supply_block={"status": "gone", "blocked_on": "2026-01-01"}
            ),
            "status",
        ),
    ],
)
def test_wrong_self_service_fields_are_refused(change: Any, field: str) -> None:
    document = copy.deepcopy(demo_document())
    change(record(document, "10000025"))
    refused(document, field)


def test_a_refused_file_changes_nothing(session) -> None:
    document = copy.deepcopy(demo_document())
    record(document, "10000027")["contracts"][0]["supply_block"] = {
        "status": "lifted",
        "blocked_on": "2026-11-25",
        "lifted_on": "2026-12-01",
    }
    record(document, "10000025")["payment"]["iban"] = "DE00 0000 0000 0000 0000 00"
    with pytest.raises(InvalidRecord):
        customer_data.import_customers(session, document)
    session.rollback()
    assert session.scalars(select(SupplyBlock.status)).all().count("blocked") == 1
    assert session.scalars(select(MeterReading)).all()


def test_a_lifted_block_is_kept_and_a_new_one_added(session) -> None:
    document = copy.deepcopy(demo_document())
    contract = record(document, "10000027")["contracts"][0]
    contract["supply_block"] = {
        "status": "lifted",
        "blocked_on": "2026-11-25",
        "lifted_on": "2026-12-01",
    }
    customer_data.import_customers(session, document)
    assert billing.account_standing(session, "10000027").blocks == []
    contract["supply_block"] = {"status": "announced", "announced_on": "2027-03-01"}
    customer_data.import_customers(session, document)
    assert session.scalars(select(SupplyBlock.status).order_by(SupplyBlock.id)).all()[-2:] == [
        "lifted",
        "announced",
    ]
