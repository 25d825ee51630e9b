"""Reporting a meter reading: start, choosing the meter, the reading, the read-back, storing.

Demo customers: Claudia Neumann (10000025, de) with an electricity meter
1ESY1160300381 (last 44.680 kWh on 31.12.2025) and a gas meter 7ELS8210300392
(9.095,2 m³); Hatice Kaya (10000028, tr) with two electricity meters, 1ESY1160300425
("Strom Basis", 15.320 kWh) and 1ESY1160300436 ("Wärmepumpe Strom", 30.544 kWh);
Ayşe Yılmaz (10000001, tr) with bills but no reading yet. The `clock` fixture
makes today Monday, 23.11.2026.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.handoff import ActionHandoff
from actions.meter_readings import (
    FORM_SLOTS,
    ActionAskMrConfirmed,
    ActionAskMrContract,
    ActionAskMrValue,
    ActionStartMeterReading,
    ActionSubmitMeterReading,
    ValidateMeterReadingForm,
)
from bot.domain.models import AuditEntry, MeterReading
from bot.domain.services import meter_readings as mr
from bot.infra.db import session_scope
from tests.actions.conftest import (
    assert_handed_off,
    entity,
    handoff_slots,
    make_tracker,
    run,
    slot_event,
)

pytestmark = pytest.mark.asyncio

TODAY = "2026-11-23"
CLAUDIA, CLAUDIA_POWER, CLAUDIA_GAS = "10000025", "30000038", "30000039"
HATICE, HATICE_BASIC, HATICE_HEAT_PUMP = "10000028", "30000042", "30000043"
AYSE, AYSE_POWER = "10000001", "30000001"
RESET = {**{s: None for s in FORM_SLOTS}, "form_cancelled": None}


@pytest.fixture(autouse=True)
def _today(clock):
    """Every test runs on Monday, 23.11.2026 (327 days after the last readings)."""


def readings(url: str) -> list[MeterReading]:
    """The readings customers gave (not those of the billing system)."""
    with session_scope(url) as session:
        rows = session.scalars(
            select(MeterReading).where(MeterReading.source == "customer").order_by(MeterReading.id)
        ).all()
        for row in rows:
            _ = row.contract.contract_number  # load before the session closes
        return list(rows)


def audit_entries(url: str) -> list[AuditEntry]:
    with session_scope(url) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "meter_reading_submitted")
            ).all()
        )


def form_tracker(
    text, intent="inform", language="de", customer=CLAUDIA, entities=(), channel="rest", **slots
):
    """A message while the meter reading form is active."""
    values = {"verified_customer": customer, "mr_request_id": "req-1", **slots}
    return make_tracker(
        text,
        intent,
        entities=entities,
        language=language,
        slots=values,
        active_loop="meter_reading_form",
        channel=channel,
    )


def activation_tracker(customer, text="10000025 44137 21.06.1983", intent="inform", **prefilled):
    """What the form validation sees when the form starts (here after the identity check)."""
    return make_tracker(
        text,
        intent,
        slots={"verified_customer": customer, **prefilled},
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "meter_reading_form", "timestamp": None},
        ],
        active_loop="meter_reading_form",
    )


async def validate(tracker, domain):
    return await run(ValidateMeterReadingForm(), tracker, domain)


def value_tracker(text, language="de", contract=CLAUDIA_POWER, intent="inform", **slots):
    return form_tracker(
        text,
        intent,
        language=language,
        requested_slot="mr_value",
        mr_contract=contract,
        **slots,
    )


def confirm_tracker(text, intent="inform", language="de", value="65000.000", **slots):
    verdict = "below_last" if Decimal(value) < 44680 else "above_expected"
    return form_tracker(
        text,
        intent,
        language=language,
        requested_slot="mr_confirmed",
        mr_contract=CLAUDIA_POWER,
        mr_value=value,
        mr_verdict=verdict,
        mr_read_on=TODAY,
        **slots,
    )


# --- action_start_meter_reading ---------------------------------------------------------


async def test_start_asks_for_identity_first_and_keeps_what_the_request_names(domain):
    tracker = make_tracker(
        "Zählerstand Gas 8123",
        "submit_meter_reading",
        entities=[entity("commodity", "gas")],
        slots={"mr_contract": "30000001", "mr_confirmed": True},
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    candidate = json.loads(outcome.slots["mr_candidate"])
    assert candidate == {"value": "8123", "read_on": None, "unit": None}
    assert outcome.slots == {
        **RESET,
        "mr_candidate": outcome.slots["mr_candidate"],
        "mr_commodity": "gas",
        "pending_request": "submit_meter_reading",
    }
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


async def test_start_for_a_verified_customer_opens_the_form(domain):
    tracker = make_tracker(
        "sayaç okumamı bildirmek istiyorum",
        "submit_meter_reading",
        language="tr",
        slots={"verified_customer": HATICE, "handoff_reason": "implausible_reading"},
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    assert outcome.slots == {**RESET, "handoff_reason": None}
    assert outcome.followup == "meter_reading_form"


async def test_a_reading_in_the_request_of_a_verified_customer(domain):
    tracker = make_tracker(
        "Zählerstand Strom 47350", "submit_meter_reading", slots={"verified_customer": CLAUDIA}
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    assert json.loads(outcome.slots["mr_candidate"])["value"] == "47350"


async def test_a_commodity_word_the_entity_did_not_map_is_read_from_the_text(domain):
    tracker = make_tracker(
        "Stromstand melden",
        "submit_meter_reading",
        entities=[entity("commodity", "Stromstand")],
        slots={"verified_customer": CLAUDIA},
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    assert outcome.slots["mr_commodity"] == "electricity"


async def test_identity_values_in_the_request_are_no_reading(domain):
    tracker = make_tracker(
        "10000025 44137 21.06.1983, ich will meinen Stromzähler durchgeben",
        "submit_meter_reading",
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    assert outcome.slots["mr_candidate"] is None
    assert outcome.slots["mr_commodity"] == "electricity"


async def test_start_after_a_locked_identity_check_hands_off(database_url, domain):
    tracker = make_tracker(
        "Zählerstand melden", "submit_meter_reading", slots={"identity_locked": True}
    )
    outcome = await run(ActionStartMeterReading(), tracker, domain)
    case = assert_handed_off(outcome, database_url, tracker, reason="identity_failed")
    assert outcome.slots == {**RESET, **handoff_slots(case)}


# --- the form: which meter --------------------------------------------------------------


async def test_a_single_meter_is_chosen_without_asking(database_url, domain):
    outcome = await validate(activation_tracker(AYSE), domain)
    assert outcome.slots["mr_contract"] == AYSE_POWER
    assert re.fullmatch(r"[0-9a-f]{32}", outcome.slots["mr_request_id"])
    assert outcome.messages == []


async def test_the_commodity_named_with_the_request_chooses_the_meter(database_url, domain):
    outcome = await validate(activation_tracker(CLAUDIA, mr_commodity="gas"), domain)
    assert outcome.slots["mr_contract"] == CLAUDIA_GAS


async def test_several_meters_are_not_guessed(database_url, domain):
    outcome = await validate(activation_tracker(CLAUDIA), domain)
    assert "mr_contract" not in outcome.slots  # Rasa asks with action_ask_mr_contract
    hatice = await validate(activation_tracker(HATICE, mr_commodity="electricity"), domain)
    assert "mr_contract" not in hatice.slots


async def test_a_verified_customers_request_names_meter_and_reading(database_url, domain):
    tracker = activation_tracker(
        HATICE, text="Zählerstand für den Zähler 0436: 35100", intent="submit_meter_reading"
    )
    outcome = await validate(tracker, domain)
    assert outcome.slots["mr_contract"] == HATICE_HEAT_PUMP
    # the reading is checked for the chosen meter; its last digits are no part of it
    assert (outcome.slots["mr_value"], outcome.slots["mr_verdict"]) == ("35100.000", "plausible")
    assert outcome.slots["mr_candidate"] is None


def contract_tracker(text, customer=HATICE, language="tr", entities=(), **slots):
    return form_tracker(
        text,
        language=language,
        customer=customer,
        entities=entities,
        requested_slot="mr_contract",
        **slots,
    )


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("0436", (), HATICE_HEAT_PUMP),
        ("sonu 0425 olan", (), HATICE_BASIC),
        ("…0436", (), HATICE_HEAT_PUMP),
        ("1ESY1160300425", (), HATICE_BASIC),
        ("ısı pompası olan, Wärmepumpe", (), HATICE_HEAT_PUMP),
        ("Strom Basis", (), HATICE_BASIC),
        ("sıfır dört üç altı", (), HATICE_HEAT_PUMP),  # the last digits said in words
        (
            '/inform{"contract_number": "30000043"}',
            [entity("contract_number", HATICE_HEAT_PUMP)],
            HATICE_HEAT_PUMP,
        ),
    ],
)
async def test_a_meter_chosen_by_number_tariff_or_button(
    database_url, domain, text, entities, expected
):
    outcome = await validate(contract_tracker(text, entities=entities), domain)
    assert outcome.slots["mr_contract"] == expected
    assert "mr_value" not in outcome.slots  # the digits that name a meter are no reading
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Gas", "de", CLAUDIA_GAS),
        ("den Strom", "de", CLAUDIA_POWER),
        ("doğalgaz", "tr", CLAUDIA_GAS),
    ],
)
async def test_a_meter_chosen_by_commodity(database_url, domain, text, language, expected):
    tracker = contract_tracker(text, customer=CLAUDIA, language=language)
    assert (await validate(tracker, domain)).slots["mr_contract"] == expected


async def test_a_commodity_with_two_meters_narrows_the_question(database_url, domain):
    outcome = await validate(contract_tracker("elektrik"), domain)
    assert outcome.slots == {"mr_commodity": "electricity", "requested_slot": "mr_contract"}


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("Wasser", ()),
        ("keine Ahnung", ()),
        ("0381", ()),  # Claudia's meter, not Hatice's
        # a contract of another customer is not offered, even by number
        ("30000038", [entity("contract_number", CLAUDIA_POWER)]),
    ],
)
async def test_an_unknown_meter_is_not_accepted(database_url, domain, text, entities):
    outcome = await validate(contract_tracker(text, entities=entities), domain)
    assert outcome.slots == {
        "mr_problem": "unknown_meter",
        "mr_unusable": 1.0,
        "requested_slot": "mr_contract",
    }


async def test_a_reading_at_the_meter_question_is_kept_for_the_meter(database_url, domain):
    outcome = await validate(contract_tracker("35100"), domain)
    assert json.loads(outcome.slots["mr_candidate"])["value"] == "35100"
    assert "mr_contract" not in outcome.slots and "mr_problem" not in outcome.slots


async def test_meter_and_reading_in_one_answer(database_url, domain):
    outcome = await validate(contract_tracker("0436, Stand 35100"), domain)
    assert outcome.slots["mr_contract"] == HATICE_HEAT_PUMP
    assert outcome.slots["mr_value"] == "35100.000"
    assert outcome.slots["mr_verdict"] == "plausible"


async def test_a_question_at_the_meter_question_is_left_to_the_rules(database_url, domain):
    tracker = contract_tracker("Bist du ein Bot?", customer=CLAUDIA, language="de")
    tracker.latest_message["intent"] = {"name": "bot_challenge", "confidence": 1.0}
    outcome = await validate(tracker, domain)
    # nothing taken from it (Rasa rejects the form's turn); the same question stays
    assert outcome.slots == {"requested_slot": "mr_contract"} and outcome.messages == []


# --- the form: the reading ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("47.350", "de", "47350.000"),
        ("47350 kWh", "de", "47350.000"),
        ("47 350", "de", "47350.000"),
        ("siebenundvierzigtausenddreihundertfünfzig", "de", "47350.000"),
        ("vier sieben drei fünf null", "de", "47350.000"),
        ("kırk yedi bin üç yüz elli", "tr", "47350.000"),
        ("kirk yedi bin uc yuz elli", "tr", "47350.000"),
        ("dört yedi üç beş sıfır", "tr", "47350.000"),
        ("sayaçta 47350,5 yazıyor", "tr", "47350.500"),
        ("nein, der Stand ist 47350", "de", "47350.000"),
    ],
)
async def test_a_plausible_reading_is_taken(database_url, domain, text, language, value):
    intent = "deny" if text.startswith("nein") else "inform"
    outcome = await validate(value_tracker(text, language, intent=intent), domain)
    assert outcome.slots == {
        "mr_value": value,
        "mr_read_on": TODAY,
        "mr_verdict": "plausible",
        "mr_confirmed": None,
        "mr_problem": None,
        "mr_unusable": None,
        "mr_offered": None,
        "requested_slot": None,  # the form is done
    }
    assert outcome.messages == []
    assert readings(database_url) == []  # stored only at the end


async def test_the_day_named_with_the_reading(database_url, domain):
    outcome = await validate(value_tracker("am 20.11. abgelesen: 47350"), domain)
    assert outcome.slots["mr_read_on"] == "2026-11-20"


async def test_a_gas_reading_in_cubic_metres(database_url, domain):
    outcome = await validate(value_tracker("9950,5 m³", contract=CLAUDIA_GAS), domain)
    assert (outcome.slots["mr_value"], outcome.slots["mr_verdict"]) == ("9950.500", "plausible")


async def test_a_first_reading(database_url, domain):
    tracker = value_tracker("12345", "tr", contract=AYSE_POWER, verified_customer=AYSE)
    outcome = await validate(tracker, domain)
    assert (outcome.slots["mr_value"], outcome.slots["mr_verdict"]) == ("12345.000", "first")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-45210", "negative"),
        ("4521O", "letters"),
        ("123456789012345", "too_large"),
        ("47350 am 24.12.2026", "future_date"),
        ("47350 vom 30.12.2025", "before_last_reading"),
        ("9950 m³", "wrong_unit"),  # an electricity meter counts kWh
        ("Strom 47350, Gas 9950", "several"),
        ("1ESY1160300381", "identifier"),
        ("weiß ich nicht", "no_number"),
    ],
)
async def test_an_unusable_answer_says_why_and_changes_nothing(database_url, domain, text, problem):
    outcome = await validate(value_tracker(text), domain)
    assert outcome.slots["mr_problem"] == problem
    assert outcome.slots["mr_unusable"] == 1.0
    assert outcome.slots["mr_value"] is None
    assert outcome.messages == []  # action_ask_mr_value says it
    assert readings(database_url) == [] and audit_entries(database_url) == []


async def test_unusable_answers_are_counted(database_url, domain):
    outcome = await validate(value_tracker("-45210", mr_unusable=1.0), domain)
    assert outcome.slots["mr_unusable"] == 2.0


@pytest.mark.parametrize(
    ("text", "verdict"), [("65000", "above_expected"), ("44000", "below_last")]
)
async def test_an_implausible_reading_is_to_be_confirmed(database_url, domain, text, verdict):
    outcome = await validate(value_tracker(text), domain)
    assert outcome.slots["mr_verdict"] == verdict
    assert outcome.slots["mr_offered"] is None
    # a person asked for now is asked about this reading
    assert outcome.slots["handoff_reason"] == "implausible_reading"
    assert outcome.slots["requested_slot"] == "mr_confirmed"


async def test_the_same_implausible_value_after_a_no_offers_a_person(database_url, domain):
    outcome = await validate(value_tracker("65.000", mr_declined="65000.000"), domain)
    assert outcome.slots["mr_offered"] is True
    assert outcome.slots["requested_slot"] == "mr_confirmed"


async def test_a_plain_no_at_the_reading_question_cancels(database_url, domain):
    outcome = await validate(value_tracker("nein, doch nicht", intent="deny"), domain)
    assert outcome.slots["form_cancelled"] is True
    assert outcome.slots["requested_slot"] is None


async def test_the_meter_number_said_again_is_no_part_of_the_reading(database_url, domain):
    tracker = value_tracker("Zähler 0436, 35100", "tr", contract=HATICE_HEAT_PUMP)
    tracker.slots["verified_customer"] = HATICE
    outcome = await validate(tracker, domain)
    assert outcome.slots["mr_value"] == "35100.000"


# --- the form: an implausible reading read back -------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("ja", "affirm", "de"),
        ("Ja, 65000 stimmt", "affirm", "de"),
        ("evet doğru", "affirm", "tr"),
        ("/affirm", "affirm", "de"),  # the button of the offer
    ],
)
async def test_yes_confirms(database_url, domain, text, intent, language):
    outcome = await validate(confirm_tracker(text, intent, language), domain)
    assert outcome.slots["mr_confirmed"] is True
    assert outcome.slots["requested_slot"] is None  # the form is done


async def test_a_correction_is_checked_like_the_first_value(database_url, domain):
    outcome = await validate(confirm_tracker("nein, 47350", "deny"), domain)
    assert outcome.slots["mr_value"] == "47350.000"
    assert outcome.slots["mr_verdict"] == "plausible"
    assert outcome.slots["mr_declined"] == "65000.000"
    assert outcome.slots["requested_slot"] is None


async def test_no_asks_for_another_value(database_url, domain):
    outcome = await validate(confirm_tracker("nein", "deny"), domain)
    assert outcome.slots["mr_value"] is None and outcome.slots["mr_confirmed"] is None
    assert (outcome.slots["mr_declined"], outcome.slots["mr_problem"]) == ("65000.000", "declined")
    assert outcome.slots["requested_slot"] == "mr_value"
    assert "form_cancelled" not in outcome.slots


@pytest.mark.parametrize("text", ["nein, abbrechen", "hayır, vazgeçtim"])
async def test_stopping_at_the_read_back_cancels(database_url, domain, text):
    outcome = await validate(confirm_tracker(text, "deny"), domain)
    assert outcome.slots["form_cancelled"] is True
    assert outcome.slots["requested_slot"] is None


async def test_the_same_value_again_without_a_yes_offers_a_person(database_url, domain):
    outcome = await validate(confirm_tracker("65000"), domain)
    assert outcome.slots["mr_offered"] is True
    assert outcome.slots["requested_slot"] == "mr_confirmed"


async def test_an_unclear_answer_twice_offers_a_person(database_url, domain):
    first = await validate(confirm_tracker("hm"), domain)
    assert first.slots["mr_problem"] == "unclear" and first.slots["mr_unusable"] == 1.0
    second = await validate(confirm_tracker("hm", mr_unusable=1.0), domain)
    assert second.slots["mr_offered"] is True


async def test_no_after_the_offer_stores_nothing(database_url, domain):
    outcome = await validate(confirm_tracker("/deny", "deny", mr_offered=True), domain)
    assert outcome.slots["form_cancelled"] is True and outcome.slots["mr_confirmed"] is False


async def test_a_person_asked_for_at_the_read_back_is_asked_about_the_reading(database_url, domain):
    tracker = confirm_tracker(
        "Ich möchte mit einem Mitarbeiter sprechen",
        "request_human",
        handoff_reason="implausible_reading",
    )
    rejected = await validate(tracker, domain)
    # nothing taken (Rasa rejects the form's turn): the rule "customer asks for a person"
    assert rejected.slots == {"requested_slot": "mr_confirmed"}
    outcome = await run(ActionHandoff(), tracker, domain)
    case = assert_handed_off(
        outcome, database_url, tracker, reason="implausible_reading", customer_number=CLAUDIA
    )
    assert case.reason == "implausible_reading"
    assert readings(database_url) == []


# --- the questions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "titles"),
    [
        ("de", ["Strom, Zähler …0381", "Gas, Zähler …0392"]),
        ("tr", ["elektrik, sayaç …0381", "doğalgaz, sayaç …0392"]),
    ],
)
async def test_the_meter_question_offers_a_button_per_meter(database_url, domain, language, titles):
    tracker = form_tracker("", language=language, requested_slot="mr_contract")
    outcome = await run(ActionAskMrContract(), tracker, domain)
    assert outcome.responses == ["utter_ask_mr_contract"]
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == titles
    assert [json.loads(b["payload"][len("/inform") :]) for b in buttons] == [
        {"contract_number": CLAUDIA_POWER},
        {"contract_number": CLAUDIA_GAS},
    ]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Sie haben mehrere Zähler für Strom."),
        ("tr", "Birden fazla elektrik sayacınız var."),
    ],
)
async def test_two_meters_of_one_kind_are_told_apart_by_tariff(
    database_url, domain, language, text
):
    # all of Hatice's meters are electricity meters: the question says so at once
    tracker = form_tracker("", language=language, customer=HATICE)
    outcome = await run(ActionAskMrContract(), tracker, domain)
    assert outcome.responses == ["utter_ask_mr_contract_same_commodity"]
    assert outcome.text.startswith(text)
    meter = "Zähler" if language == "de" else "sayaç"
    assert [b["title"] for b in outcome.messages[0]["buttons"]] == [
        f"Strom Basis, {meter} …0425",
        f"Wärmepumpe Strom, {meter} …0436",
    ]


async def test_an_unknown_meter_twice_offers_a_way_out(database_url, domain):
    tracker = form_tracker("", mr_problem="unknown_meter", mr_unusable=2.0)
    outcome = await run(ActionAskMrContract(), tracker, domain)
    assert outcome.responses == ["utter_invalid_mr_contract"]
    payloads = [b["payload"] for b in outcome.messages[0]["buttons"]]
    assert payloads[-2:] == ["/request_human", "/deny"]


@pytest.mark.parametrize(
    ("language", "last", "question"),
    [
        (
            "de",
            "Der letzte Stand dieses Zählers bei uns: 44.680 kWh vom 31.12.2025.",
            "Wie lautet der aktuelle Stand Ihres Zählers für Strom (Zählernummer 1ESY1160300381)?",
        ),
        (
            "tr",
            "Bu sayacın bizdeki son değeri: 31.12.2025 tarihli 44.680 kWh.",
            "Sayaç numarası 1ESY1160300381 olan elektrik sayacınızın güncel değeri nedir?",
        ),
    ],
)
async def test_the_reading_question_names_the_meter_and_its_last_reading(
    database_url, domain, language, last, question
):
    tracker = form_tracker("", language=language, mr_contract=CLAUDIA_POWER)
    outcome = await run(ActionAskMrValue(), tracker, domain)
    assert outcome.responses == ["utter_mr_last_reading", "utter_ask_mr_value"]
    assert outcome.texts[0] == last
    assert outcome.texts[1].startswith(question)


async def test_a_meter_without_readings_is_asked_without_one(database_url, domain):
    tracker = form_tracker("", "tr", customer=AYSE, mr_contract=AYSE_POWER)
    outcome = await run(ActionAskMrValue(), tracker, domain)
    assert outcome.responses == ["utter_ask_mr_value"]
    assert "1ESY1160123456" in outcome.text


@pytest.mark.parametrize(
    ("problem", "language", "said"),
    [
        ("no_number", "de", "keinen Zählerstand gefunden"),
        ("negative", "de", "nicht negativ"),
        ("too_large", "tr", "çok uzun"),
        ("letters", "de", "Buchstabe"),
        ("future_date", "de", "Das Ablesedatum 24.12.2026 liegt in der Zukunft."),
        ("future_date", "tr", "Okuma tarihi 24.12.2026 henüz gelmedi."),
        ("before_last_reading", "de", "schon einen Stand vom 31.12.2025"),
        ("wrong_unit", "de", "Ihr Zähler für Strom zählt in kWh."),
        ("wrong_unit", "tr", "Bu elektrik sayacı kWh cinsinden sayar."),
        ("several", "de", "nur den Stand des Zählers 1ESY1160300381"),
        ("identifier", "tr", "sayaç numarasına benziyor"),
    ],
)
async def test_what_was_wrong_is_said(database_url, domain, problem, language, said):
    tracker = form_tracker(
        "",
        language=language,
        mr_contract=CLAUDIA_POWER,
        mr_problem=problem,
        mr_unusable=1.0,
        mr_read_on="2026-12-24",
    )
    outcome = await run(ActionAskMrValue(), tracker, domain)
    assert len(outcome.responses) == 1 and outcome.responses[0].startswith("utter_invalid_mr_")
    assert said in outcome.text
    assert outcome.slots == {"mr_problem": None}


async def test_the_second_unusable_answer_offers_a_way_out(database_url, domain):
    tracker = form_tracker("", mr_contract=CLAUDIA_POWER, mr_problem="negative", mr_unusable=2.0)
    outcome = await run(ActionAskMrValue(), tracker, domain)
    assert outcome.responses == ["utter_invalid_mr_negative", "utter_mr_way_out"]
    buttons = outcome.messages[1]["buttons"]
    assert [b["payload"] for b in buttons] == ["/request_human", "/deny"]
    assert [b["title"] for b in buttons] == [
        "Mit einem Mitarbeiter sprechen",
        "Abbrechen, nichts speichern",
    ]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("de", "In Ordnung, 65.000 kWh speichere ich nicht."),
        ("tr", "Tamam, 65.000 kWh değerini kaydetmiyorum."),
    ],
)
async def test_after_a_no_the_reading_is_asked_again_with_a_person_offered(
    database_url, domain, language, said
):
    tracker = form_tracker(
        "",
        language=language,
        mr_contract=CLAUDIA_POWER,
        mr_problem="declined",
        mr_declined="65000.000",
    )
    outcome = await run(ActionAskMrValue(), tracker, domain)
    assert outcome.responses == ["utter_ask_mr_value_again"]
    assert outcome.text.startswith(said)
    assert [b["payload"] for b in outcome.messages[0]["buttons"]] == ["/request_human"]


@pytest.mark.parametrize(
    ("value", "language", "said"),
    [
        (
            "65000.000",
            "de",
            "Sie haben 65.000 kWh genannt. Seit Ihrem letzten Zählerstand (44.680 kWh am "
            "31.12.2025) wären das 20.320 kWh; nach Ihrem bisherigen Verbrauch erwarten wir "
            "etwa 2.517 kWh. Ist 65.000 kWh richtig?",
        ),
        (
            "44000.000",
            "de",
            "Sie haben 44.000 kWh genannt, Ihr letzter Zählerstand war aber 44.680 kWh am "
            "31.12.2025",
        ),
        (
            "65000.000",
            "tr",
            "65.000 kWh belirttiniz. Son sayaç değerinizden (31.12.2025 tarihinde 44.680 kWh)",
        ),
        ("44000.000", "tr", "son sayaç değeriniz 31.12.2025 tarihinde 44.680 kWh idi"),
    ],
)
async def test_an_implausible_reading_is_read_back_with_the_last_one(
    database_url, domain, value, language, said
):
    tracker = confirm_tracker("", language=language, value=value)
    outcome = await run(ActionAskMrConfirmed(), tracker, domain)
    assert outcome.responses[0].startswith("utter_ask_mr_confirmed_")
    assert said in outcome.text
    assert readings(database_url) == []


async def test_the_offer_of_a_person_has_three_ways(database_url, domain):
    tracker = confirm_tracker("", language="tr", mr_offered=True)
    outcome = await run(ActionAskMrConfirmed(), tracker, domain)
    assert outcome.responses == ["utter_mr_offer_person"]
    assert outcome.text.startswith("65.000 kWh değerini tekrar belirttiniz.")
    assert [b["payload"] for b in outcome.messages[0]["buttons"]] == [
        "/affirm",
        "/request_human",
        "/deny",
    ]


async def test_an_unclear_answer_is_asked_again(database_url, domain):
    outcome = await run(ActionAskMrConfirmed(), confirm_tracker("", mr_problem="unclear"), domain)
    assert outcome.responses == ["utter_mr_please_confirm"]
    assert outcome.text.startswith("Stimmt der Stand 65.000 kWh?")


# --- action_submit_meter_reading ------------------------------------------------------------


def submit_tracker(language="de", sender_id="conv-7", metadata=None, channel="rest", **slots):
    values = {
        "verified_customer": CLAUDIA,
        "mr_request_id": "req-1",
        "mr_contract": CLAUDIA_POWER,
        "mr_value": "47350.000",
        "mr_read_on": TODAY,
        "mr_verdict": "plausible",
        "requested_slot": None,
        **slots,
    }
    return make_tracker(
        "47350",
        "inform",
        language=language,
        slots=values,
        sender_id=sender_id,
        metadata=metadata or {},
        channel=channel,
    )


SUBMIT_RESET = {**RESET}


@pytest.mark.parametrize(
    ("language", "stored", "next_steps"),
    [
        (
            "de",
            "Vielen Dank! Ihr Zählerstand ist gespeichert: 47.350 kWh für Strom "
            "(Zähler 1ESY1160300381), abgelesen am 23.11.2026.",
            "Wir verwenden den Stand für Ihre nächste Abrechnung",
        ),
        (
            "tr",
            "Teşekkürler! Sayaç değeriniz kaydedildi: elektrik (sayaç 1ESY1160300381) için "
            "47.350 kWh, okuma tarihi 23.11.2026.",
            "bir sonraki faturanızda (Abrechnung) kullanacağız",
        ),
    ],
)
async def test_a_plausible_reading_is_stored_with_an_audit_entry(
    database_url, domain, language, stored, next_steps
):
    tracker = submit_tracker(language, metadata={"channel": "web"})
    outcome = await run(ActionSubmitMeterReading(), tracker, domain)
    assert outcome.responses == ["utter_mr_stored", "utter_mr_next_steps"]
    assert outcome.texts[0] == stored and next_steps in outcome.texts[1]
    assert outcome.slots == SUBMIT_RESET
    assert outcome.followup is None

    [row] = readings(database_url)
    assert row.contract.contract_number == CLAUDIA_POWER
    assert (row.value, row.unit, str(row.read_on)) == (Decimal("47350.000"), "kWh", TODAY)
    assert (row.plausibility, row.confirmed, row.reason) == ("plausible", False, "regular")
    assert (row.channel, row.conversation_id, row.request_id) == ("web", "conv-7", "req-1")
    [entry] = audit_entries(database_url)
    assert entry.detail["meter_reading"] == row.id and entry.detail["channel"] == "web"


async def test_a_confirmed_implausible_reading_is_stored_as_confirmed(database_url, domain):
    tracker = submit_tracker(
        "tr",
        mr_value="65000.000",
        mr_verdict="above_expected",
        mr_confirmed=True,
        handoff_reason="implausible_reading",
    )
    outcome = await run(ActionSubmitMeterReading(), tracker, domain)
    assert outcome.responses == ["utter_mr_stored_checked", "utter_mr_next_steps"]
    assert "65.000 kWh" in outcome.texts[0] and "kontrol edecek" in outcome.texts[0]
    assert outcome.slots == {**SUBMIT_RESET, "handoff_reason": None}
    [row] = readings(database_url)
    assert (row.value, row.plausibility, row.confirmed) == (
        Decimal("65000.000"),
        "above_expected",
        True,
    )


async def test_a_first_reading_is_stored(database_url, domain):
    tracker = submit_tracker(
        "tr",
        verified_customer=AYSE,
        mr_contract=AYSE_POWER,
        mr_value="12345.000",
        mr_verdict="first",
    )
    outcome = await run(ActionSubmitMeterReading(), tracker, domain)
    assert outcome.responses == ["utter_mr_stored", "utter_mr_next_steps"]
    assert readings(database_url)[0].plausibility == "first"


async def test_a_redelivered_confirmation_stores_once(database_url, domain):
    first = await run(ActionSubmitMeterReading(), submit_tracker(), domain)
    again = await run(ActionSubmitMeterReading(), submit_tracker(), domain)
    assert again.texts == first.texts
    assert len(readings(database_url)) == 1 and len(audit_entries(database_url)) == 1


@pytest.mark.parametrize(
    "slots",
    [
        {"form_cancelled": True},
        {"mr_value": None},
        {"mr_value": "65000.000", "mr_verdict": "above_expected", "mr_confirmed": None},
        {"mr_value": "65000.000", "mr_verdict": "above_expected", "mr_confirmed": False},
    ],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_nothing_is_stored_without_a_usable_or_confirmed_reading(
    database_url, domain, slots, language
):
    outcome = await run(ActionSubmitMeterReading(), submit_tracker(language, **slots), domain)
    assert outcome.responses == ["utter_mr_nothing_stored"]
    assert outcome.text.startswith(
        {"de": "In Ordnung, ich habe keinen Zählerstand gespeichert.", "tr": "Tamam, hiçbir"}[
            language
        ]
    )
    assert readings(database_url) == [] and audit_entries(database_url) == []


async def test_a_reading_stored_meanwhile_makes_this_one_implausible(database_url, domain):
    # another reading came first (another conversation): 47350 is now below the last one
    with session_scope(database_url) as session:
        mr.submit_reading(
            session,
            customer_number=CLAUDIA,
            contract_number=CLAUDIA_POWER,
            value=Decimal(47500),
            read_on=dt.date(2026, 11, 23),
            today=dt.date(2026, 11, 23),
            confirmed=False,
            channel="web",
            conversation_id="other",
            request_id="req-other",
        )
    outcome = await run(ActionSubmitMeterReading(), submit_tracker(), domain)
    assert outcome.responses == ["utter_mr_not_stored"]
    assert [r.request_id for r in readings(database_url)] == ["req-other"]


async def test_a_lapsed_verification_is_checked_again_before_storing(database_url, domain):
    tracker = submit_tracker(verified_customer=None)
    outcome = await run(ActionSubmitMeterReading(), tracker, domain)
    assert outcome.responses == ["utter_identity_expired"]
    assert outcome.followup == "identity_form"
    assert outcome.slots["pending_request"] == "submit_meter_reading"
    assert readings(database_url) == []


async def test_the_channel_is_stored(database_url, domain):
    tracker = submit_tracker(channel="voice")
    await run(ActionSubmitMeterReading(), tracker, domain)
    assert readings(database_url)[0].channel == "voice"
