"""Identity check: the identity form's validation and what happens after it."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ActionIdentityDone, ValidateIdentityForm, require_identity
from tests.actions.conftest import (
    MONDAY_MORNING,
    MUELLER,
    PAUSE,
    SUNDAY,
    YILMAZ,
    assert_handed_off,
    cases,
    handoff_slots,
    make_tracker,
    run,
)

pytestmark = pytest.mark.asyncio

IDENTITY = ("customer_number", "postcode", "birth_date")


def identity_tracker(text, intent="inform", language="de", **slots):
    slots.setdefault("requested_slot", "customer_number")
    return make_tracker(text, intent, slots=slots, language=language, active_loop="identity_form")


@pytest.mark.parametrize(
    ("text", "language", "customer"),
    [
        ("10000002 44137 12.03.1975", "de", MUELLER),
        ("Geburtsdatum 12. März 1975, PLZ 44137, Kundennummer 1000 0002", "de", MUELLER),
        ("Müşteri numaram 10000001, posta kodu 47051, doğum tarihim 12 Nisan 1980", "tr", YILMAZ),
    ],
)
async def test_all_three_values_in_one_message_verify(
    database_url, domain, text, language, customer
):
    outcome = await run(ValidateIdentityForm(), identity_tracker(text, language=language), domain)
    assert outcome.slots == {
        **customer,
        "verified_customer": customer["customer_number"],
        "requested_slot": None,
    }
    assert outcome.messages == []  # action_identity_done thanks the customer


async def test_values_one_at_a_time_are_kept_until_complete(database_url, domain):
    form = ValidateIdentityForm()
    first = await run(form, identity_tracker("Meine Kundennummer ist 10000002"), domain)
    assert first.slots == {"customer_number": "10000002"}

    second = await run(
        form,
        identity_tracker("44137", requested_slot="postcode", customer_number="10000002"),
        domain,
    )
    assert second.slots == {"postcode": "44137"}

    third = await run(
        form,
        identity_tracker(
            "12.03.1975", requested_slot="birth_date", customer_number="10000002", postcode="44137"
        ),
        domain,
    )
    assert third.slots["verified_customer"] == "10000002"
    assert third.slots["requested_slot"] is None


WRONG = {
    "postcode": "10000002 44139 12.03.1975",
    "birth date": "10000002 44137 13.03.1975",
    "customer number": "10000003 44137 12.03.1975",
    "unknown customer": "19999999 44137 12.03.1975",
}


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_wrong_data_never_says_which_value_was_wrong(database_url, domain, language):
    outcomes = {
        name: await run(ValidateIdentityForm(), identity_tracker(text, language=language), domain)
        for name, text in WRONG.items()
    }
    texts = {name: outcome.texts for name, outcome in outcomes.items()}
    assert len({tuple(t) for t in texts.values()}) == 1, texts  # the same reply for every case
    for outcome in outcomes.values():
        assert outcome.responses == ["utter_identity_mismatch"]
        # all values are cleared (none is confirmed as right) and asked again
        assert outcome.slots == {
            "customer_number": None,
            "postcode": None,
            "birth_date": None,
            "identity_attempts": 1.0,
            "requested_slot": "customer_number",
        }
    reply = outcomes["postcode"].text
    if language == "de":
        assert all(word in reply for word in ("Kundennummer", "Postleitzahl", "Geburtsdatum"))
    else:
        assert all(word in reply for word in ("müşteri numaranızı", "posta kodunuzu", "doğum"))


async def test_second_failure_counts_on(database_url, domain):
    outcome = await run(
        ValidateIdentityForm(), identity_tracker(WRONG["postcode"], identity_attempts=1.0), domain
    )
    assert outcome.responses == ["utter_identity_mismatch"]
    assert outcome.slots["identity_attempts"] == 2.0
    assert "identity_locked" not in outcome.slots


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_third_failure_locks_the_check(database_url, domain, language):
    tracker = identity_tracker(WRONG["birth date"], language=language, identity_attempts=2.0)
    outcome = await run(ValidateIdentityForm(), tracker, domain)
    assert outcome.slots["identity_locked"] is True
    assert outcome.slots["identity_attempts"] == 3.0
    assert outcome.slots["requested_slot"] is None  # the form ends
    assert "verified_customer" not in outcome.slots
    assert all(outcome.slots[s] is None for s in IDENTITY)
    assert outcome.messages == []  # action_identity_done explains and hands over


async def test_locked_check_accepts_no_more_values(database_url, domain):
    tracker = identity_tracker(
        "10000002 44137 12.03.1975", identity_locked=True, identity_attempts=3.0
    )
    outcome = await run(ValidateIdentityForm(), tracker, domain)
    assert "verified_customer" not in outcome.slots


@pytest.mark.parametrize(
    ("requested", "language", "response", "text"),
    [
        ("customer_number", "de", "utter_invalid_customer_number", "acht Ziffern"),
        ("postcode", "de", "utter_invalid_postcode", "fünf Ziffern"),
        ("birth_date", "tr", "utter_invalid_birth_date", "gün, ay ve yıl"),
    ],
)
async def test_unusable_answer_explains_the_expected_format(
    database_url, domain, requested, language, response, text
):
    tracker = identity_tracker("weiß ich nicht", requested_slot=requested, language=language)
    outcome = await run(ValidateIdentityForm(), tracker, domain)
    assert outcome.responses == [response]
    assert text in outcome.text
    assert not any(outcome.slots.get(s) for s in IDENTITY)


async def test_unusable_answer_is_counted_so_rasa_keeps_the_reply(database_url, domain):
    tracker = identity_tracker("weiß ich nicht", requested_slot="postcode")
    outcome = await run(ValidateIdentityForm(), tracker, domain)
    assert outcome.slots.get("form_rejections") == 1
    assert outcome.slots.get("form_rejected_slot") == "identity_form:postcode"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Bist du ein Bot?", "bot_challenge"),
        ("Wann haben Sie geöffnet? 10000002", "faq"),
        ("Ich will einen Menschen", "request_human"),
    ],
)
async def test_questions_during_the_check_are_left_to_the_rules(database_url, domain, text, intent):
    outcome = await run(ValidateIdentityForm(), identity_tracker(text, intent), domain)
    assert outcome.events == [] and outcome.messages == []


# --- action_identity_done --------------------------------------------------------


def done_tracker(language="de", **slots):
    return make_tracker("12.03.1975", "inform", slots={**MUELLER, **slots}, language=language)


CLEARED = {
    "customer_number": None,
    "postcode": None,
    "birth_date": None,
    "form_cancelled": None,
    "form_rejections": None,
    "form_rejected_slot": None,
    "pending_request": None,
}


@pytest.mark.parametrize(
    ("pending", "followup"),
    [
        ("change_advance_payment", "advance_payment_form"),
        ("ask_bill", "action_show_bill"),
        (None, None),
    ],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_verified_customer_continues_the_request(domain, pending, followup, language):
    tracker = done_tracker(language, verified_customer="10000002", pending_request=pending)
    outcome = await run(ActionIdentityDone(), tracker, domain)
    assert outcome.responses == ["utter_identity_verified"]
    assert (
        outcome.text
        == {
            "de": "Vielen Dank, Sie sind identifiziert.",
            "tr": "Teşekkürler, kimliğiniz doğrulandı.",
        }[language]
    )
    assert outcome.slots == CLEARED  # no identity data stays in the conversation
    assert outcome.followup == followup


@pytest.mark.parametrize(
    ("language", "now", "open_"), [("de", MONDAY_MORNING, True), ("tr", SUNDAY, False)]
)
async def test_locked_customer_is_handed_to_a_person(
    database_url, domain, clock, language, now, open_
):
    clock(now)
    tracker = done_tracker(language, identity_locked=True, pending_request="change_advance_payment")
    outcome = await run(ActionIdentityDone(), tracker, domain)
    case = assert_handed_off(
        outcome, database_url, tracker, reason="identity_failed", agents_available=open_
    )
    assert outcome.responses == [
        "utter_identity_locked",
        "utter_handoff_open" if open_ else "utter_handoff_closed",
    ]
    assert ("Mitarbeiter" if language == "de" else "çalışanımıza") in outcome.texts[0]
    assert case.customer_number is None  # nobody was identified
    assert outcome.slots == {**CLEARED, **handoff_slots(case)}


@pytest.mark.parametrize("slots", [{"form_cancelled": True}, {}])
async def test_cancelled_or_unfinished_check_continues_nothing(domain, slots):
    tracker = done_tracker("tr", pending_request="ask_bill", **slots)
    outcome = await run(ActionIdentityDone(), tracker, domain)
    assert outcome.responses == ["utter_request_cancelled"]
    assert outcome.text.startswith("Tamam, işlemi iptal ettim.")
    assert outcome.slots == CLEARED
    assert outcome.followup is None


async def test_require_identity_gates_requests():
    dispatcher = CollectingDispatcher()
    verified = make_tracker("x", slots={"verified_customer": "10000002"})
    assert await require_identity(dispatcher, verified, "ask_bill") is None

    gate = await require_identity(dispatcher, make_tracker("x"), "ask_bill")
    assert gate == [
        {"event": "slot", "timestamp": None, "name": "pending_request", "value": "ask_bill"},
        {"event": "slot", "timestamp": None, "name": "next_action", "value": "identity_form"},
    ]
    assert dispatcher.messages == []  # the identity form asks


async def test_require_identity_hands_a_locked_customer_to_a_person(database_url, clock):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", slots={"identity_locked": True}, sender_id="conv-locked")
    events = await require_identity(dispatcher, tracker, "ask_bill")

    [case] = cases(database_url)
    assert (case.conversation_id, case.reason, case.language, case.customer_number) == (
        "conv-locked",
        "identity_failed",
        "de",
        None,
    )
    assert [m.get("response") for m in dispatcher.messages] == ["utter_handoff_open", None]
    assert dispatcher.messages[0]["case_id"] == case.case_id
    assert dispatcher.messages[1]["custom"]["handoff"]["case_id"] == case.case_id
    assert events[-1] == PAUSE
    assert {"event": "slot", "timestamp": None, "name": "pending_request", "value": None} in events
    assert {
        "event": "slot",
        "timestamp": None,
        "name": "handoff_case",
        "value": case.case_id,
    } in events
