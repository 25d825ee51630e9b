"""Unclear messages (action_fallback): clarify, rephrase, and the second time a person."""

from __future__ import annotations

import pytest

from actions.common import response_text
from actions.fallback import CLARIFIABLE, ActionFallback
from tests.actions.conftest import (
    assert_handed_off,
    bot_event,
    handoff_slots,
    make_tracker,
    run,
    user_event,
)

pytestmark = pytest.mark.asyncio


def ranking(*pairs):
    return [{"name": "nlu_fallback", "confidence": 0.7}] + [
        {"name": name, "confidence": confidence} for name, confidence in pairs
    ]


def unclear(text="Abschlag Rechnung irgendwas", pairs=(), language="de", history=(), **kwargs):
    return make_tracker(
        text, "nlu_fallback", ranking=ranking(*pairs), language=language, history=history, **kwargs
    )


TORN = (("ask_bill", 0.41), ("change_advance_payment", 0.38), ("greet", 0.1))


@pytest.mark.parametrize(
    ("language", "titles", "question"),
    [
        ("de", ["Frage zur Rechnung", "Abschlag ändern"], "Worum geht es Ihnen?"),
        ("tr", ["Fatura sorusu", "Aylık ödemeyi (Abschlag) değiştirmek"], "Hangisini kastettiniz?"),
    ],
)
async def test_torn_between_two_requests_offers_both(domain, language, titles, question):
    outcome = await run(ActionFallback(), unclear(pairs=TORN, language=language), domain)
    assert outcome.responses == ["utter_clarify_intent"]
    assert question in outcome.text
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == titles
    assert [b["payload"] for b in buttons] == ["/ask_bill", "/change_advance_payment"]
    assert outcome.slots == {} and outcome.followup is None


@pytest.mark.parametrize(
    "pairs",
    [
        (("affirm", 0.45), ("deny", 0.40)),  # "did you mean no?" helps nobody
        (("ask_bill", 0.60), ("change_advance_payment", 0.20)),  # second one implausible
        (("ask_bill", 0.60),),
        (),
    ],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_otherwise_asks_to_rephrase(domain, pairs, language):
    outcome = await run(ActionFallback(), unclear(pairs=pairs, language=language), domain)
    assert outcome.responses == ["utter_ask_rephrase"]
    assert outcome.text.startswith(
        {
            "de": "Entschuldigung, das habe ich nicht sicher verstanden.",
            "tr": "Özür dilerim, bunu tam anlayamadım.",
        }[language]
    )
    assert outcome.messages[0]["buttons"] == []
    assert outcome.slots == {} and outcome.followup is None


async def test_unclear_message_in_a_form_is_taken_back(domain):
    tracker = unclear("äh", active_loop="identity_form", slots={"requested_slot": "postcode"})
    outcome = await run(ActionFallback(), tracker, domain)
    assert outcome.responses == ["utter_ask_rephrase"]
    assert outcome.events == [{"event": "rewind", "timestamp": None}]


def after_one_fallback(language="de", **kwargs):
    history = [
        user_event("blabla", "nlu_fallback"),
        bot_event("Entschuldigung, das habe ich nicht sicher verstanden."),
    ]
    return unclear(
        "immer noch blabla",
        pairs=TORN,
        language=language,
        history=history,
        sender_id="conv-fallback",
        **kwargs,
    )


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_second_fallback_in_a_row_hands_off(database_url, domain, clock, language):
    tracker = after_one_fallback(language)
    outcome = await run(ActionFallback(), tracker, domain)
    case = assert_handed_off(outcome, database_url, tracker, reason="repeated_fallback")
    assert outcome.responses == ["utter_handoff_open"]  # no third "please rephrase"
    assert outcome.slots == handoff_slots(case)
    assert case.conversation_id == "conv-fallback"
    assert [line["text"] for line in case.transcript if line["from"] == "customer"] == [
        "blabla",
        "immer noch blabla",
    ]


async def test_repeated_fallback_of_a_known_customer(database_url, domain, clock):
    tracker = after_one_fallback(slots={"verified_customer": "10000001"})
    outcome = await run(ActionFallback(), tracker, domain)
    assert_handed_off(
        outcome, database_url, tracker, reason="repeated_fallback", customer_number="10000001"
    )


async def test_fallbacks_with_a_clear_message_between_are_not_repeated(domain):
    history = [user_event("blabla", "nlu_fallback"), user_event("Hallo", "greet")]
    outcome = await run(ActionFallback(), unclear(pairs=TORN, history=history), domain)
    assert outcome.responses == ["utter_clarify_intent"]
    assert outcome.followup is None


async def test_fallback_taken_back_in_a_form_still_counts(database_url, domain, clock):
    history = [
        user_event("äh", "nlu_fallback"),
        bot_event("Entschuldigung ..."),
        {"event": "rewind", "timestamp": None},
    ]
    tracker = unclear(
        "ähm",
        pairs=TORN,
        history=history,
        active_loop="identity_form",
        slots={"requested_slot": "postcode"},
    )
    outcome = await run(ActionFallback(), tracker, domain)
    case = assert_handed_off(outcome, database_url, tracker, reason="repeated_fallback")
    # the form ends instead of taking the message back
    assert outcome.events[0] == {"event": "active_loop", "timestamp": None, "name": None}
    assert {"event": "rewind", "timestamp": None} not in outcome.events
    assert outcome.slots == handoff_slots(case)


async def test_every_offered_request_has_a_button_title_in_both_languages(domain):
    for intent in CLARIFIABLE:
        de = response_text(domain, f"utter_label_{intent}", "de")
        tr = response_text(domain, f"utter_label_{intent}", "tr")
        assert de != f"utter_label_{intent}" and tr != de, intent
