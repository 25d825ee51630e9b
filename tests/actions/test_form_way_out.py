"""No loops: the second unusable answer to the same question offers the way out
(keep it as it is, another value, a person) instead of the same question again
(actions/forms.py), in the advance-payment and the identity form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.advance_payments import ActionSubmitAdvancePayment, ValidateAdvancePaymentForm
from actions.forms import ActionAskFormWayOut
from actions.identity import ActionIdentityDone, ValidateIdentityForm
from tests.actions.conftest import (
    MUELLER_ELECTRICITY,
    changes,
    contract_amount,
    entity,
    make_tracker,
    run,
)

pytestmark = pytest.mark.asyncio

# Sabine Wagner pays 65 € for electricity (72 € recommended)
WAGNER = {"verified_customer": "10000027", "ap_request_id": "req-w"}
WAGNER_ELECTRICITY = "30000041"
AMOUNT = "advance_payment_form:ap_amount"


def amount_answer(text, rejections=0, language="de", intent="inform", requested="ap_amount"):
    """An answer while the form asks for the amount; `rejections` answers were rejected before."""
    slots = {**WAGNER, "ap_contract": WAGNER_ELECTRICITY, "requested_slot": requested}
    if rejections:
        slots |= {"form_rejections": float(rejections), "form_rejected_slot": AMOUNT}
    return make_tracker(
        text, intent, language=language, slots=slots, active_loop="advance_payment_form"
    )


def at_the_way_out(text, intent, language="de"):
    return amount_answer(
        text, rejections=2, language=language, intent=intent, requested="form_way_out"
    )


# --- "65 Euro" twice --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_current_amount_once_asks_again(database_url, domain, language):
    outcome = await run(ValidateAdvancePaymentForm(), amount_answer("65 Euro", 0, language), domain)
    assert outcome.responses == ["utter_amount_unchanged"]
    assert outcome.slots == {
        "ap_amount": None,
        "ap_confirmed": None,
        "form_rejections": 1,
        "form_rejected_slot": AMOUNT,
    }  # no requested_slot: Rasa asks for the amount again


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_current_amount_twice_offers_the_way_out(database_url, domain, language):
    outcome = await run(ValidateAdvancePaymentForm(), amount_answer("65 Euro", 1, language), domain)
    assert outcome.responses == ["utter_amount_unchanged"]  # why, then the way out instead
    assert outcome.slots["form_rejections"] == 2
    assert outcome.slots["requested_slot"] == "form_way_out"
    assert contract_amount(database_url, WAGNER_ELECTRICITY) == Decimal("65.00")


@pytest.mark.parametrize(
    ("language", "question", "titles"),
    [
        (
            "de",
            "Möchten Sie Ihren Abschlag lassen, wie er ist, einen anderen Betrag nennen oder mit "
            "einer Mitarbeiterin oder einem Mitarbeiter sprechen?",
            ["Abschlag so lassen", "Anderen Betrag nennen", "Mit einem Menschen sprechen"],
        ),
        (
            "tr",
            "Aylık ödemeniz (Abschlag) olduğu gibi mi kalsın, başka bir tutar mı söylemek "
            "istersiniz, yoksa bir çalışanımızla mı görüşmek istersiniz?",
            [
                "Aylık ödeme olduğu gibi kalsın",
                "Başka bir tutar söyleyeyim",
                "Bir çalışanla görüşmek",
            ],
        ),
    ],
)
async def test_the_way_out_question_offers_three_buttons(domain, language, question, titles):
    tracker = at_the_way_out("65 Euro", "inform", language)
    outcome = await run(ActionAskFormWayOut(), tracker, domain)
    assert outcome.responses == ["utter_ask_form_way_out_advance_payment_form"]
    assert question in outcome.text
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == titles
    assert [b["payload"] for b in buttons] == ["/deny", "/affirm", "/request_human"]
    assert outcome.events == []


async def test_a_form_without_its_own_wording_gets_the_general_one(domain):
    tracker = make_tracker("x", "inform", active_loop="some_other_form")
    outcome = await run(ActionAskFormWayOut(), tracker, domain)
    assert outcome.responses == ["utter_ask_form_way_out"]
    assert [b["title"] for b in outcome.messages[0]["buttons"]] == [
        "Alles so lassen",
        "Andere Angabe machen",
        "Mit einem Menschen sprechen",
    ]


@pytest.mark.parametrize(("text", "language"), [("/deny", "de"), ("olduğu gibi kalsın", "tr")])
async def test_keep_it_as_it_is_ends_the_form_and_changes_nothing(
    database_url, domain, text, language
):
    outcome = await run(
        ValidateAdvancePaymentForm(), at_the_way_out(text, "deny", language), domain
    )
    assert outcome.slots == {
        "form_cancelled": True,
        "form_rejections": None,
        "form_rejected_slot": None,
        "requested_slot": None,
    }
    assert outcome.messages == []
    # the form ends; the submit action says that nothing was changed
    ended = make_tracker(
        text,
        "deny",
        language=language,
        slots={**WAGNER, "ap_contract": WAGNER_ELECTRICITY, "form_cancelled": True},
    )
    said = await run(ActionSubmitAdvancePayment(), ended, domain)
    assert said.responses == ["utter_change_cancelled"]
    assert ("nichts geändert" if language == "de" else "hiçbir şeyi değiştirmedim") in said.text
    assert changes(database_url) == []
    assert contract_amount(database_url, WAGNER_ELECTRICITY) == Decimal("65.00")


async def test_another_value_asks_the_question_again(database_url, domain):
    outcome = await run(ValidateAdvancePaymentForm(), at_the_way_out("/affirm", "affirm"), domain)
    assert outcome.slots == {"form_rejections": None, "form_rejected_slot": None}
    assert outcome.messages == []  # Rasa asks the first open question: the amount


@pytest.mark.parametrize(("text", "amount"), [("70 Euro", "70.00"), ("ja, 72 €", "72.00")])
async def test_a_new_amount_at_the_way_out_is_taken(database_url, domain, text, amount):
    intent = "affirm" if text.startswith("ja") else "inform"
    outcome = await run(ValidateAdvancePaymentForm(), at_the_way_out(text, intent), domain)
    assert outcome.slots["ap_amount"] == amount
    assert outcome.slots["form_rejections"] is None  # answered: the count starts again
    assert "requested_slot" not in outcome.slots  # Rasa asks the next question (confirmation)
    assert outcome.messages == []


async def test_the_same_amount_at_the_way_out_offers_it_again(database_url, domain):
    outcome = await run(ValidateAdvancePaymentForm(), at_the_way_out("65", "inform"), domain)
    assert outcome.responses == ["utter_amount_unchanged"]
    assert outcome.slots["form_rejections"] == 3
    assert outcome.slots["requested_slot"] == "form_way_out"


async def test_a_question_at_the_way_out_is_left_to_the_rules(database_url, domain):
    outcome = await run(
        ValidateAdvancePaymentForm(), at_the_way_out("Bist du ein Bot?", "bot_challenge"), domain
    )
    assert outcome.messages == []
    assert not any(outcome.slots.get(s) for s in ("ap_amount", "form_cancelled"))


# --- the other questions of the change form ------------------------------------------------


MUELLER = {"verified_customer": "10000002", "ap_request_id": "req-m"}


@pytest.mark.parametrize(
    ("requested", "slots", "text", "response"),
    [
        ("ap_contract", {}, "Wasser", "utter_invalid_ap_contract"),
        (
            "ap_amount",
            {"ap_contract": MUELLER_ELECTRICITY},
            "keine Ahnung",
            "utter_invalid_ap_amount",
        ),
        (
            "ap_amount",
            {"ap_contract": MUELLER_ELECTRICITY},
            "2000 Euro",
            "utter_amount_out_of_range",
        ),
        (
            "ap_confirmed",
            {"ap_contract": MUELLER_ELECTRICITY, "ap_amount": "120.00", "ap_read_back": "120.00"},
            "vielleicht",
            "utter_please_confirm",
        ),
    ],
)
async def test_every_question_of_the_change_offers_the_way_out_the_second_time(
    database_url, domain, requested, slots, text, response
):
    form = ValidateAdvancePaymentForm()

    def answer(**more):
        return make_tracker(
            text,
            "inform",
            slots={**MUELLER, **slots, "requested_slot": requested, **more},
            active_loop="advance_payment_form",
        )

    first = await run(form, answer(), domain)
    assert first.responses == [response]
    assert first.slots["form_rejections"] == 1
    assert "requested_slot" not in first.slots
    second = await run(
        form,
        answer(form_rejections=1.0, form_rejected_slot=first.slots["form_rejected_slot"]),
        domain,
    )
    assert second.responses == [response]
    assert second.slots["requested_slot"] == "form_way_out"


async def test_a_rejection_for_another_question_starts_counting_again(database_url, domain):
    tracker = make_tracker(
        "Wasser",
        "inform",
        slots={
            **MUELLER,
            "requested_slot": "ap_contract",
            "form_rejections": 1.0,
            "form_rejected_slot": AMOUNT,
        },
        active_loop="advance_payment_form",
    )
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots["form_rejections"] == 1
    assert outcome.slots["form_rejected_slot"] == "advance_payment_form:ap_contract"
    assert "requested_slot" not in outcome.slots


async def test_a_contract_of_another_customer_twice_offers_the_way_out(database_url, domain):
    tracker = make_tracker(
        "30000001",
        "inform",
        entities=[entity("contract_number", "30000001")],
        slots={
            **MUELLER,
            "requested_slot": "ap_contract",
            "form_rejections": 1.0,
            "form_rejected_slot": "advance_payment_form:ap_contract",
        },
        active_loop="advance_payment_form",
    )
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.responses == ["utter_invalid_ap_contract"]
    assert outcome.slots["requested_slot"] == "form_way_out"


# --- the identity check -----------------------------------------------------------------


def identity_answer(text, requested="customer_number", language="de", intent="inform", **slots):
    return make_tracker(
        text,
        intent,
        language=language,
        slots={"requested_slot": requested, **slots},
        active_loop="identity_form",
    )


@pytest.mark.parametrize(
    ("requested", "language"), [("customer_number", "tr"), ("postcode", "de"), ("birth_date", "de")]
)
async def test_an_unusable_identity_value_twice_offers_the_way_out(
    database_url, domain, requested, language
):
    form = ValidateIdentityForm()
    first = await run(form, identity_answer("weiß nicht", requested, language), domain)
    assert first.responses == [f"utter_invalid_{requested}"]
    assert "requested_slot" not in first.slots
    second = await run(
        form,
        identity_answer(
            "weiß nicht",
            requested,
            language,
            form_rejections=1.0,
            form_rejected_slot=f"identity_form:{requested}",
        ),
        domain,
    )
    assert second.responses == [f"utter_invalid_{requested}"]
    assert second.slots["requested_slot"] == "form_way_out"


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_identity_way_out_offers_to_stop(domain, language):
    tracker = identity_answer("x", "form_way_out", language)
    outcome = await run(ActionAskFormWayOut(), tracker, domain)
    assert outcome.responses == ["utter_ask_form_way_out_identity_form"]
    assert [b["title"] for b in outcome.messages[0]["buttons"]] == (
        ["Abbrechen", "Noch einmal versuchen", "Mit einem Menschen sprechen"]
        if language == "de"
        else ["Vazgeç", "Tekrar deneyeyim", "Bir çalışanla görüşmek"]
    )


async def test_stopping_the_identity_check_at_the_way_out(database_url, domain):
    way_out = {"form_rejections": 2.0, "form_rejected_slot": "identity_form:customer_number"}
    outcome = await run(
        ValidateIdentityForm(),
        identity_answer("/deny", "form_way_out", intent="deny", **way_out),
        domain,
    )
    assert outcome.slots["form_cancelled"] is True and outcome.slots["requested_slot"] is None
    done = make_tracker(
        "/deny", "deny", slots={"form_cancelled": True, "pending_request": "ask_bill"}
    )
    said = await run(ActionIdentityDone(), done, domain)
    assert said.responses == ["utter_request_cancelled"]
    assert said.slots["form_rejections"] is None


async def test_identity_values_given_at_the_way_out_are_checked(database_url, domain):
    way_out = {"form_rejections": 2.0, "form_rejected_slot": "identity_form:customer_number"}
    outcome = await run(
        ValidateIdentityForm(),
        identity_answer("10000002 44137 12.03.1975", "form_way_out", **way_out),
        domain,
    )
    assert outcome.slots["verified_customer"] == "10000002"
    assert outcome.slots["form_rejections"] is None
