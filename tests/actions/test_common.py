"""Helpers shared by all actions (actions/common.py), the transcript they hand over,
and database work in a worker thread as actions do it (bot/infra/db.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from actions import common
from bot.domain.models import Customer
from bot.domain.transcript import transcript
from bot.infra.db import run_in_transaction
from tests.actions.conftest import bot_event, entity, make_tracker, user_event
from tests.conftest import demo_document


@pytest.mark.parametrize(
    ("slot", "expected"), [("de", "de"), ("tr", "tr"), (None, "de"), ("en", "de")]
)
def test_language_of_falls_back_to_german(slot, expected):
    assert common.language_of(make_tracker("hallo", language=slot)) == expected


@pytest.mark.parametrize(
    ("metadata", "input_channel", "expected"),
    [
        ({"channel": "whatsapp"}, "rest", "whatsapp"),
        ({"channel": "web chat"}, "socketio", "socketio"),  # not an identifier
        ({"channel": "x" * 21}, "rest", "rest"),  # too long for the audit column
        ({"channel": 7}, "rest", "rest"),
        ({}, "voice", "voice"),
        ({}, None, "rest"),
    ],
)
def test_channel_of_trusts_only_plausible_gateway_names(metadata, input_channel, expected):
    tracker = make_tracker("hallo", metadata=metadata, channel=input_channel)
    assert common.channel_of(tracker) == expected


def test_message_metadata_is_from_the_latest_user_message():
    old = user_event("erste", metadata={"channel": "whatsapp", "language": "tr"})
    tracker = make_tracker("zweite", history=[old], metadata={"channel": "voice"})
    assert common.message_metadata(tracker) == {"channel": "voice"}
    broken = make_tracker("x")
    broken.events[-1]["metadata"] = ["not", "a", "dict"]
    assert common.message_metadata(broken) == {}


def test_latest_message_helpers():
    tracker = make_tracker(
        "Gas bitte",
        "inform",
        entities=[entity("amount", ""), entity("commodity", "gas"), entity("commodity", "water")],
    )
    assert common.latest_text(tracker) == "Gas bitte"
    assert common.latest_intent(tracker) == "inform"
    assert common.entity_value(tracker, "commodity") == "gas"  # first non-empty value
    assert common.entity_value(tracker, "amount") is None
    assert common.entity_value(tracker, "iban") is None
    empty = make_tracker("")
    empty.latest_message = {}
    assert (common.latest_text(empty), common.latest_intent(empty)) == ("", None)


@pytest.mark.parametrize("zone", [None, "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_today_is_the_local_date_of_the_utility(monkeypatch, zone):
    if zone:
        monkeypatch.setenv("TIMEZONE", zone)  # UTC+14 and UTC-11: another date most of the day
    tz = ZoneInfo(zone or "Europe/Berlin")
    before = dt.datetime.now(tz).date()
    assert before <= common.today() <= dt.datetime.now(tz).date()


def test_response_text_and_commodity_labels(domain):
    assert common.response_text(domain, "utter_label_ask_bill", "de") == "Frage zur Rechnung"
    assert common.response_text(domain, "utter_label_ask_bill", "tr") == "Fatura sorusu"
    assert common.response_text(domain, "utter_no_such_response", "tr") == "utter_no_such_response"
    assert common.commodity_label(domain, "gas", "de") == "Gas"
    assert common.commodity_label(domain, "gas", "tr") == "doğalgaz"
    assert common.commodity_label(domain, "district_heating", "de") == "Fernwärme"


def test_transcript_lists_what_customer_and_bot_said_in_order():
    history = [
        user_event("Hallo", "greet", timestamp=1_764_000_000),
        {"event": "slot", "name": "language", "value": "de", "timestamp": 1_764_000_000},
        bot_event("Guten Tag!", timestamp=1_764_000_001),
        bot_event("", timestamp=1_764_000_002),  # buttons only: nothing to read
    ]
    tracker = make_tracker("Ich will einen Menschen", "request_human", history=history)
    lines = transcript(tracker.events)
    assert [(line["from"], line["text"]) for line in lines] == [
        ("customer", "Hallo"),
        ("bot", "Guten Tag!"),
        ("customer", "Ich will einen Menschen"),
    ]
    assert lines[0]["intent"] == "greet" and lines[2]["intent"] == "request_human"
    assert "intent" not in lines[1]
    assert lines[0]["time"] == dt.datetime.fromtimestamp(1_764_000_000, dt.timezone.utc).isoformat()


@pytest.mark.asyncio
async def test_run_in_transaction_uses_the_configured_database(database_url):
    count = await run_in_transaction(lambda s: s.scalar(select(func.count(Customer.id))))
    assert count == len(demo_document()["customers"])

    def rename(session):
        session.scalar(
            select(Customer).where(Customer.customer_number == "10000002")
        ).first_name = "J."

    await run_in_transaction(rename)
    first = await run_in_transaction(
        lambda s: s.scalar(
            select(Customer.first_name).where(Customer.customer_number == "10000002")
        )
    )
    assert first == "J."


@pytest.mark.asyncio
async def test_run_in_transaction_rolls_back_on_error(database_url):
    def fail(session):
        session.scalar(
            select(Customer).where(Customer.customer_number == "10000001")
        ).last_name = "X"
        session.flush()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await run_in_transaction(fail)
    name = await run_in_transaction(
        lambda s: s.scalar(select(Customer.last_name).where(Customer.customer_number == "10000001"))
    )
    assert name == "Yılmaz"
