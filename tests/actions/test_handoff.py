"""Handing over to a person (action_handoff): the stored case and what the customer reads.

Whether people answer depends on the clock, so these tests set it with the
`clock` fixture (tests/actions/conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from actions.handoff import ActionHandoff
from tests.actions.conftest import BERLIN, SUNDAY, bot_event, cases, make_tracker, run, user_event

pytestmark = pytest.mark.asyncio


def conversation(text="Ich möchte mit einem Menschen sprechen", intent="request_human", **kwargs):
    history = [
        user_event("Hallo", "greet", timestamp=1_764_000_000),
        bot_event("Guten Tag! Was kann ich für Sie tun?", timestamp=1_764_000_001),
    ]
    kwargs.setdefault("metadata", {"channel": "whatsapp"})
    return make_tracker(text, intent, history=history, **kwargs)


async def test_handoff_stores_a_case_and_pauses_the_bot(database_url, domain, clock):
    tracker = conversation(sender_id="conv-7")
    outcome = await run(ActionHandoff(), tracker, domain)

    [case] = cases(database_url)
    assert case.case_id.startswith("H-")
    assert (case.reason, case.language, case.channel, case.status) == (
        "customer_request",
        "de",
        "whatsapp",
        "open",
    )
    assert case.conversation_id == "conv-7"
    assert case.customer_number is None
    assert [(line["from"], line["text"], line.get("intent")) for line in case.transcript] == [
        ("customer", "Hallo", "greet"),
        ("bot", "Guten Tag! Was kann ich für Sie tun?", None),
        ("customer", "Ich möchte mit einem Menschen sprechen", "request_human"),
    ]

    assert outcome.responses == ["utter_handoff_open"]
    assert case.case_id in outcome.texts[0] and "etwa 5 Minuten" in outcome.texts[0]
    assert outcome.payloads == [
        {
            "handoff": {
                "case_id": case.case_id,
                "reason": "customer_request",
                "language": "de",
                "agents_available": True,
            }
        }
    ]
    assert outcome.events == [
        {"event": "active_loop", "timestamp": None, "name": None},
        {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None},
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": None},
        {"event": "slot", "timestamp": None, "name": "pending_request", "value": None},
        {"event": "slot", "timestamp": None, "name": "handoff_case", "value": case.case_id},
        {"event": "slot", "timestamp": None, "name": "next_action", "value": None},
        {"event": "pause", "timestamp": None},
    ]


async def test_turkish_handoff_outside_hotline_hours(database_url, domain, clock):
    clock(SUNDAY)
    tracker = conversation(
        "Bir çalışanla görüşmek istiyorum", language="tr", slots={"verified_customer": "10000001"}
    )
    outcome = await run(ActionHandoff(), tracker, domain)
    [case] = cases(database_url)
    assert (case.language, case.customer_number) == ("tr", "10000001")
    assert outcome.responses == ["utter_handoff_closed"]
    assert outcome.texts[0].startswith("Müşteri hizmetlerimiz şu anda kapalı.")
    assert case.case_id in outcome.texts[0]
    assert "Pazartesi, 08:00 itibarıyla" in outcome.texts[0]
    assert outcome.payloads[0]["handoff"]["language"] == "tr"
    # The phone channel offers no transfer when nobody is there.
    assert outcome.payloads[0]["handoff"]["agents_available"] is False


@pytest.mark.parametrize(
    ("now", "opening"),
    [
        (SUNDAY, "Montag, 08:00"),
        (dt.datetime(2026, 11, 24, 21, 30, tzinfo=BERLIN), "Mittwoch, 08:00"),
        (dt.datetime(2026, 11, 28, 20, 0, tzinfo=BERLIN), "Montag, 08:00"),  # Saturday, closing
        (dt.datetime(2026, 11, 23, 7, 59, tzinfo=BERLIN), "Montag, 08:00"),  # same day
    ],
)
async def test_closed_hotline_names_the_next_opening(database_url, domain, clock, now, opening):
    clock(now)
    outcome = await run(ActionHandoff(), conversation(), domain)
    assert outcome.responses == ["utter_handoff_closed"]
    assert f"ab {opening} Uhr" in outcome.texts[0]


async def test_waiting_time_comes_from_the_settings(database_url, domain, clock, monkeypatch):
    monkeypatch.setenv("HANDOFF_WAIT_MINUTES", "12")
    outcome = await run(ActionHandoff(), conversation(language="tr"), domain)
    assert outcome.message("utter_handoff_open")["minutes"] == 12
    assert "yaklaşık 12 dakika" in outcome.texts[0]


@pytest.mark.parametrize(
    ("slot", "intent", "reason"),
    [
        ("identity_failed", "inform", "identity_failed"),
        ("reduction_rejected", "inform", "reduction_rejected"),
        ("repeated_fallback", "nlu_fallback", "repeated_fallback"),
        (None, "complaint", "upset"),
        (None, "nlu_fallback", "repeated_fallback"),
        (None, "affirm", "service_request"),  # yes to "shall I connect you?"
        ("no_such_reason", "request_human", "customer_request"),
    ],
)
async def test_reason_of_the_case(database_url, domain, clock, slot, intent, reason):
    tracker = conversation("...", intent, slots={"handoff_reason": slot})
    outcome = await run(ActionHandoff(), tracker, domain)
    assert cases(database_url)[0].reason == reason
    assert outcome.payloads[0]["handoff"]["reason"] == reason
    assert outcome.slots["handoff_reason"] is None


async def test_second_handoff_reuses_the_open_case(database_url, domain, clock):
    first = await run(ActionHandoff(), conversation(sender_id="conv-9"), domain)
    later = conversation(
        "Hallo? Ist da jemand?",
        "request_human",
        sender_id="conv-9",
        slots={"verified_customer": "10000002"},
    )
    later.events[-1:-1] = [bot_event("Ich verbinde Sie ...")]
    second = await run(ActionHandoff(), later, domain)

    [case] = cases(database_url)
    assert first.slots["handoff_case"] == second.slots["handoff_case"] == case.case_id
    assert case.transcript[-1]["text"] == "Hallo? Ist da jemand?"
    assert case.customer_number == "10000002"  # learnt later, kept on the case


async def test_handoff_ends_an_active_form(database_url, domain, clock):
    tracker = conversation(
        active_loop="advance_payment_form",
        slots={"requested_slot": "ap_amount", "pending_request": "ask_bill"},
    )
    outcome = await run(ActionHandoff(), tracker, domain)
    assert outcome.events[0] == {"event": "active_loop", "timestamp": None, "name": None}
    assert outcome.slots["requested_slot"] is None
    assert outcome.slots["pending_request"] is None
