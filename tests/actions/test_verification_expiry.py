"""A verification lapses after a silence or with a new session (issue 12, finding 2).

Before: `carry_over_slots_to_new_session` kept `verified_customer` forever, so
anyone who came back to a conversation (a shared computer, a logged
conversation id) got the bill without proving who they are.
"""

from __future__ import annotations

import time

import pytest

from actions.advance_payments import ActionSubmitAdvancePayment, ValidateAdvancePaymentForm
from actions.slot_mappings import ValidateSlotMappings
from tests.actions.conftest import MUELLER_ELECTRICITY, make_tracker, run, user_event

pytestmark = pytest.mark.asyncio
VERIFIED = {"verified_customer": "10000002"}


def tracker_after(seconds: float, *, new_session: bool = False, **slots):
    earlier = user_event("10000002 44137 12.03.1975", "inform", timestamp=time.time() - seconds)
    history = [earlier]
    if new_session:
        history += [
            {"event": "action", "timestamp": time.time(), "name": "action_session_start"},
            {"event": "session_started", "timestamp": time.time()},
        ]
    return make_tracker("Meine Rechnung", "ask_bill", slots={**VERIFIED, **slots}, history=history)


async def test_a_short_pause_keeps_the_verification(domain):
    outcome = await run(ValidateSlotMappings(), tracker_after(10 * 60), domain)
    assert "verified_customer" not in outcome.slots


async def test_a_long_silence_ends_the_verification(domain):
    outcome = await run(ValidateSlotMappings(), tracker_after(16 * 60), domain)
    assert outcome.slots["verified_customer"] is None


async def test_the_idle_time_comes_from_the_settings(domain, monkeypatch):
    monkeypatch.setenv("VERIFICATION_IDLE_MINUTES", "5")
    outcome = await run(ValidateSlotMappings(), tracker_after(6 * 60), domain)
    assert outcome.slots["verified_customer"] is None


async def test_a_verification_never_carries_over_into_a_new_session(domain):
    outcome = await run(ValidateSlotMappings(), tracker_after(5, new_session=True), domain)
    assert outcome.slots["verified_customer"] is None
    # A conversation whose only message comes with a verification (carried over) too.
    alone = make_tracker("Meine Rechnung", "ask_bill", slots=VERIFIED)
    assert (await run(ValidateSlotMappings(), alone, domain)).slots["verified_customer"] is None


async def test_a_lapsed_verification_ends_the_change_and_asks_again(database_url, domain):
    form = make_tracker(
        "80 Euro",
        "inform",
        slots={"ap_contract": MUELLER_ELECTRICITY, "requested_slot": "ap_amount"},
        active_loop="advance_payment_form",
    )
    stopped = await run(ValidateAdvancePaymentForm(), form, domain)
    assert stopped.slots.get("requested_slot", "missing") is None
    assert "ap_amount" not in stopped.slots  # nothing read for nobody
    submit = make_tracker(
        "80 Euro", "inform", slots={"ap_contract": MUELLER_ELECTRICITY, "ap_amount": "80.00"}
    )
    outcome = await run(ActionSubmitAdvancePayment(), submit, domain)
    assert outcome.responses == ["utter_identity_expired"]
    assert outcome.slots["pending_request"] == "change_advance_payment"
    assert outcome.followup == "identity_form"
    assert outcome.slots["ap_amount"] is None
