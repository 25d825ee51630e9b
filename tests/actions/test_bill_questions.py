"""Money questions answered, not turned into a change: the advance payment and why a bill
is so high (actions/bill_questions.py, through action_show_bill and the start of the
advance-payment change), and the offer to change the advance payment after them."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from actions.advance_payments import (
    ActionAskApConfirmed,
    ActionStartAdvancePayment,
    ValidateAdvancePaymentForm,
)
from actions.bill_questions import ActionOfferAdvanceChange
from actions.billing import ActionShowBill
from actions.common import today
from bot.domain import i18n
from bot.domain.services.advance_payments import next_due_date
from tests.actions.conftest import (
    MUELLER_ELECTRICITY,
    MUELLER_GAS,
    changes,
    contract_amount,
    entity,
    eur,
    make_tracker,
    run,
    slot_event,
)

pytestmark = pytest.mark.asyncio

ADVANCE_QUESTION = "advance_payment"
WHY_HIGH = "why_high"


def question(text, customer="10000002", language="de", intent="ask_bill", **kwargs):
    slots = {"verified_customer": customer} if customer else {}
    return make_tracker(text, intent, language=language, slots=slots, **kwargs)


def next_due(due_day: int, language: str) -> str:
    return i18n.date(next_due_date(due_day, today()), language)


# --- the advance payment ----------------------------------------------------------------


async def test_an_advance_payment_question_needs_the_identity_check_first(domain):
    outcome = await run(ActionShowBill(), question("Wie hoch ist mein Abschlag?", None), domain)
    assert outcome.slots == {"bill_question": ADVANCE_QUESTION, "pending_request": "ask_bill"}
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie hoch ist mein Abschlag?", "de"),
        ("wann wird der Abschlag abgebucht", "de"),
        ("was zahle ich monatlich", "de"),
        ("Abschlağım ne kadar", "tr"),
        ("aylık ne ödüyorum", "tr"),
        ("Abschlag ne zaman çekiliyor", "tr"),
    ],
)
async def test_amount_due_day_and_next_due_date_per_contract(database_url, domain, text, language):
    outcome = await run(ActionShowBill(), question(text, language=language), domain)
    # Jürgen Müller pays by transfer: electricity 100 € and gas 76 €, both on the 15th
    assert outcome.responses == ["utter_advance_payment_info_transfer"] * 2
    electricity, gas = outcome.texts
    assert eur("100", language) in electricity and MUELLER_ELECTRICITY in electricity
    assert eur("76", language) in gas and MUELLER_GAS in gas
    assert next_due(15, language) in electricity and next_due(15, language) in gas
    assert ("am 15. eines Monats" if language == "de" else "her ayın 15. günü") in electricity
    assert outcome.followup == "action_offer_advance_change"
    assert outcome.slots == {"bill_question": ADVANCE_QUESTION}
    assert changes(database_url) == []


async def test_a_named_commodity_narrows_the_answer(database_url, domain):
    tracker = question(
        "Wie hoch ist mein Gasabschlag?", entities=[entity("commodity", "gas")], language="de"
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses == ["utter_advance_payment_info_transfer"]
    assert MUELLER_GAS in outcome.text


async def test_a_direct_debit_is_said_to_be_taken_from_the_account(database_url, domain):
    # Hatice Kaya pays by direct debit, two electricity contracts due on the 10th
    outcome = await run(
        ActionShowBill(), question("aylık ödemem ne kadar", "10000028", "tr"), domain
    )
    assert outcome.responses == ["utter_advance_payment_info_direct_debit"] * 2
    assert "hesabınızdan çekiliyor" in outcome.texts[0]
    assert eur("72", "tr") in outcome.texts[0] and eur("110", "tr") in outcome.texts[1]
    assert next_due(10, "tr") in outcome.texts[0]


async def test_the_question_is_remembered_across_the_identity_check(database_url, domain):
    # after the check the latest message holds the identity values
    tracker = make_tracker(
        "10000002 44137 12.03.1975",
        "inform",
        slots={"verified_customer": "10000002", "bill_question": ADVANCE_QUESTION},
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses == ["utter_advance_payment_info_transfer"] * 2
    assert outcome.slots == {}


async def test_a_new_bill_question_forgets_the_last_one(database_url, domain):
    tracker = question("Was steht auf meiner Rechnung?")
    tracker.slots["bill_question"] = ADVANCE_QUESTION
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.slots == {"bill_question": None}
    assert outcome.responses[0] == "utter_bill_list_intro"


@pytest.mark.parametrize(
    ("text", "language"),
    [("Wie hoch ist mein Abschlag?", "de"), ("Abschlağım ne kadar?", "tr")],
)
async def test_a_question_taken_for_a_change_is_answered_not_changed(domain, text, language):
    outcome = await run(
        ActionStartAdvancePayment(),
        question(text, language=language, intent="change_advance_payment"),
        domain,
    )
    assert outcome.slots == {"bill_question": ADVANCE_QUESTION}
    assert outcome.followup == "action_show_bill"
    assert outcome.messages == []


async def test_a_question_taken_for_a_change_asks_for_the_identity_first(domain):
    tracker = question("wie hoch ist mein abschlag", None, intent="change_advance_payment")
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.slots == {"bill_question": ADVANCE_QUESTION, "pending_request": "ask_bill"}
    assert outcome.followup == "identity_form"


@pytest.mark.parametrize(
    "text", ["Ich möchte meinen Abschlag ändern", "Abschlag auf 120 Euro", "abschlagimi artirin"]
)
async def test_a_change_request_still_starts_the_change(domain, text):
    tracker = question(text, intent="change_advance_payment")
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.followup == "advance_payment_form"
    assert "bill_question" not in outcome.slots


# --- why the bill is so high ------------------------------------------------------------


async def test_why_high_needs_the_identity_check_first(domain):
    outcome = await run(
        ActionShowBill(), question("Warum ist meine Rechnung so hoch?", None), domain
    )
    assert outcome.slots == {"bill_question": WHY_HIGH, "pending_request": "ask_bill"}
    assert outcome.followup == "identity_form"


async def test_why_high_with_several_contracts_asks_which_one(database_url, domain):
    outcome = await run(ActionShowBill(), question("Warum ist meine Rechnung so hoch?"), domain)
    assert outcome.responses == ["utter_ask_bill_contract"]
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == [
        f"Strom (30000002): {eur('1259.52', 'de')}",
        f"Gas (30000003): {eur('978.91', 'de')}",
    ]
    assert buttons[0]["payload"] == '/inform{"contract_number": "30000002"}'
    assert outcome.followup is None


JUERGEN_ELECTRICITY = {
    "de": [
        "Ihre letzte Rechnung für Strom (Nr. R-2026-000001) für den Zeitraum 01.01.2025 bis "
        f"31.12.2025 beträgt {eur('1259.52', 'de')}.",
        "Verbraucht haben Sie 3.286 kWh, das sind 178 kWh (5,7\xa0%) mehr als im gleichen "
        "Zeitraum des Vorjahres (3.108 kWh).",
        "Im Durchschnitt haben Sie 38,33 Cent je kWh bezahlt, Grundpreis eingerechnet; bei der "
        "vorigen Rechnung waren es 40,54 Cent, also 5,5\xa0% weniger.",
        f"Ihre Abschläge für diesen Zeitraum ergaben zusammen {eur('1080', 'de')}, "
        f"{eur('179.52', 'de')} weniger als der Rechnungsbetrag von {eur('1259.52', 'de')}.",
    ],
}


async def test_juergen_muellers_electricity_bill_is_explained(database_url, domain):
    tracker = question(
        "Warum ist meine Stromrechnung so hoch?",
        entities=[entity("commodity", "electricity")],
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses == [
        "utter_bill_explanation_intro",
        "utter_bill_explanation_consumption_up",
        "utter_bill_explanation_price_down",
        "utter_bill_explanation_advances_short",
    ]
    for expected, said in zip(JUERGEN_ELECTRICITY["de"], outcome.texts, strict=True):
        assert said.startswith(expected.rstrip(".")), said
    assert outcome.slots == {"bill_question": WHY_HIGH, "ap_offer": "30000002:109.00"}
    assert outcome.followup == "action_offer_advance_change"
    assert "{" not in outcome.text


async def test_the_contract_chosen_by_button_is_explained(database_url, domain):
    tracker = make_tracker(
        '/inform{"contract_number": "30000003"}',
        "inform",
        entities=[entity("contract_number", MUELLER_GAS)],
        slots={"verified_customer": "10000002", "bill_question": WHY_HIGH},
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses[0] == "utter_bill_explanation_intro"
    assert "R-2026-000002" in outcome.texts[0]
    # gas: 6.947 kWh against 6.744 kWh, 102,91 € back-payment (over 100 €): 85 € recommended
    assert "6.947 kWh" in outcome.texts[1] and "6.744 kWh" in outcome.texts[1]
    assert outcome.slots == {"ap_offer": "30000003:85.00"}


async def test_guelsen_celiks_gas_bill_in_turkish(database_url, domain):
    outcome = await run(
        ActionShowBill(), question("Faturam neden bu kadar yüksek?", "10000004", "tr"), domain
    )
    assert outcome.responses == [
        "utter_bill_explanation_intro",
        "utter_bill_explanation_consumption_down",
        "utter_bill_explanation_price_down",
        "utter_bill_explanation_advances_short",
    ]
    intro, consumption, price, advances = outcome.texts
    assert "doğalgaz" in intro and eur("1920.87", "tr") in intro
    assert consumption == (
        "Tüketiminiz 15.138 kWh. Bu, geçen yılın aynı dönemine göre 258 kWh (%1,7) daha az; "
        "o dönemde 15.396 kWh tüketmiştiniz."
    )
    assert "12,69 sent" in price and "13,51 sent" in price and "%6,1 daha az" in price
    assert eur("1608", "tr") in advances and eur("312.87", "tr") in advances
    assert outcome.slots == {"bill_question": WHY_HIGH, "ap_offer": "30000006:165.00"}


async def test_an_interim_bill_is_compared_per_day(database_url, domain):
    outcome = await run(
        ActionShowBill(), question("Wieso ist die Rechnung so teuer?", "10000013"), domain
    )
    assert outcome.responses == [
        "utter_bill_explanation_intro",
        "utter_bill_explanation_consumption_per_day_down",
        "utter_bill_explanation_price",  # 13,43 against 13,56 Cent: less than 1 %
        "utter_bill_explanation_advances_short",
    ]
    assert "01.01.2026 bis 31.10.2026" in outcome.texts[0]
    assert outcome.texts[1] == (
        "Verbraucht haben Sie 6.723 kWh in 304 Tagen. Die Vergleichsrechnung umfasst 365 Tage, "
        "deshalb vergleiche ich pro Tag: 22,1 kWh pro Tag, das sind 7,5\xa0% weniger als im "
        "vorigen Abrechnungszeitraum (23,9 kWh pro Tag)."
    )
    assert outcome.slots["ap_offer"] == "30000020:102.00"


async def test_a_small_back_payment_is_explained_without_an_offer(database_url, domain):
    # Ayşe Yılmaz: 83,27 € on 960 € of advance payments, her only bill
    outcome = await run(
        ActionShowBill(), question("faturam neden bu kadar yüksek", "10000001", "tr"), domain
    )
    assert outcome.responses == [
        "utter_bill_explanation_intro",
        "utter_bill_explanation_consumption_only",
        "utter_bill_explanation_price",
        "utter_bill_explanation_advances_short",
    ]
    assert outcome.followup is None and "ap_offer" not in outcome.slots


async def test_no_raise_is_offered_when_the_advance_payment_already_fits(database_url, domain):
    # İbrahim Kılıç, electricity: 162,82 € back-payment, but 90 € paid for 78 € recommended
    tracker = question(
        "Warum ist meine Stromrechnung so hoch?",
        "10000010",
        entities=[entity("commodity", "electricity")],
    )
    outcome = await run(ActionShowBill(), tracker, domain)
    assert outcome.responses[-1] == "utter_bill_explanation_advance_fits"
    assert eur("90", "de") in outcome.texts[-1]
    assert outcome.followup is None


# --- the offer, and yes to it ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_offer_to_raise_to_the_recommended_amount(database_url, domain, language):
    tracker = question("", language=language)
    tracker.slots["ap_offer"] = "30000002:109.00"
    outcome = await run(ActionOfferAdvanceChange(), tracker, domain)
    assert outcome.responses == ["utter_offer_advance_raise"]
    assert eur("100", language) in outcome.text and eur("109", language) in outcome.text
    assert [b["payload"] for b in outcome.messages[0]["buttons"]] == ["/affirm", "/deny"]
    titles = [b["title"] for b in outcome.messages[0]["buttons"]]
    assert titles == (
        ["Ja, erhöhen", "Nein, danke"]
        if language == "de"
        else ["Evet, artırın", "Hayır, teşekkürler"]
    )
    assert outcome.followup is None


async def test_offer_to_change_after_the_advance_payment_answer(database_url, domain):
    outcome = await run(ActionOfferAdvanceChange(), question(""), domain)
    assert outcome.responses == ["utter_offer_advance_change"]
    assert [b["title"] for b in outcome.messages[0]["buttons"]] == [
        "Ja, Abschlag ändern",
        "Nein, danke",
    ]


def after_the_offer(text, intent="affirm", language="de", offer="30000002:109.00"):
    now = time.time()
    history = [
        {"event": "action", "timestamp": now, "name": "action_offer_advance_change"},
        slot_event("next_action", None),
        {"event": "action", "timestamp": now, "name": "action_listen"},
    ]
    return make_tracker(
        text,
        intent,
        language=language,
        slots={"verified_customer": "10000002", "ap_offer": offer},
        history=history,
    )


async def test_yes_to_the_offer_starts_the_change_with_the_offered_amount(domain):
    outcome = await run(ActionStartAdvancePayment(), after_the_offer("ja"), domain)
    assert outcome.slots["ap_contract"] == MUELLER_ELECTRICITY
    assert outcome.slots["ap_amount"] == "109.00"
    assert outcome.slots["ap_offer"] is None
    assert outcome.followup == "advance_payment_form"


async def test_another_amount_in_the_answer_to_the_offer_wins(domain):
    tracker = after_the_offer("lieber 120 Euro", intent="inform")
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert (outcome.slots["ap_contract"], outcome.slots["ap_amount"]) == (
        MUELLER_ELECTRICITY,
        "120.00",
    )


async def test_an_old_offer_is_not_taken_up_later(domain):
    tracker = make_tracker(
        "Abschlag ändern",
        "change_advance_payment",
        slots={"verified_customer": "10000002", "ap_offer": "30000002:109.00"},
    )
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.slots.get("ap_contract") is None and outcome.slots.get("ap_amount") is None


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_offered_amount_is_read_back_before_anything_changes(
    database_url, domain, language
):
    prefilled = {"ap_contract": MUELLER_ELECTRICITY, "ap_amount": "109.00"}
    tracker = make_tracker(
        "ja",
        "affirm",
        language=language,
        slots={"verified_customer": "10000002", **prefilled},
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "advance_payment_form", "timestamp": None},
            *(slot_event(k, v) for k, v in prefilled.items()),
        ],
        active_loop="advance_payment_form",
    )
    validated = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert validated.slots["ap_contract"] == MUELLER_ELECTRICITY
    assert validated.slots["ap_amount"] == "109.00"
    assert validated.messages == []
    read_back = await run(ActionAskApConfirmed(), tracker, domain)
    assert read_back.responses == ["utter_ask_ap_confirmed"]
    assert eur("100", language) in read_back.text and eur("109", language) in read_back.text
    assert changes(database_url) == []
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("100.00")
