"""Cancelling a form at any step (actions/forms.py), for both of our forms.

Rasa keeps only the slot events a form validation returns; if nothing but
`requested_slot` comes back, Rasa rejects the form run (ActionExecutionRejection)
and the cancellation never happens. So the returned events matter, not only
the state of the tracker object inside the action.
"""

from __future__ import annotations

import pytest

from actions.advance_payments import ValidateAdvancePaymentForm
from actions.identity import ValidateIdentityForm
from tests.actions.conftest import MUELLER_ELECTRICITY, changes, make_tracker, run

pytestmark = pytest.mark.asyncio

CANCEL = [("abbrechen", "de"), ("vazgeçtim", "tr")]
IDENTITY_STEPS = [
    ("customer_number", {}),
    ("postcode", {"customer_number": "10000002"}),
    ("birth_date", {"customer_number": "10000002", "postcode": "44137"}),
]
AP_STEPS = [
    ("ap_contract", {}),
    ("ap_amount", {"ap_contract": MUELLER_ELECTRICITY}),
]
AP_BASE = {"verified_customer": "10000002", "ap_request_id": "req-1"}


def identity_deny(text, language, requested, slots):
    return make_tracker(
        text,
        "deny",
        language=language,
        active_loop="identity_form",
        slots={"requested_slot": requested, **slots},
    )


def ap_deny(text, language, requested, slots):
    return make_tracker(
        text,
        "deny",
        language=language,
        active_loop="advance_payment_form",
        slots={**AP_BASE, "requested_slot": requested, **slots},
    )


@pytest.mark.parametrize(("text", "language"), CANCEL)
@pytest.mark.parametrize(("requested", "slots"), IDENTITY_STEPS)
async def test_no_at_an_identity_step_stops_the_form(
    database_url, domain, text, language, requested, slots
):
    outcome = await run(
        ValidateIdentityForm(), identity_deny(text, language, requested, slots), domain
    )
    assert outcome.slots.get("requested_slot", "missing") is None
    assert "verified_customer" not in outcome.slots
    assert outcome.messages == []  # action_identity_done says it was cancelled


@pytest.mark.parametrize(("text", "language"), CANCEL)
@pytest.mark.parametrize(("requested", "slots"), AP_STEPS)
async def test_no_at_an_advance_payment_step_stops_the_form(
    database_url, domain, text, language, requested, slots
):
    outcome = await run(
        ValidateAdvancePaymentForm(), ap_deny(text, language, requested, slots), domain
    )
    assert outcome.slots.get("requested_slot", "missing") is None
    assert outcome.messages == []  # the submit action says nothing was changed
    assert changes(database_url) == []


@pytest.mark.parametrize("form", ["identity_form", "advance_payment_form"])
async def test_cancelling_returns_form_cancelled(database_url, domain, form):
    if form == "identity_form":
        tracker = identity_deny("abbrechen", "de", "postcode", {"customer_number": "10000002"})
        outcome = await run(ValidateIdentityForm(), tracker, domain)
    else:
        tracker = ap_deny("vazgeçtim", "tr", "ap_amount", {"ap_contract": MUELLER_ELECTRICITY})
        outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots.get("form_cancelled") is True


def read_back(text):
    return make_tracker(
        text,
        "deny",
        active_loop="advance_payment_form",
        slots={
            **AP_BASE,
            "requested_slot": "ap_confirmed",
            "ap_contract": MUELLER_ELECTRICITY,
            "ap_amount": "120.00",
        },
    )


async def test_no_at_the_read_back_ends_the_form(database_url, domain):
    outcome = await run(ValidateAdvancePaymentForm(), read_back("nein"), domain)
    assert outcome.slots.get("requested_slot", "missing") is None
    assert outcome.slots.get("ap_confirmed") is not True
    assert changes(database_url) == []


async def test_no_at_the_read_back_returns_the_answer(database_url, domain):
    outcome = await run(ValidateAdvancePaymentForm(), read_back("nein"), domain)
    assert outcome.slots.get("ap_confirmed") is False
    assert outcome.slots.get("form_cancelled") is True


async def test_no_is_an_answer_to_a_yes_no_question_not_a_cancel_request(domain):
    form = ValidateAdvancePaymentForm()
    assert not form.wants_to_cancel(read_back("nein"))
    at_amount = ap_deny("nein", "de", "ap_amount", {"ap_contract": MUELLER_ELECTRICITY})
    assert form.wants_to_cancel(at_amount)


async def test_no_outside_the_form_cancels_nothing(domain):
    other = make_tracker(
        "nein", "deny", active_loop="advance_payment_form", slots={"requested_slot": "postcode"}
    )
    assert await ValidateIdentityForm().extract_form_cancelled(None, other, domain) == {}
    no_form = make_tracker("nein", "deny", slots={"requested_slot": "postcode"})
    assert await ValidateIdentityForm().extract_form_cancelled(None, no_form, domain) == {}


async def test_cancelled_identity_form_checks_nothing(database_url, domain):
    tracker = make_tracker(
        "10000002 44137 12.03.1975",
        "inform",
        active_loop="identity_form",
        slots={"requested_slot": "customer_number", "form_cancelled": True},
    )
    outcome = await run(ValidateIdentityForm(), tracker, domain)
    assert "verified_customer" not in outcome.slots
    assert outcome.slots.get("requested_slot", "missing") is None


async def test_cancelled_advance_payment_form_asks_nothing(database_url, domain):
    tracker = make_tracker(
        "120 Euro",
        "inform",
        active_loop="advance_payment_form",
        slots={
            **AP_BASE,
            "requested_slot": "ap_amount",
            "ap_contract": MUELLER_ELECTRICITY,
            "form_cancelled": True,
        },
    )
    outcome = await run(ValidateAdvancePaymentForm(), tracker, domain)
    assert outcome.slots == {"requested_slot": None}
    assert outcome.messages == []
