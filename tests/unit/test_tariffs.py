"""Tariffs in the database: the price sheet, the yearly-cost estimate from a contract's own
consumption, switch cases, and the `tariffs` import section.

Demo data (data/demo/customers.json, data/demo/tariffs.json): Thomas Müller
(10000002) used 3,286 kWh of electricity in 2025 in "Strom Basis" and
6,947 kWh of gas in "Gas Komfort"; customer 10000012's electricity contract
names no tariff; 10000006 has only a ten-month interim bill.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.domain.errors import InvalidRecord
from bot.domain.models import AuditEntry, Bill, Contract, MeterReading, ServiceCase, Tariff
from bot.domain.services import customer_data, data_import, tariffs
from bot.domain.services.tariffs import TariffView

SWITCH = {
    "language": "de",
    "channel": "web",
    "conversation_id": "web-" + "t" * 24,
    "switch_on": dt.date(2027, 1, 1),
}


def options_of(comparison: tariffs.Comparison) -> list[tuple[str, Decimal, Decimal | None]]:
    return [(o.tariff.name, o.cost, o.saving) for o in comparison.options]


def test_the_sheet_lists_what_is_offered_by_commodity_then_price(session):
    sheet = tariffs.offered(session)
    assert [t.name for t in sheet] == [
        "Strom Fix 24",
        "Strom Öko",
        "Strom Basis",
        "Gas Fix 24",
        "Gas Komfort",
        "Gas Klima",
    ]
    oeko = next(t for t in sheet if t.code == "strom-oeko")
    assert oeko.working_price == Decimal("0.3290") and oeko.base_price == Decimal("13.90")
    assert oeko.green and oeko.minimum_term_months == 12
    session.scalar(select(Tariff).where(Tariff.code == "gas-klima")).offered = False
    assert [t.name for t in tariffs.offered(session, "gas")] == ["Gas Fix 24", "Gas Komfort"]


def test_a_yearly_cost_is_consumption_times_working_price_plus_twelve_base_prices():
    tariff = TariffView("x", "X", "electricity", Decimal("0.3390"), Decimal("12.90"), False, 0)
    cost = tariff.yearly_cost(Decimal("3286"))
    assert cost == Decimal("1268.75")  # 1113.954 + 154.80, rounded half up to the cent
    assert isinstance(cost, Decimal)
    assert tariff.yearly_cost(Decimal("0")) == Decimal("154.80")


def test_a_customer_sees_each_energy_contract_against_every_other_tariff(session):
    electricity, gas = tariffs.compare(session, "10000002")
    assert (electricity.contract_number, electricity.current_tariff) == ("30000002", "Strom Basis")
    assert electricity.consumption == Decimal("3286")
    assert electricity.current_cost == Decimal("1268.75")
    assert options_of(electricity) == [
        ("Strom Fix 24", Decimal("1221.09"), Decimal("47.66")),
        ("Strom Öko", Decimal("1247.89"), Decimal("20.86")),
    ]
    assert electricity.cheapest_saving.tariff.code == "strom-fix-24"
    assert gas.current_cost == Decimal("1005.49")
    assert options_of(gas) == [
        ("Gas Fix 24", Decimal("980.86"), Decimal("24.63")),
        ("Gas Klima", Decimal("1040.23"), Decimal("-34.74")),  # would cost more
    ]
    assert [c.commodity for c in tariffs.compare(session, "10000002", "gas")] == ["gas"]


def test_water_and_contracts_without_tariffs_on_the_sheet_are_not_compared(session):
    # 10000003: electricity and water; only electricity has tariffs
    assert [c.commodity for c in tariffs.compare(session, "10000003")] == ["electricity"]
    # 10000005: district heating only, no tariff on the sheet
    assert tariffs.compare(session, "10000005") == []


def test_a_tariff_not_on_the_sheet_is_compared_with_what_the_last_bill_cost(session):
    (electricity,) = tariffs.compare(session, "10000012", "electricity")
    assert electricity.current_tariff is None
    assert electricity.current_cost == Decimal("1355.72")  # the 2025 bill, a whole year
    assert [o.tariff.name for o in electricity.options] == [
        "Strom Fix 24",
        "Strom Öko",
        "Strom Basis",
    ]
    assert all(o.saving == Decimal("1355.72") - o.cost for o in electricity.options)


def test_a_short_bill_is_scaled_to_a_year(session):
    (electricity,) = tariffs.compare(session, "10000006")
    # 1,454 kWh from 1 January to 31 October 2026 (304 days)
    assert electricity.consumption == Decimal("1746")
    assert electricity.current_tariff == "Strom Öko"
    assert "Strom Öko" not in [o.tariff.name for o in electricity.options]


def _contract(*readings: tuple[str, str]) -> Contract:
    contract = Contract(contract_number="39999999", commodity="electricity", tariff="Strom Basis")
    contract.bills = []
    contract.meter_readings = [
        MeterReading(read_on=dt.date.fromisoformat(day), value=Decimal(value), unit="kWh")
        for day, value in readings
    ]
    return contract


def test_without_a_bill_the_meter_readings_give_the_consumption():
    contract = _contract(("2026-01-10", "10000"), ("2026-07-10", "11500"))
    # 1,500 kWh in 181 days
    assert tariffs.yearly_consumption(contract) == Decimal("3025")
    assert tariffs.yearly_consumption(_contract(("2026-06-01", "1"), ("2026-07-01", "300"))) is None
    assert tariffs.yearly_consumption(_contract(("2026-01-10", "10000"))) is None


def test_a_bill_of_a_few_weeks_says_nothing_about_a_year():
    contract = _contract()
    contract.bills = [
        Bill(
            unit="kWh",
            consumption=Decimal("300"),
            total_amount=Decimal("120.00"),
            period_start=dt.date(2026, 10, 1),
            period_end=dt.date(2026, 10, 31),
            issued_on=dt.date(2026, 11, 5),
        )
    ]
    comparison = tariffs.compare_contract(contract, [])
    assert comparison.consumption is None and comparison.options == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zu Strom Öko bitte", "strom-oeko"),
        ("strom oeko", "strom-oeko"),
        ("Ökostrom", "strom-oeko"),
        ("ich nehme den fix 24", "strom-fix-24"),
        ("FİX 24 tarifesine geçmek istiyorum", "strom-fix-24"),
        ("Strom", None),  # every name has it
        ("weiß nicht", None),
    ],
)
def test_a_tariff_is_found_by_the_name_the_customer_writes(text, expected):
    names = {"strom-oeko": "Strom Öko", "strom-fix-24": "Strom Fix 24"}
    assert tariffs.named_in(text, names) == expected


def test_a_switch_becomes_one_case_with_its_facts_and_an_audit_entry(session):
    values = {"customer_number": "10000002", "contract_number": "30000002", **SWITCH}
    case = tariffs.request_switch(
        session, tariff_code="strom-oeko", request_id="tariff-m1-30000002", **values
    )
    assert case.created and case.reference.startswith("TW-")
    assert case.data == {
        "contract_number": "30000002",
        "commodity": "electricity",
        "from_tariff": "Strom Basis",
        "to_tariff": "Strom Öko",
        "to_tariff_code": "strom-oeko",
        "minimum_term_months": 12,
        "switch_on": "2027-01-01",
        "yearly_consumption_kwh": "3286",
        "estimated_yearly_cost": "1247.89",
        "estimated_yearly_saving": "20.86",
    }
    again = tariffs.request_switch(
        session, tariff_code="strom-oeko", request_id="tariff-m1-30000002", **values
    )
    assert (again.reference, again.created) == (case.reference, False)
    stored = session.scalars(select(ServiceCase).where(ServiceCase.kind == "tariff_switch")).all()
    assert [c.reference for c in stored] == [case.reference]
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "tariff_switch_requested")
    ).all()
    assert [a.detail["service_case"] for a in audit] == [case.id]
    exported = customer_data.export_customer(session, "10000002")
    cases = exported["service_cases"]
    assert [(c["reference"], c["kind"]) for c in cases] == [(case.reference, "tariff_switch")]


@pytest.mark.parametrize(
    ("contract_number", "code", "problem"),
    [
        ("30000001", "strom-oeko", "not the customer's"),  # Ayşe Yılmaz's contract
        ("30000002", "gas-klima", "no such tariff"),  # gas tariff for electricity
        ("30000002", "strom-basis", "already"),  # the tariff it is in
        ("30000002", "gibt-es-nicht", "no such tariff"),
    ],
)
def test_a_switch_that_makes_no_sense_is_refused_and_stores_nothing(
    session, contract_number, code, problem
):
    with pytest.raises(tariffs.SwitchRefused, match=problem):
        tariffs.request_switch(
            session,
            customer_number="10000002",
            contract_number=contract_number,
            tariff_code=code,
            request_id="tariff-x",
            **SWITCH,
        )
    assert (
        session.scalars(select(ServiceCase).where(ServiceCase.kind == "tariff_switch")).all() == []
    )


SHEET = {
    "code": "strom-regio",
    "name": "Strom Regio",
    "commodity": "electricity",
    "working_price": "0.3050",
    "base_price": "11.00",
    "green": True,
    "minimum_term_months": 12,
}


def test_the_tariffs_section_is_imported_and_a_second_import_changes_nothing(session):
    zone = dt.timezone.utc
    counts = data_import.import_document(session, {"tariffs": [SHEET]}, zone)
    assert counts == {"tariffs": {"tariffs": 1, "created": 1, "updated": 0}}
    assert data_import.import_document(session, {"tariffs": [SHEET]}, zone)["tariffs"] == {
        "tariffs": 1,
        "created": 0,
        "updated": 0,
    }
    cheaper = {**SHEET, "working_price": "0.2990"}
    assert (
        data_import.import_document(session, {"tariffs": [cheaper]}, zone)["tariffs"]["updated"]
        == 1
    )
    stored = session.scalar(select(Tariff).where(Tariff.code == "strom-regio"))
    assert stored.working_price == Decimal("0.2990") and stored.offered


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"working_price": 0.305}, "working_price"),  # a float, not a decimal string
        ({"working_price": "0.30501"}, "working_price"),  # five decimals
        ({"working_price": "0"}, "working_price"),
        ({"base_price": "11.005"}, "base_price"),
        ({"commodity": "water"}, "commodity"),
        ({"code": "Strom Regio"}, "code"),
        ({"name": ""}, "name"),
        ({"green": "yes"}, "green"),
        ({"minimum_term_months": 48}, "minimum_term_months"),
        ({"valid_from": "2027-01-01"}, "valid_from"),  # unknown fields are rejected
    ],
)
def test_a_bad_tariff_rejects_the_whole_file(session, change, field):
    document = {"tariffs": [{**SHEET, **change}], "customers": []}
    with pytest.raises(InvalidRecord) as error:
        data_import.import_document(session, document, dt.timezone.utc)
    assert error.value.field == field
    assert session.scalar(select(Tariff).where(Tariff.code == "strom-regio")) is None


def test_two_tariffs_may_not_share_a_code_or_a_name(session):
    twin = {**SHEET, "code": "strom-regio-2", "name": "STROM  regio"}
    with pytest.raises(InvalidRecord, match="more than once"):
        tariffs.parse_tariffs([SHEET, twin])
    with pytest.raises(InvalidRecord, match="more than once"):
        tariffs.parse_tariffs([SHEET, {**SHEET, "name": "Anders"}])
