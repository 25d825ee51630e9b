"""Changing the monthly advance payment: start, form validation, questions, submit."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from actions.advance_payments import (
    FORM_SLOTS,
    ActionAskApAmount,
    ActionAskApConfirmed,
    ActionAskApContract,
    ActionStartAdvancePayment,
    ActionSubmitAdvancePayment,
    ValidateAdvancePaymentForm,
)
from actions.common import today
from tests.actions.conftest import (
    MUELLER_ELECTRICITY,
    MUELLER_GAS,
    SUNDAY,
    YILMAZ_ELECTRICITY,
    assert_handed_off,
    changes,
    contract_amount,
    entity,
    eur,
    expected_effective_date,
    handoff_slots,
    make_tracker,
    run,
    slot_event,
)

pytestmark = pytest.mark.asyncio

# the way-out bookkeeping (actions/forms.py) is forgotten with the form's slots
WAY_OUT_RESET = {"form_rejections": None, "form_rejected_slot": None}
RESET = {**{s: None for s in FORM_SLOTS}, "form_cancelled": None, **WAY_OUT_RESET}
MUELLER = {"verified_customer": "10000002", "ap_request_id": "req-1"}


def form_tracker(text, intent="inform", language="de", entities=(), **slots):
    """A message while the advance payment form is active (Müller by default)."""
    return make_tracker(
        text,
        intent,
        entities=entities,
        language=language,
        slots={**MUELLER, **slots},
        active_loop="advance_payment_form",
    )


def activation_tracker(customer, language="de", **prefilled):
    """What the form validation sees when the form starts (after the identity check)."""
    text = (
        "Ich möchte meinen Abschlag ändern"
        if language == "de"
        else "Abschlağımı değiştirmek istiyorum"
    )
    return make_tracker(
        text,
        "change_advance_payment",
        language=language,
        slots={"verified_customer": customer, **prefilled},
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "advance_payment_form", "timestamp": None},
            *(slot_event(k, v) for k, v in prefilled.items()),
        ],
        active_loop="advance_payment_form",
    )


# --- action_start_advance_payment ------------------------------------------------


async def test_start_asks_for_identity_first_and_keeps_the_amount(domain):
    tracker = make_tracker(
        "Ich möchte meinen Abschlag auf 120 Euro ändern",
        "change_advance_payment",
        slots={"ap_contract": "30000009", "ap_confirmed": True},
    )
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.slots == {
        **RESET,
        "ap_amount": "120.00",
        "pending_request": "change_advance_payment",
    }
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


async def test_start_for_a_verified_customer_opens_the_form(domain):
    tracker = make_tracker(
        "Abschlağımı 92,50 avro yapmak istiyorum",
        "change_advance_payment",
        language="tr",
        slots={"verified_customer": "10000001"},
    )
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.slots == {**RESET, "ap_amount": "92.50"}
    assert outcome.followup == "advance_payment_form"


async def test_start_after_a_locked_identity_check_hands_off(database_url, domain, clock):
    tracker = make_tracker(
        "Abschlag ändern", "change_advance_payment", slots={"identity_locked": True}
    )
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    case = assert_handed_off(outcome, database_url, tracker, reason="identity_failed")
    assert outcome.responses == ["utter_handoff_open"]
    assert outcome.slots == {**RESET, **handoff_slots(case)}


@pytest.mark.parametrize(
    "text",
    ["Ich möchte meinen Abschlag um 20 Euro erhöhen", "Abschlağımı 20 avro artırmak istiyorum"],
)
async def test_relative_change_is_not_taken_as_the_new_amount(domain, text):
    tracker = make_tracker(text, "change_advance_payment", slots={"verified_customer": "10000002"})
    outcome = await run(ActionStartAdvancePayment(), tracker, domain)
    assert outcome.slots.get("ap_amount") != "20.00"


# --- the form: contract -------------------------------------------------------------


async def test_single_contract_is_chosen_without_asking(database_url, domain):
    tracker = activation_tracker("10000001", language="tr")
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots["ap_contract"] == YILMAZ_ELECTRICITY
    assert re.fullmatch(r"[0-9a-f]{32}", outcome.slots["ap_request_id"])
    assert outcome.messages == []


async def test_several_contracts_are_not_guessed(database_url, domain):
    outcome = await run(ValidateAdvancePaymentForm(), activation_tracker("10000002"), domain)
    assert "ap_contract" not in outcome.slots  # Rasa asks with action_ask_ap_contract
    assert outcome.messages == []


async def test_each_run_of_the_form_has_its_own_request_id(database_url, domain):
    form = ValidateAdvancePaymentForm()
    first = await run(form, activation_tracker("10000002"), domain)
    second = await run(form, activation_tracker("10000002"), domain)
    assert first.slots["ap_request_id"] != second.slots["ap_request_id"]
    # a redelivered message in the same run keeps the id
    again = await run(form, form_tracker("Gas", requested_slot="ap_contract"), domain)
    assert "ap_request_id" not in again.slots


@pytest.mark.parametrize(
    ("text", "language", "entities", "expected"),
    [
        ("Gas", "de", (), MUELLER_GAS),
        ("den Stromvertrag bitte", "de", (), MUELLER_ELECTRICITY),
        ("doğalgaz", "tr", (), MUELLER_GAS),
        ("Vertrag 30000003", "de", (), MUELLER_GAS),
        (
            '/inform{"contract_number": "30000002"}',
            "de",
            [entity("contract_number", MUELLER_ELECTRICITY)],
            MUELLER_ELECTRICITY,
        ),
        ("elektrik", "tr", [entity("commodity", "electricity")], MUELLER_ELECTRICITY),
    ],
)
async def test_contract_choice(database_url, domain, text, language, entities, expected):
    tracker = form_tracker(text, language=language, entities=entities, requested_slot="ap_contract")
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots == {"ap_contract": expected}
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("Wasser", ()),
        ("weiß nicht", ()),
        # a contract of another customer is not offered, even by number
        ("30000001", [entity("contract_number", YILMAZ_ELECTRICITY)]),
    ],
)
async def test_unknown_contract_is_not_accepted(database_url, domain, text, entities):
    tracker = form_tracker(text, entities=entities, requested_slot="ap_contract")
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.responses == ["utter_invalid_ap_contract"]
    assert not outcome.slots.get("ap_contract")


@pytest.mark.parametrize(
    ("text", "requested", "slots"),
    [
        ("Wasser", "ap_contract", {}),
        ("keine Ahnung", "ap_amount", {"ap_contract": MUELLER_ELECTRICITY}),
        ("vielleicht", "ap_confirmed", {"ap_contract": MUELLER_ELECTRICITY, "ap_amount": "120.00"}),
    ],
)
async def test_unusable_answer_is_counted_so_rasa_keeps_the_reply(
    database_url, domain, text, requested, slots
):
    tracker = form_tracker(text, requested_slot=requested, **slots)
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots.get("form_rejections") == 1
    assert outcome.slots.get("form_rejected_slot") == f"advance_payment_form:{requested}"


async def test_amount_named_before_the_contract_is_checked_with_the_contract(database_url, domain):
    form = ValidateAdvancePaymentForm()
    # 70 € is fine for gas (76 €, at least 68 €) ...
    gas = await run(
        form, form_tracker("Gas", requested_slot="ap_contract", ap_amount="70.00"), domain
    )
    assert gas.slots == {"ap_contract": MUELLER_GAS, "ap_amount": "70.00"}
    # ... but too low for electricity (100 €, at least 87,20 €)
    power = await run(
        form, form_tracker("Strom", requested_slot="ap_contract", ap_amount="70.00"), domain
    )
    assert power.responses == ["utter_reduction_too_low"]
    assert power.slots["ap_rejected"] is True
    assert power.slots["requested_slot"] is None


async def test_amount_named_at_the_start_is_checked_for_a_single_contract(database_url, domain):
    tracker = activation_tracker("10000001", language="tr", ap_amount="60.00")
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.responses == ["utter_reduction_too_low"]
    assert eur("92.00", "tr") in outcome.text and eur("73.60", "tr") in outcome.text
    assert outcome.slots["ap_rejected"] is True


# --- the form: amount -------------------------------------------------------------


# a first rejected amount is counted (the second one offers the way out)
REJECTED_AMOUNT = {"form_rejections": 1, "form_rejected_slot": "advance_payment_form:ap_amount"}


def amount_tracker(text, language="de", intent="inform", contract=MUELLER_ELECTRICITY):
    return form_tracker(
        text, intent, language=language, requested_slot="ap_amount", ap_contract=contract
    )


@pytest.mark.parametrize(
    ("text", "language", "amount"),
    [
        ("120 Euro", "de", "120.00"),
        ("87,20 €", "de", "87.20"),
        ("327", "de", "327.00"),
        ("95,50 avro", "tr", "95.50"),
        ("1.000,00 €", "de", None),
    ],
)
async def test_allowed_amounts_are_taken(database_url, domain, text, language, amount):
    outcome = await run(ValidateAdvancePaymentForm(), amount_tracker(text, language), domain)
    if amount is None:  # above three times the recommendation
        assert outcome.responses == ["utter_amount_out_of_range"]
        return
    assert outcome.slots == {"ap_amount": amount}
    assert outcome.messages == []


async def test_an_increase_is_never_too_low(database_url, domain):
    # customer 10000013 pays 80 € for gas, 102 € recommended (80 % = 81,60 €)
    tracker = make_tracker(
        "81 Euro",
        "inform",
        active_loop="advance_payment_form",
        slots={
            "verified_customer": "10000013",
            "ap_request_id": "r",
            "ap_contract": "30000020",
            "requested_slot": "ap_amount",
        },
    )
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots == {"ap_amount": "81.00"}


@pytest.mark.parametrize("language", ["de", "tr"])
@pytest.mark.parametrize("text", ["4,99 €", "327,01 Euro", "1000"])
async def test_amount_out_of_range_names_the_limits(database_url, domain, language, text):
    outcome = await run(ValidateAdvancePaymentForm(), amount_tracker(text, language), domain)
    assert outcome.responses == ["utter_amount_out_of_range"]
    # between 5 € and three times the recommended 109 €
    assert eur("5", language) in outcome.text and eur("327", language) in outcome.text
    assert outcome.slots == {"ap_amount": None, "ap_confirmed": None, **REJECTED_AMOUNT}


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_unchanged_amount_is_asked_again(database_url, domain, language):
    outcome = await run(ValidateAdvancePaymentForm(), amount_tracker("100 €", language), domain)
    assert outcome.responses == ["utter_amount_unchanged"]
    assert outcome.slots == {"ap_amount": None, "ap_confirmed": None, **REJECTED_AMOUNT}


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_reduction_below_80_percent_goes_to_a_person(database_url, domain, language):
    outcome = await run(ValidateAdvancePaymentForm(), amount_tracker("87,19 €", language), domain)
    assert outcome.responses == ["utter_reduction_too_low"]
    assert eur("109", language) in outcome.text  # recommended
    assert eur("87.20", language) in outcome.text  # lowest without review
    assert outcome.slots == {"ap_amount": None, "ap_rejected": True, "requested_slot": None}
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("100.00")


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_no_amount_in_the_answer(database_url, domain, language):
    outcome = await run(
        ValidateAdvancePaymentForm(), amount_tracker("weiß nicht", language), domain
    )
    assert outcome.responses == ["utter_invalid_ap_amount"]
    assert ("90 Euro" if language == "de" else "90 avro") in outcome.text
    assert not outcome.slots.get("ap_amount")


async def test_question_during_the_amount_is_left_to_the_rules(database_url, domain):
    tracker = amount_tracker("Bist du ein Bot? 90 Euro", intent="bot_challenge")
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.events == [] and outcome.messages == []


# --- the form: confirmation -----------------------------------------------------------


def confirm_tracker(text, intent, language="de"):
    return form_tracker(
        text,
        intent,
        language=language,
        requested_slot="ap_confirmed",
        ap_contract=MUELLER_ELECTRICITY,
        ap_amount="120.00",
        ap_read_back="120.00",
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [("ja", "de"), ("Ja, 120 Euro", "de"), ("evet", "tr"), ("evet, 120 avro", "tr")],
)
async def test_yes_confirms(database_url, domain, text, language):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker(text, "affirm", language), domain
    )
    assert outcome.slots == {"ap_confirmed": True}
    assert outcome.messages == []


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_unclear_answer_asks_for_yes_or_no(database_url, domain, language):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker("hm", "inform", language), domain
    )
    assert outcome.responses == ["utter_please_confirm"]
    assert "ap_confirmed" not in outcome.slots


async def test_new_amount_at_the_read_back_is_taken_and_read_back_again(database_url, domain):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker("110 Euro bitte", "inform"), domain
    )
    assert outcome.slots == {"ap_amount": "110.00", "ap_confirmed": None}


async def test_new_amount_at_the_read_back_is_not_an_unclear_answer(database_url, domain):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker("110 Euro bitte", "inform"), domain
    )
    assert "utter_please_confirm" not in outcome.responses


async def test_no_with_a_new_amount_corrects_instead_of_cancelling(database_url, domain):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker("Nein, lieber 110 Euro", "deny"), domain
    )
    assert outcome.slots.get("ap_amount") == "110.00"
    assert outcome.slots.get("requested_slot", "") is not None  # the form goes on


async def test_new_amount_at_the_read_back_is_checked_too(database_url, domain):
    outcome = await run(
        ValidateAdvancePaymentForm(), confirm_tracker("doch 400 Euro", "inform"), domain
    )
    assert "utter_amount_out_of_range" in outcome.responses
    assert outcome.slots["ap_amount"] is None and outcome.slots["ap_confirmed"] is None


# --- questions of the form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "titles"),
    [
        ("de", [f"Strom (30000002): {eur('100', 'de')}", f"Gas (30000003): {eur('76', 'de')}"]),
        (
            "tr",
            [f"elektrik (30000002): {eur('100', 'tr')}", f"doğalgaz (30000003): {eur('76', 'tr')}"],
        ),
    ],
)
async def test_contract_question_offers_a_button_per_contract(
    database_url, domain, language, titles
):
    tracker = form_tracker("", language=language, requested_slot="ap_contract")
    outcome = await run(ActionAskApContract(), tracker, domain)
    assert outcome.responses == ["utter_ask_ap_contract"]
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == titles
    payloads = [b["payload"] for b in buttons]
    assert all(p.startswith("/inform{") for p in payloads)
    assert [json.loads(p[len("/inform") :]) for p in payloads] == [
        {"contract_number": MUELLER_ELECTRICITY},
        {"contract_number": MUELLER_GAS},
    ]
    assert outcome.events == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            f"Ihr Abschlag für Gas beträgt zurzeit {eur('76', 'de')} im Monat; empfohlen sind "
            f"nach Ihrem Verbrauch {eur('85', 'de')}.",
        ),
        (
            "tr",
            f"doğalgaz için aylık ödemeniz (Abschlag) şu an {eur('76', 'tr')}; tüketiminize göre "
            f"önerilen tutar {eur('85', 'tr')}.",
        ),
    ],
)
async def test_amount_question_names_current_and_recommended_amount(
    database_url, domain, language, expected
):
    tracker = form_tracker("Gas", language=language, ap_contract=MUELLER_GAS)
    outcome = await run(ActionAskApAmount(), tracker, domain)
    assert outcome.responses == ["utter_ask_ap_amount"]
    assert outcome.text.startswith(expected)


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_read_back_before_anything_is_stored(database_url, domain, language):
    tracker = form_tracker(
        "120", language=language, ap_contract=MUELLER_ELECTRICITY, ap_amount="120.00"
    )
    outcome = await run(ActionAskApConfirmed(), tracker, domain)
    effective = expected_effective_date(15, today()).strftime("%d.%m.%Y")
    assert outcome.responses == ["utter_ask_ap_confirmed"]
    message = outcome.messages[0]
    assert message["new_amount"] == eur("120", language)
    assert message["current_amount"] == eur("100", language)
    assert message["effective_on"] == effective
    assert message["contract_number"] == MUELLER_ELECTRICITY
    assert "{" not in outcome.text and effective in outcome.text
    assert ("Strom" if language == "de" else "elektrik") in outcome.text
    assert changes(database_url) == []
    assert outcome.slots == {"ap_read_back": "120.00"}


# --- action_submit_advance_payment ----------------------------------------------------


def submit_tracker(language="de", metadata=None, sender_id="conv-42", **slots):
    values = {
        **MUELLER,
        "ap_contract": MUELLER_ELECTRICITY,
        "ap_amount": "120.00",
        "ap_confirmed": True,
        "requested_slot": None,
        **slots,
    }
    return make_tracker(
        "ja",
        "affirm",
        language=language,
        slots=values,
        metadata=metadata or {},
        sender_id=sender_id,
    )


SUBMIT_RESET = RESET


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_confirmed_change_is_stored_with_an_audit_record(database_url, domain, language):
    tracker = submit_tracker(language, metadata={"channel": "whatsapp"})
    outcome = await run(ActionSubmitAdvancePayment(), tracker, domain)

    effective = expected_effective_date(15, today())
    assert outcome.responses == ["utter_advance_payment_changed"]
    assert eur("120", language) in outcome.text
    assert effective.strftime("%d.%m.%Y") in outcome.text
    assert ("Strom" if language == "de" else "elektrik") in outcome.text
    assert outcome.slots == SUBMIT_RESET

    [change] = changes(database_url)
    assert change.contract.contract_number == MUELLER_ELECTRICITY
    assert (change.old_amount, change.new_amount) == (Decimal("100.00"), Decimal("120.00"))
    assert isinstance(change.new_amount, Decimal)
    assert change.effective_on == effective
    assert change.channel == "whatsapp"
    assert change.conversation_id == "conv-42"
    assert change.request_id == "req-1"
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("120.00")


async def test_channel_falls_back_to_rasa_input_channel(database_url, domain):
    tracker = submit_tracker()
    tracker.events[-1]["input_channel"] = "socketio"
    await run(ActionSubmitAdvancePayment(), tracker, domain)
    assert changes(database_url)[0].channel == "socketio"


async def test_redelivered_confirmation_stores_once(database_url, domain):
    first = await run(ActionSubmitAdvancePayment(), submit_tracker(), domain)
    again = await run(ActionSubmitAdvancePayment(), submit_tracker(), domain)
    assert len(changes(database_url)) == 1
    assert again.texts == first.texts  # the customer reads the same confirmation
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("120.00")


async def test_a_second_request_is_a_second_change(database_url, domain):
    await run(ActionSubmitAdvancePayment(), submit_tracker(), domain)
    await run(
        ActionSubmitAdvancePayment(),
        submit_tracker(ap_request_id="req-2", ap_amount="130.00"),
        domain,
    )
    rows = changes(database_url)
    assert [(r.old_amount, r.new_amount) for r in rows] == [
        (Decimal("100.00"), Decimal("120.00")),
        (Decimal("120.00"), Decimal("130.00")),
    ]


@pytest.mark.parametrize(
    "slots",
    [
        {"form_cancelled": True},
        {"ap_confirmed": False},
        {"ap_confirmed": None},
        {"ap_confirmed": False, "form_cancelled": True},
    ],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_cancelled_change_stores_nothing(database_url, domain, slots, language):
    outcome = await run(ActionSubmitAdvancePayment(), submit_tracker(language, **slots), domain)
    assert outcome.responses == ["utter_change_cancelled"]
    assert outcome.text.startswith(
        {"de": "In Ordnung, ich habe nichts geändert.", "tr": "Tamam, hiçbir şeyi değiştirmedim."}[
            language
        ]
    )
    assert outcome.slots == SUBMIT_RESET
    assert changes(database_url) == []
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("100.00")


@pytest.mark.parametrize(("language", "now", "open_"), [("de", SUNDAY, False), ("tr", None, True)])
async def test_rejected_reduction_is_handed_to_a_person(
    database_url, domain, clock, language, now, open_
):
    if now is not None:
        clock(now)
    tracker = submit_tracker(language, ap_rejected=True, ap_amount=None, ap_confirmed=None)
    outcome = await run(ActionSubmitAdvancePayment(), tracker, domain)
    case = assert_handed_off(
        outcome,
        database_url,
        tracker,
        reason="reduction_rejected",
        customer_number="10000002",
        agents_available=open_,
    )
    # utter_reduction_too_low already explained why; only the handoff is said
    assert outcome.responses == ["utter_handoff_open" if open_ else "utter_handoff_closed"]
    assert case.conversation_id == "conv-42"
    assert outcome.slots == {**SUBMIT_RESET, **handoff_slots(case)}
    assert changes(database_url) == []
    assert contract_amount(database_url, MUELLER_ELECTRICITY) == Decimal("100.00")
