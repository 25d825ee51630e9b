"""action_reconnect_supply with real trackers and a real demo database.

Sabine Wagner (10000027, German) is blocked since 25.11.2026 with 130.00 €
overdue; Kemal Arslan (10000026, Turkish) has a block only announced;
Ayşe Yılmaz (10000001, Turkish) has none. The clock stands on Monday
23.11.2026, 10:00 (the hotline is staffed).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from actions.reconnection import ActionReconnectSupply, request_id
from bot.domain.models import AuditEntry, Bill, CaseAttachment, HandoffCase, ServiceCase
from bot.domain.references import spoken
from bot.infra.db import session_scope
from tests.actions.conftest import BERLIN, eur, make_tracker, run
from tests.e2e.conftest import row_counts

pytestmark = pytest.mark.asyncio

SABINE, KEMAL, AYSE = "10000027", "10000026", "10000001"
ASK = {
    "de": "Strom wurde abgestellt, hab jetzt bezahlt",
    "tr": "ödedim elektriği açın",
}


def tracker(customer: str | None, language: str = "de", channel: str = "rest", **slots):
    metadata = {"channel": "web"} if channel == "web" else {}
    return make_tracker(
        ASK[language],
        "reconnect_supply",
        language=language,
        slots={"verified_customer": customer, **slots},
        channel=channel,
        metadata=metadata,
    )


def service_cases(url: str) -> list[ServiceCase]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(ServiceCase).order_by(ServiceCase.id)).all())
        session.expunge_all()
        return rows


def handoff_cases(url: str) -> list[HandoffCase]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(HandoffCase).order_by(HandoffCase.id)).all())
        session.expunge_all()
        return rows


def audits(url: str, action: str) -> list[AuditEntry]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


# --- before the account is looked at --------------------------------------------------------


async def test_the_identity_check_comes_first(database_url, domain):
    before = row_counts(database_url)
    outcome = await run(ActionReconnectSupply(), tracker(None), domain)
    assert outcome.messages == []
    assert outcome.slots == {"pending_request": "reconnect_supply"}
    assert outcome.followup == "identity_form"
    assert row_counts(database_url) == before


async def test_a_locked_identity_check_goes_to_a_person(database_url, domain, clock):
    outcome = await run(ActionReconnectSupply(), tracker(None, identity_locked=True), domain)
    [case] = handoff_cases(database_url)
    assert case.reason == "identity_failed" and not case.priority
    assert outcome.responses == ["utter_handoff_open"]
    assert service_cases(database_url) == []


# --- no block in force: nothing stored ------------------------------------------------------


async def test_a_customer_without_a_block_is_told_so_and_pointed_to_the_fault_line(
    database_url, domain
):
    before = row_counts(database_url)
    outcome = await run(ActionReconnectSupply(), tracker(AYSE, "tr"), domain)
    assert outcome.responses == ["utter_reconnection_not_blocked"]
    assert "kesilmiş değil" in outcome.text and "arıza servisimize" in outcome.text
    assert outcome.followup is None and outcome.payloads == []
    assert row_counts(database_url) == before


async def test_an_announced_block_is_not_in_force(database_url, domain):
    before = row_counts(database_url)
    outcome = await run(ActionReconnectSupply(), tracker(KEMAL, "tr"), domain)
    assert outcome.responses == ["utter_reconnection_block_announced"]
    assert "elektrik, sözleşme 30000040" in outcome.text
    assert eur("340.40", "tr") in outcome.text and "henüz uygulanmadı" in outcome.text
    assert "Ratenzahlung" in outcome.text
    assert row_counts(database_url) == before


# --- block in force ---------------------------------------------------------------------------


async def test_german_rest_request_opens_a_priority_case_and_hands_over(
    database_url, domain, clock
):
    asked = tracker(SABINE)
    outcome = await run(ActionReconnectSupply(), asked, domain)
    assert outcome.responses == [
        "utter_reconnection_blocked_balance_open",
        "utter_reconnection_proof_needed",
        "utter_reconnection_case_opened",
        "utter_reconnection_receipt_elsewhere",
        "utter_handoff_open",
    ]
    blocked, proof, opened, elsewhere, handed, payload = outcome.texts
    assert payload == ""  # the handoff payload for the channel, last
    assert "seit 25.11.2026 gesperrt (Strom, Vertrag 30000041)" in blocked
    assert eur("130.00", "de") in blocked
    assert "Überweisungsbestätigung" in proof and "Quittung" in proof
    for fact in ("Zahler", "Betrag", "Datum", "Stadtwerke Rheinruhr als Empfänger"):
        assert fact in proof
    [case] = service_cases(database_url)
    assert case.reference in opened and case.reference in elsewhere
    # one working day after a confirmation today (Monday 23.11.2026)
    assert "einen Werktag nach der Bestätigung Ihrer Zahlung" in opened
    assert "Dienstag, 24. November 2026" in opened
    assert "Gebühr" in opened and "€" not in opened  # a fee, no amount made up
    assert "E-Mail" in elsewhere

    [handoff] = handoff_cases(database_url)
    assert (handoff.reason, handoff.priority, handoff.customer_number, handoff.channel) == (
        "reconnection",
        True,
        SABINE,
        "rest",
    )
    assert handoff.case_id in handed
    assert outcome.payloads == [
        {
            "handoff": {
                "case_id": handoff.case_id,
                "reason": "reconnection",
                "language": "de",
                "agents_available": True,
            }
        }
    ]
    assert outcome.events[-1] == {"event": "pause", "timestamp": None}
    assert outcome.slots["handoff_case"] == handoff.case_id

    assert (case.kind, case.priority, case.status, case.language, case.channel) == (
        "reconnection",
        True,
        "open",
        "de",
        "rest",
    )
    assert case.handoff_case_id == handoff.case_id
    assert case.conversation_id == asked.sender_id
    assert case.request_id == request_id(asked)
    assert case.data["open_balance"] == "130.00" and case.data["receipt_received"] is False
    assert [c["contract_number"] for c in case.data["contracts"]] == ["30000041"]
    [audit] = audits(database_url, "reconnection_requested")
    assert audit.detail == {"service_case": case.id, "channel": "rest", "priority": True}


async def test_turkish_web_chat_asks_for_the_receipt_last_with_the_file_hint(
    database_url, domain, clock
):
    outcome = await run(ActionReconnectSupply(), tracker(SABINE, "tr", channel="web"), domain)
    assert outcome.responses == [
        "utter_reconnection_blocked_balance_open",
        "utter_reconnection_proof_needed",
        "utter_reconnection_case_opened",
        "utter_handoff_open",
        "utter_ask_reconnection_receipt",
    ]
    [case] = service_cases(database_url)
    assert case.channel == "web" and case.data["channel"] == "web"
    asked = outcome.texts[-1]
    assert case.reference in asked and "5 MB" in asked and "PDF" in asked
    assert "24 Kasım 2026 Salı" in outcome.texts[2]
    assert "1 iş günü sonra" in outcome.texts[2]
    assert eur("130.00", "tr") in outcome.texts[0]
    # the question's hint is the widget's file button
    [variation] = [
        v
        for v in domain["responses"]["utter_ask_reconnection_receipt"]
        if (v.get("condition") or [{}])[0].get("value") == "tr"
    ]
    assert variation["metadata"]["expects"] == {"kind": "file"}
    # the handoff payload comes before the question, the question is the last text
    assert outcome.messages[-2].get("custom", {}).get("handoff")


async def test_on_the_phone_the_reference_is_spoken_digit_by_digit(database_url, domain, clock):
    outcome = await run(ActionReconnectSupply(), tracker(SABINE, channel="voice"), domain)
    [case] = service_cases(database_url)
    opened = outcome.message("utter_reconnection_case_opened")
    assert opened["reference_spoken"] == spoken(case.reference)
    assert opened["reference_spoken"].startswith("E N, ")
    voice = [
        v
        for v in domain["responses"]["utter_reconnection_case_opened"]
        if v.get("channel") == "voice"
    ]
    assert len(voice) == 2 and all("{reference_spoken}" in v["text"] for v in voice)
    assert "utter_reconnection_receipt_elsewhere" in outcome.responses
    assert "utter_ask_reconnection_receipt" not in outcome.responses
    assert case.channel == "voice"


async def test_a_repeated_request_opens_nothing_twice(database_url, domain, clock):
    asked = tracker(SABINE, channel="web")
    first = await run(ActionReconnectSupply(), asked, domain)
    again = await run(ActionReconnectSupply(), asked, domain)  # the same message re-delivered
    assert len(service_cases(database_url)) == 1
    assert len(handoff_cases(database_url)) == 1
    assert len(audits(database_url, "reconnection_requested")) == 1
    assert first.slots["handoff_case"] == again.slots["handoff_case"]
    [case] = service_cases(database_url)
    assert case.reference in again.texts[-1]


async def test_the_working_days_come_from_the_settings(database_url, domain, clock, monkeypatch):
    monkeypatch.setenv("RECONNECTION_WORKING_DAYS", "3")
    clock(dt.datetime(2026, 11, 27, 11, 0, tzinfo=BERLIN))  # a Friday
    outcome = await run(ActionReconnectSupply(), tracker(SABINE), domain)
    opened = outcome.texts[outcome.responses.index("utter_reconnection_case_opened")]
    assert "3 Werktage nach der Bestätigung" in opened
    assert "Mittwoch, 2. Dezember 2026" in opened


async def test_a_settled_balance_needs_no_proof(database_url, domain, clock):
    with session_scope(database_url) as session:
        session.execute(
            update(Bill).where(Bill.bill_number == "R-2026-900041").values(status="paid")
        )
    outcome = await run(ActionReconnectSupply(), tracker(SABINE, channel="web"), domain)
    assert outcome.responses == [
        "utter_reconnection_blocked_paid",
        "utter_reconnection_case_opened_paid",
        "utter_handoff_open",
    ]
    assert "nichts mehr offen" in outcome.texts[0]
    assert "Dienstag, 24. November 2026" in outcome.texts[1]
    [case] = service_cases(database_url)
    assert case.priority and Decimal(case.data["open_balance"]) == Decimal("0.00")
    with session_scope(database_url) as session:
        assert session.scalar(select(CaseAttachment)) is None
