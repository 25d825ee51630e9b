"""Identity values are kept no longer than the check needs them (issue 12, data protection).

Before: a birth date or customer number given for an identity check that was
cut short (a handoff, a long silence, a new session) stayed in the
conversation's slots for good, carried into every new session; and the
transcript an agent reads held the customer's birth date as typed.
"""

from __future__ import annotations

import time

import pytest

from actions.handoff import ActionHandoff
from actions.slot_mappings import ValidateSlotMappings
from bot.domain.privacy import MASKED_DATE
from tests.actions.conftest import MUELLER, cases, make_tracker, run, user_event

pytestmark = pytest.mark.asyncio
HALF_GIVEN = {"customer_number": "10000002", "birth_date": "1975-03-12"}


def tracker_after(seconds: float, *, new_session: bool = False, **slots):
    """A tracker whose customer wrote once `seconds` ago and now again."""
    earlier = user_event("10000002 12.03.1975", "inform", timestamp=time.time() - seconds)
    history = [earlier]
    if new_session:
        history += [
            {"event": "action", "timestamp": time.time(), "name": "action_session_start"},
            {"event": "session_started", "timestamp": time.time()},
        ]
    return make_tracker("Meine Rechnung", "ask_bill", slots=slots, history=history)


async def test_a_handoff_during_the_identity_check_forgets_its_values(database_url, domain):
    tracker = make_tracker(
        "Ich will mit einem Menschen sprechen",
        "request_human",
        slots={**HALF_GIVEN, "requested_slot": "postcode"},
        active_loop="identity_form",
        history=[user_event("10000002 12.03.1975", "inform")],
    )
    outcome = await run(ActionHandoff(), tracker, domain)
    assert outcome.slots["customer_number"] is None
    assert outcome.slots["birth_date"] is None
    # The agent reads what was said, with the identity values masked.
    [case] = cases(database_url)
    said = [line["text"] for line in case.transcript if line["from"] == "customer"]
    assert said == [f"******02 {MASKED_DATE}", "Ich will mit einem Menschen sprechen"]


async def test_values_left_by_a_long_silence_are_forgotten(domain):
    outcome = await run(ValidateSlotMappings(), tracker_after(16 * 60, **HALF_GIVEN), domain)
    assert outcome.slots["customer_number"] is None and outcome.slots["birth_date"] is None


async def test_values_never_carry_into_a_new_session(domain):
    slots = {**MUELLER, "verified_customer": "10000002"}
    outcome = await run(ValidateSlotMappings(), tracker_after(5, new_session=True, **slots), domain)
    assert {name: outcome.slots.get(name, "kept") for name in (*MUELLER, "verified_customer")} == {
        "customer_number": None,
        "postcode": None,
        "birth_date": None,
        "verified_customer": None,
    }


async def test_values_of_a_check_in_progress_stay(domain):
    outcome = await run(ValidateSlotMappings(), tracker_after(60, **HALF_GIVEN), domain)
    assert not {"customer_number", "birth_date"} & set(outcome.slots)
