"""Bill questions (action_show_bill): the latest bill per contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from actions.billing import ActionShowBill
from bot.domain.models import Contract, Customer
from bot.infra.db import session_scope
from tests.actions.conftest import (
    SUNDAY,
    assert_handed_off,
    bot_event,
    entity,
    eur,
    handoff_slots,
    make_tracker,
    run,
    user_event,
)

pytestmark = pytest.mark.asyncio


def bill_question(
    customer,
    text="Ich habe eine Frage zu meiner Rechnung",
    language="de",
    intent="ask_bill",
    entities=(),
):
    return make_tracker(
        text, intent, language=language, entities=entities, slots={"verified_customer": customer}
    )


async def test_one_commodity_shows_the_details_and_what_is_left(database_url, domain):
    outcome = await run(
        ActionShowBill(), bill_question("10000002", "Was ist mit meiner Gasrechnung?"), domain
    )
    assert outcome.responses == ["utter_bill_details", "utter_bill_balance_paid"]
    assert outcome.texts == [
        "Ihre letzte Rechnung für Gas (Nr. R-2026-000002, Vertrag 30000003) für den Zeitraum "
        f"01.01.2025 bis 31.12.2025: Verbrauch 6.947 kWh, Rechnungsbetrag {eur('978.91', 'de')}, "
        f"davon durch Ihre Abschläge bereits bezahlt {eur('876', 'de')}.",
        f"Die Nachzahlung von {eur('102.91', 'de')} haben Sie bereits bezahlt, vielen Dank.",
    ]
    assert outcome.slots == {} and outcome.followup is None


async def test_single_contract_in_turkish(database_url, domain):
    outcome = await run(
        ActionShowBill(), bill_question("10000001", "Faturam ne kadar?", "tr"), domain
    )
    assert outcome.responses == ["utter_bill_details", "utter_bill_balance_due"]
    assert outcome.texts == [
        "Son elektrik faturanız (No. R-2025-000001, sözleşme 30000001), 01.01.2024 - 31.12.2024 "
        f"dönemi: tüketim 3.120 kWh, fatura tutarı {eur('1043.27', 'tr')}; bunun "
        f"{eur('960', 'tr')} tutarını aylık ödemelerinizle (Abschlag) zaten ödediniz.",
        f"Kalan ek ödeme (Nachzahlung) {eur('83.27', 'tr')}. Son ödeme tarihi 05.02.2025.",
    ]


@pytest.mark.parametrize(
    ("customer", "text", "language", "response", "fragment"),
    [
        ("10000004", "Faturam", "tr", "utter_bill_balance_overdue", eur("312.87", "tr")),
        (
            "10000005",
            "Rechnung",
            "de",
            "utter_bill_balance_credit",
            f"Sie haben ein Guthaben von {eur('232.68', 'de')}.",
        ),  # never a negative amount
        ("10000021", "Stromrechnung", "de", "utter_bill_balance_settled", "nichts mehr offen"),
    ],
)
async def test_balance_is_explained_by_its_state(
    database_url, domain, customer, text, language, response, fragment
):
    outcome = await run(ActionShowBill(), bill_question(customer, text, language), domain)
    assert outcome.responses == ["utter_bill_details", response]
    assert fragment in outcome.texts[1]


async def test_several_contracts_are_listed(database_url, domain):
    outcome = await run(ActionShowBill(), bill_question("10000002"), domain)
    assert outcome.responses == [
        "utter_bill_list_intro",
        "utter_bill_list_item_paid",
        "utter_bill_list_item_paid",
        "utter_bill_list_outro",
    ]
    assert outcome.texts[1] == (
        f"Strom (Vertrag 30000002): {eur('1259.52', 'de')} für 01.01.2025 bis 31.12.2025, "
        f"die Nachzahlung von {eur('179.52', 'de')} ist bezahlt."
    )
    assert outcome.texts[2].startswith(f"Gas (Vertrag 30000003): {eur('978.91', 'de')}")


async def test_list_shows_a_credit_as_a_credit(database_url, domain):
    outcome = await run(ActionShowBill(), bill_question("10000003", "Faturalarım", "tr"), domain)
    assert outcome.responses == [
        "utter_bill_list_intro",
        "utter_bill_list_item_overdue",
        "utter_bill_list_item_credit",
        "utter_bill_list_outro",
    ]
    assert outcome.texts[2] == (
        f"su (sözleşme 30000005): 01.01.2025 - 31.12.2025 dönemi {eur('451.70', 'tr')}, "
        f"alacak {eur('64.30', 'tr')}."
    )


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_commodity_without_contract_says_so_and_lists_all(database_url, domain, language):
    text = {"de": "Und meine Wasserrechnung?", "tr": "su faturası"}[language]
    outcome = await run(ActionShowBill(), bill_question("10000002", text, language), domain)
    assert outcome.responses[:2] == ["utter_bill_commodity_not_found", "utter_bill_list_intro"]
    assert (
        outcome.texts[0]
        == {
            "de": "Für Wasser habe ich bei Ihnen keinen Vertrag gefunden.",
            "tr": "su için size ait bir sözleşme bulamadım.",
        }[language]
    )
    assert outcome.responses.count("utter_bill_list_item_paid") == 2


async def test_choice_after_the_list_by_entity(database_url, domain):
    tracker = bill_question(
        "10000002", "das zweite bitte", intent="inform", entities=[entity("commodity", "gas")]
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses == ["utter_bill_details", "utter_bill_balance_paid"]
    assert "R-2026-000002" in outcome.texts[0]


async def test_no_bills_yet(database_url, domain):
    with session_scope(database_url) as session:
        customer = Customer(
            customer_number="10000099",
            first_name="Neu",
            last_name="Kunde",
            postcode="44137",
            birth_date=dt.date(1990, 1, 1),
            preferred_language="de",
        )
        customer.contracts.append(
            Contract(
                contract_number="30000099",
                commodity="electricity",
                advance_amount=Decimal("50.00"),
                advance_due_day=1,
                recommended_advance=Decimal("50.00"),
            )
        )
        session.add(customer)
    outcome = await run(ActionShowBill(), bill_question("10000099"), domain)
    assert outcome.responses == ["utter_no_bills"]
    assert outcome.text == "Zu Ihren Verträgen liegt noch keine Rechnung vor."


async def test_unverified_customer_is_asked_to_identify_first(database_url, domain):
    tracker = make_tracker("Meine Rechnung bitte", "ask_bill")
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.messages == []  # no bill data before the identity check
    assert outcome.slots == {"pending_request": "ask_bill"}
    assert outcome.followup == "identity_form"


async def test_locked_customer_is_handed_to_a_person(database_url, domain, clock):
    clock(SUNDAY)
    tracker = make_tracker(
        "Faturam ne kadar?", "ask_bill", language="tr", slots={"identity_locked": True}
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    case = assert_handed_off(
        outcome, database_url, tracker, reason="identity_failed", agents_available=False
    )
    assert outcome.responses == ["utter_handoff_closed"]  # no bill data
    assert "Pazartesi, 08:00" in outcome.texts[0]
    assert outcome.slots == handoff_slots(case)


async def test_commodity_asked_before_the_identity_check_is_answered(database_url, domain):
    history = [
        user_event("Was ist mit meiner Gasrechnung?", "ask_bill"),
        bot_event("Dafür muss ich Sie kurz identifizieren. ..."),
    ]
    tracker = make_tracker(
        "10000002 44137 12.03.1975",
        "inform",
        history=history,
        slots={"verified_customer": "10000002"},
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses == ["utter_bill_details", "utter_bill_balance_paid"]
