"""The tariff actions with real trackers, the real domain and the demo database.

Thomas Müller (10000002, German) has electricity in "Strom Basis" (3,286 kWh
in 2025) and gas in "Gas Komfort" (6,947 kWh); Ayşe Yılmaz (10000001,
Turkish) has electricity in "Strom Basis" (3,120 kWh in leap year 2024, 3,111 for 365 days). The sheet is
data/demo/tariffs.json. The clock stands on Monday 23.11.2026: a switch
takes effect on 01.12.2026.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select

from actions.tariffs import (
    ActionOfferTariffEstimate,
    ActionOfferTariffSwitch,
    ActionRequestTariffSwitch,
    ActionTariffEstimate,
    ActionTariffOverview,
    switch_date,
)
from bot.domain.models import Bill, Contract, ServiceCase
from bot.infra.db import session_scope
from tests.actions.conftest import MONDAY_MORNING, entity, eur, make_tracker, run
from tests.e2e.conftest import row_counts

pytestmark = pytest.mark.asyncio

MUELLER, AYSE = "10000002", "10000001"


def switch_cases(url: str) -> list[ServiceCase]:
    with session_scope(url) as session:
        rows = list(
            session.scalars(select(ServiceCase).where(ServiceCase.kind == "tariff_switch")).all()
        )
        session.expunge_all()
        return rows


async def test_anyone_gets_the_price_sheet_and_the_offer_of_an_estimate(database_url, domain):
    before = row_counts(database_url)
    outcome = await run(
        ActionTariffOverview(),
        make_tracker(
            "Was kostet Ökostrom?", "ask_tariff", entities=[entity("commodity", "electricity")]
        ),
        domain,
    )
    assert outcome.responses == ["utter_tariff_sheet"]
    assert outcome.text.splitlines() == [
        "Unsere Tarife (Bruttopreise):",
        "• Strom Fix 24: 31,50 Cent je kWh, Grundpreis 15,50\xa0€ im Monat, "
        "24 Monate Mindestlaufzeit",
        "• Strom Öko (Ökostrom): 32,90 Cent je kWh, Grundpreis 13,90\xa0€ im Monat, "
        "12 Monate Mindestlaufzeit",
        "• Strom Basis: 33,90 Cent je kWh, Grundpreis 12,90\xa0€ im Monat, monatlich kündbar",
    ]
    assert outcome.slots == {"tariff_commodity": "electricity", "tariff_offer": None}
    assert outcome.followup == "action_offer_tariff_estimate"
    assert row_counts(database_url) == before


async def test_a_turkish_customer_gets_every_commodity_in_turkish(database_url, domain):
    outcome = await run(
        ActionTariffOverview(),
        make_tracker("tarifeleriniz neler", "ask_tariff", language="tr"),
        domain,
    )
    lines = outcome.text.splitlines()
    assert lines[0] == "Tarifelerimiz (KDV dahil fiyatlar):"
    assert lines[1] == "Elektrik:"
    assert (
        "• Gas Klima (iklim dostu): kWh başına 12,40 sent, aylık sabit ücret €14,90, 12 ay asgari süre"
        in lines
    )
    assert "Doğalgaz:" in lines or "Gaz:" in lines


async def test_on_the_phone_the_sheet_is_sentences(database_url, domain):
    outcome = await run(
        ActionTariffOverview(),
        make_tracker(
            "Gastarife", "ask_tariff", entities=[entity("commodity", "gas")], channel="voice"
        ),
        domain,
    )
    heading, sheet = outcome.text.split("\n", 1)
    assert heading == "Unsere Tarife (Bruttopreise):" and "\n" not in sheet
    assert "Gas Fix 24: 11,20 Cent je kWh" in outcome.text and "•" not in outcome.text


async def test_water_has_no_tariff_choice_and_the_whole_sheet_follows(database_url, domain):
    outcome = await run(
        ActionTariffOverview(),
        make_tracker("Wassertarif", "ask_tariff", entities=[entity("commodity", "water")]),
        domain,
    )
    assert outcome.responses == ["utter_tariff_none_for_commodity", "utter_tariff_sheet"]
    assert outcome.slots["tariff_commodity"] is None


async def test_the_estimate_offer_is_yes_or_no(domain):
    outcome = await run(ActionOfferTariffEstimate(), make_tracker("", language="tr"), domain)
    [message] = outcome.messages
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert "kimliğinizi" in outcome.text


async def test_the_estimate_needs_the_identity_check(database_url, domain):
    outcome = await run(ActionTariffEstimate(), make_tracker("ja", "affirm"), domain)
    assert outcome.messages == []
    assert outcome.slots == {"pending_request": "ask_tariff"}
    assert outcome.followup == "identity_form"


async def test_a_verified_customer_goes_straight_to_the_estimate(domain):
    outcome = await run(
        ActionTariffOverview(),
        make_tracker("Tarife", "ask_tariff", slots={"verified_customer": MUELLER}),
        domain,
    )
    assert outcome.messages == [] and outcome.followup == "action_tariff_estimate"


async def test_the_estimate_compares_each_contract_with_the_saving(database_url, domain):
    before = row_counts(database_url)
    outcome = await run(
        ActionTariffEstimate(),
        make_tracker("ja", "affirm", slots={"verified_customer": MUELLER}),
        domain,
    )
    assert outcome.responses == [
        "utter_tariff_estimate",
        "utter_tariff_estimate",
        "utter_tariff_estimate_note",
    ]
    text = outcome.text
    assert (
        "Strom, Vertrag 30000002, heute „Strom Basis“: Bei Ihrem Verbrauch von 3.286 kWh im Jahr "
        f"zahlen Sie etwa {eur('1268.75', 'de')} im Jahr." in text
    )
    assert (
        f"• Strom Fix 24: etwa {eur('1221.09', 'de')} im Jahr, {eur('47.66', 'de')} weniger" in text
    )
    assert (
        f"• Gas Klima (klimaneutral): etwa {eur('1040.23', 'de')} im Jahr, {eur('34.74', 'de')} mehr"
        in text
    )
    # the choices, biggest saving first, at most three
    assert [(c["tariff"], c["contract_number"]) for c in outcome.slots["tariff_offer"]] == [
        ("strom-fix-24", "30000002"),
        ("gas-fix-24", "30000003"),
        ("strom-oeko", "30000002"),
    ]
    assert outcome.followup == "action_offer_tariff_switch"
    assert row_counts(database_url) == before


async def test_a_turkish_estimate_for_the_commodity_asked(database_url, domain):
    outcome = await run(
        ActionTariffEstimate(),
        make_tracker(
            "evet",
            "affirm",
            language="tr",
            slots={"verified_customer": AYSE, "tariff_commodity": "electricity"},
        ),
        domain,
    )
    assert "Elektrik, sözleşme 30000001, şu anki tarife „Strom Basis“" in outcome.text
    assert "Yıllık 3.111 kWh tüketiminizle" in outcome.text  # 3,120 kWh in leap year 2024
    assert "daha az" in outcome.text


async def test_the_switch_buttons_name_the_tariff_and_the_contract_when_there_are_several(domain):
    offer = [
        {"tariff": "strom-fix-24", "name": "Strom Fix 24", "contract_number": "30000002"},
        {"tariff": "gas-fix-24", "name": "Gas Fix 24", "contract_number": "30000003"},
    ]
    outcome = await run(
        ActionOfferTariffSwitch(), make_tracker("", slots={"tariff_offer": offer}), domain
    )
    [message] = outcome.messages
    assert [b["title"] for b in message["buttons"]] == [
        "Zu Strom Fix 24 wechseln (30000002)",
        "Zu Gas Fix 24 wechseln (30000003)",
        "Tarif behalten",
    ]
    first = message["buttons"][0]["payload"]
    assert first.startswith("/inform") and json.loads(first[len("/inform") :]) == {
        "tariff": "strom-fix-24",
        "contract_number": "30000002",
    }


OFFER = [
    {"tariff": "strom-fix-24", "name": "Strom Fix 24", "contract_number": "30000002"},
    {"tariff": "strom-oeko", "name": "Strom Öko", "contract_number": "30000002"},
]


def choosing(text: str, intent: str, entities=(), language: str = "de", customer: str = MUELLER):
    return make_tracker(
        text,
        intent,
        entities=entities,
        language=language,
        slots={"verified_customer": customer, "tariff_offer": OFFER},
    )


async def test_a_chosen_tariff_becomes_a_switch_case(database_url, domain, clock):
    clock(MONDAY_MORNING)
    chosen = choosing(
        "/inform", "inform", [entity("tariff", "strom-oeko"), entity("contract_number", "30000002")]
    )
    outcome = await run(ActionRequestTariffSwitch(), chosen, domain)
    [case] = switch_cases(database_url)
    assert outcome.responses == ["utter_tariff_switch_requested", "utter_tariff_switch_term"]
    assert (
        f"Ihr Wechsel von „Strom Basis“ zu „Strom Öko“ für Vertrag 30000002 ist beauftragt. "
        f"Ihre Vorgangsnummer: {case.reference}. Der neue Tarif gilt voraussichtlich ab 01.12.2026"
    ) in outcome.text
    assert "Mindestlaufzeit von 12 Monaten" in outcome.text
    assert case.data["to_tariff_code"] == "strom-oeko" and case.data["switch_on"] == "2026-12-01"
    assert case.customer_id is not None and case.language == "de"
    assert outcome.slots == {"tariff_offer": None, "tariff_commodity": None}
    # the same message delivered again opens no second case
    await run(ActionRequestTariffSwitch(), chosen, domain)
    assert len(switch_cases(database_url)) == 1


async def test_the_tariff_can_be_named_in_turkish(database_url, domain, clock):
    clock(MONDAY_MORNING)
    outcome = await run(
        ActionRequestTariffSwitch(),
        choosing("fix 24 tarifesine geçmek istiyorum", "ask_tariff", language="tr"),
        domain,
    )
    [case] = switch_cases(database_url)
    assert case.data["to_tariff"] == "Strom Fix 24"
    assert (
        "„Strom Basis“ tarifesinden „Strom Fix 24“ tarifesine geçiş talebiniz alındı"
        in outcome.text
    )
    assert "1 Aralık 2026" in outcome.text or "01.12.2026" in outcome.text


async def test_an_unclear_choice_is_asked_again_and_stores_nothing(database_url, domain):
    before = row_counts(database_url)
    outcome = await run(ActionRequestTariffSwitch(), choosing("den Strom", "ask_tariff"), domain)
    assert outcome.responses == ["utter_tariff_which"]
    assert outcome.followup == "action_offer_tariff_switch"
    assert row_counts(database_url) == before


async def test_a_forged_button_for_someone_elses_contract_changes_nothing(database_url, domain):
    before = row_counts(database_url)
    forged = choosing(
        "/inform", "inform", [entity("tariff", "strom-oeko"), entity("contract_number", "30000001")]
    )
    outcome = await run(ActionRequestTariffSwitch(), forged, domain)
    assert outcome.responses == ["utter_tariff_which"]
    assert row_counts(database_url) == before


async def test_a_switch_needs_the_identity_check(database_url, domain):
    outcome = await run(
        ActionRequestTariffSwitch(), choosing("Strom Öko", "ask_tariff", customer=None), domain
    )
    assert outcome.followup == "identity_form" and switch_cases(database_url) == []


async def test_a_switch_takes_effect_on_the_next_first_of_a_month():
    assert switch_date(dt.date(2026, 11, 23)) == dt.date(2026, 12, 1)
    assert switch_date(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    assert switch_date(dt.date(2027, 1, 1)) == dt.date(2027, 2, 1)


async def test_without_a_years_consumption_nothing_is_worked_out_or_offered(database_url, domain):
    with session_scope(database_url) as session:
        contract = session.scalar(select(Contract).where(Contract.contract_number == "30000001"))
        session.execute(delete(Bill).where(Bill.contract_id == contract.id))
    outcome = await run(
        ActionTariffEstimate(),
        make_tracker("evet", "affirm", language="tr", slots={"verified_customer": AYSE}),
        domain,
    )
    assert outcome.responses == ["utter_tariff_estimate_no_consumption"]
    assert "henüz yıllık tüketim bilgisi yok" in outcome.text
    assert outcome.followup is None and outcome.slots["tariff_commodity"] is None
