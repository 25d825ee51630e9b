"""Payment trouble end to end: instalment plans and deferrals in German and Turkish over
REST, a supply block in web chat, a phone call on the keypad; the database shows the
arrangement, its schedule and the audit trail, and refusals store nothing.

Each test uses its own demo customer (data/demo/customers.json): the servers and their
database are shared by the whole test session.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.domain.models import (
    AuditEntry,
    Customer,
    HandoffCase,
    Instalment,
    PaymentArrangement,
    ServiceCase,
    utcnow,
)
from bot.domain.services.payment_arrangements import add_months
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_for, handoff_payload, joined
from tests.e2e.test_voice import call_row, new_call
from tests.harness.servers import Servers
from tests.harness.web_clients import Widget


def day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def arrangements_of(database_url: str, customer_number: str) -> list[PaymentArrangement]:
    with session_scope(database_url) as session:
        rows = session.scalars(
            select(PaymentArrangement)
            .join(Customer)
            .where(Customer.customer_number == customer_number)
            .order_by(PaymentArrangement.id)
        ).all()
        for row in rows:
            _ = list(row.instalments)
        session.expunge_all()
        return list(rows)


def audit_of(database_url: str, arrangement: PaymentArrangement) -> list[AuditEntry]:
    with session_scope(database_url) as session:
        rows = [
            entry
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "payment_arrangement_agreed")
            )
            if entry.detail.get("payment_arrangement") == arrangement.id
        ]
        session.expunge_all()
        return rows


def counts(database_url: str) -> dict[str, int]:
    """Rows of what this capability writes."""
    with session_scope(database_url) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (PaymentArrangement, Instalment, ServiceCase, HandoffCase)
        }


def service_case_of(database_url: str, conversation_id: str) -> ServiceCase | None:
    with session_scope(database_url) as session:
        case = session.scalars(
            select(ServiceCase).where(ServiceCase.conversation_id == conversation_id)
        ).first()
        if case is not None:
            session.expunge(case)
        return case


REFERENCE = re.compile(r"\b(RZ|ST|SP)-\d{8}\b")


# --- instalments ---------------------------------------------------------------------------


def test_german_instalment_plan_after_a_refusal_and_the_way_out(chat: Chat) -> None:
    # Hans-Jürgen Schäfer: 102,98 € open, so 2 to 4 instalments of at least 25 €.
    db, today = chat.servers.database_url, chat.servers.settings.today()
    reply = chat.texts("Ich kann die Rechnung grad nicht zahlen, geht das in Raten?")
    assert "Kundennummer" in reply
    reply = chat.texts("10000013 44139 17.01.1962")
    assert "Wie viele Monatsraten" in reply and "2 bis 4" in reply and "102,98 €" in reply
    assert day(today + dt.timedelta(days=14)) in reply

    reply = chat.texts("6 Raten")
    assert "2 bis 4 Monatsraten" in reply and "25,00 €" in reply
    assert "Wie viele Monatsraten" in reply  # asked again
    # The same answer twice: the way out instead of the same question.
    replies = chat.say("6")
    reply = joined(replies)
    assert "Mitarbeiter" in reply and "abbrechen" in reply
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/request_human", "/deny"]
    assert arrangements_of(db, "10000013") == []

    reply = chat.texts("4")
    first = today + dt.timedelta(days=14)
    assert "1. Rate: 25,74 € am " + day(first) in reply
    assert "4. Rate: 25,76 €" in reply and "Soll ich die Ratenzahlung so vereinbaren?" in reply
    reply = chat.texts("ja, bitte")
    assert "Vereinbart" in reply and "4 Monatsraten" in reply and "Verwendungszweck" in reply
    reference = REFERENCE.search(reply)
    assert reference is not None and reference[1] == "RZ"

    [plan] = arrangements_of(db, "10000013")
    assert (plan.reference, plan.kind, plan.total, plan.channel, plan.conversation_id) == (
        reference[0],
        "instalments",
        Decimal("102.98"),
        "rest",
        chat.sender,
    )
    assert [(i.number, i.amount) for i in plan.instalments] == [
        (1, Decimal("25.74")),
        (2, Decimal("25.74")),
        (3, Decimal("25.74")),
        (4, Decimal("25.76")),
    ]
    assert sum(i.amount for i in plan.instalments) == plan.total
    assert plan.instalments[0].due_on == first
    [audit] = audit_of(db, plan)
    assert audit.agent_id is None and audit.detail["channel"] == "rest"
    assert "10000013" not in str(audit.detail)

    # A second "ja" changes nothing; a second request shows the running plan.
    chat.texts("ja")
    reply = chat.texts("Ratenzahlung bitte")
    assert "bereits eine Ratenzahlung" in reply and plan.reference in reply
    assert "4. Rate: 25,76 €" in reply
    assert len(arrangements_of(db, "10000013")) == 1


def test_turkish_instalment_plan(chat_tr: Chat) -> None:
    # Gülşen Çelik: 312,87 € overdue for gas.
    db, today = chat_tr.servers.database_url, chat_tr.servers.settings.today()
    reply = chat_tr.texts("taksitle ödeyebilir miyim")
    assert "müşteri numaranız" in reply
    reply = chat_tr.texts("10000004 45879 27.11.1985")
    assert "Kaç aylık taksit" in reply and "2 ile 6" in reply and "€312,87" in reply
    reply = chat_tr.texts("üç taksit")
    assert "1. taksit:" in reply and reply.count("€104,29") == 3
    assert "yapayım mı" in reply
    reply = chat_tr.texts("evet")
    assert "Anlaşma tamam" in reply and "3 aylık taksit" in reply
    [plan] = arrangements_of(db, "10000004")
    assert plan.reference in reply and plan.kind == "instalments"
    assert [i.amount for i in plan.instalments] == [Decimal("104.29")] * 3
    assert [i.due_on for i in plan.instalments] == [
        today + dt.timedelta(days=14),
        add_months(today + dt.timedelta(days=14), 1),
        add_months(today + dt.timedelta(days=14), 2),
    ]
    assert len(audit_of(db, plan)) == 1


# --- deferrals -------------------------------------------------------------------------------


def test_german_deferral_after_dates_outside_the_rules(chat: Chat) -> None:
    # Sören Bäcker: 100,63 € overdue, just over the 100 € an arrangement needs.
    db, today = chat.servers.database_url, chat.servers.settings.today()
    chat.texts("Kann ich die Zahlung aufschieben?")
    reply = chat.texts("10000017 45127 09.09.1999")
    latest = day(today + dt.timedelta(days=30))
    assert "Bis wann" in reply and latest in reply

    reply = chat.texts(day(today + dt.timedelta(days=45)))
    assert "höchstens 30 Tage" in reply and latest in reply
    reply = chat.texts(day(today - dt.timedelta(days=4)))
    assert "nicht in der Zukunft" in reply and latest in reply
    assert arrangements_of(db, "10000017") == []

    reply = chat.texts("in 20 Tagen")
    until = today + dt.timedelta(days=20)
    assert day(until) in reply and "100,63 €" in reply and "Stundung" in reply
    reply = chat.texts("ja, passt")
    assert "gestundet" in reply and day(until) in reply
    [deferral] = arrangements_of(db, "10000017")
    assert deferral.reference in reply and deferral.reference.startswith("ST-")
    assert (deferral.kind, deferral.deferred_until, deferral.total) == (
        "deferral",
        until,
        Decimal("100.63"),
    )
    assert deferral.instalments == []
    assert len(audit_of(db, deferral)) == 1


def test_turkish_deferral_chosen_by_button(chat_tr: Chat) -> None:
    # Çağla Koç: 239,50 € open; the first message does not say which arrangement.
    db, today = chat_tr.servers.database_url, chat_tr.servers.settings.today()
    chat_tr.texts("şu an ödeyemiyorum")
    replies = chat_tr.say("10000022 44787 31.01.1995")
    reply = joined(replies)
    assert "€239,50" in reply and "Hangisini tercih edersiniz?" in reply
    buttons = replies[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["Taksitle ödemek", "Ödemeyi ertelemek (Stundung)"]
    reply = chat_tr.texts(buttons[1]["payload"])
    assert "hangi tarihe kadar" in reply
    reply = chat_tr.texts("15 gün")
    until = today + dt.timedelta(days=15)
    assert day(until) in reply
    reply = chat_tr.texts("evet")
    assert "ertelendi" in reply
    [deferral] = arrangements_of(db, "10000022")
    assert deferral.deferred_until == until and deferral.reference in reply


# --- refusals that store nothing --------------------------------------------------------------


def test_a_balance_of_100_euro_or_less_cannot_be_split(chat_tr: Chat) -> None:
    # Ayşe Yılmaz has 83,27 € open.
    before = counts(chat_tr.servers.database_url)
    chat_tr.texts("taksit yapabilir miyiz")
    reply = chat_tr.texts("10000001 47051 12.04.1980")
    assert "€83,27" in reply and "05.02.2025" in reply and "€100,00" in reply
    assert "bağlamamı ister misiniz" in reply  # a person is offered
    reply = chat_tr.texts("hayır, gerek yok")
    assert chat_tr.last_responses() == ["utter_anything_else"]
    assert counts(chat_tr.servers.database_url) == before


def test_too_many_instalments_then_cancelled_stores_nothing(chat_tr: Chat) -> None:
    before = counts(chat_tr.servers.database_url)
    chat_tr.texts("Ratenzahlung istiyorum")
    chat_tr.texts("10000010 47051 23.07.1972")  # İbrahim Kılıç, 166,32 €
    reply = chat_tr.texts("7 taksit")
    assert "mümkün değil" in reply and "2 ile 6" in reply and "€25,00" in reply
    reply = chat_tr.texts("vazgeçtim")
    assert "herhangi bir anlaşma yapmadım" in reply
    assert counts(chat_tr.servers.database_url) == before
    assert arrangements_of(chat_tr.servers.database_url, "10000010") == []


def test_a_second_deferral_within_a_year_is_refused(chat: Chat) -> None:
    # Elif Yıldız (142,31 €) had a deferral agreed 100 days ago, paid since.
    db = chat.servers.database_url
    with session_scope(db) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == "10000020"))
        agreed = utcnow() - dt.timedelta(days=100)
        session.add(
            PaymentArrangement(
                customer_id=customer.id,
                reference="ST-00000020",
                kind="deferral",
                total=Decimal("97.10"),
                deferred_until=(agreed + dt.timedelta(days=30)).date(),
                status="active",
                channel="rest",
                conversation_id="earlier",
                request_id="e2e-earlier-deferral",
                created_at=agreed,
            )
        )
    before = counts(db)
    chat.texts("Ich brauche eine Stundung")
    reply = chat.texts("10000020 45130 16.08.2001")
    assert "nur einmal in zwölf Monaten" in reply
    zone = ZoneInfo(chat.servers.settings.timezone)  # the day it was agreed, locally
    agreed_on = agreed.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    assert day(agreed_on) in reply and day(agreed_on + dt.timedelta(days=365)) in reply
    assert "2 bis 5 Monatsraten" in reply and "Möchten Sie in Raten zahlen?" in reply
    # Asking again for the deferral: the way out, not the same question.
    replies = chat.say("Stundung bitte")
    reply = joined(replies)
    assert "Damit kommen wir leider nicht weiter" in reply and "abbrechen" in reply
    assert "nur einmal in zwölf Monaten" not in reply
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/request_human", "/deny"]
    reply = chat.texts(replies[-1]["buttons"][1]["payload"])  # Abbrechen
    assert "nichts vereinbart" in reply
    assert counts(db) == before


# --- supply blocks -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_announced_block_in_web_chat_goes_to_a_person_with_priority(web: Servers) -> None:
    # Kemal Arslan: 340,40 € overdue, supply block announced on 20.11.2026.
    async with Widget(web.app_url, language="tr") as widget:
        reply = await widget.texts("Sperre mektubu geldi, elektriğimi kesecekler")
        assert "müşteri numaranız" in reply
        messages = await widget.say("10000026 47053 09.02.1977")
    text = " ".join(m["text"] for m in messages).replace("\xa0", " ")
    assert "20.11.2026" in text and "€340,40" in text
    assert "Abwendungsvereinbarung" in text and "StromGVV" in text and "faizsiz" in text
    reference = REFERENCE.search(text)
    assert reference is not None and reference[1] == "SP"

    with session_scope(web.database_url) as session:
        case = session.scalar(select(ServiceCase).where(ServiceCase.reference == reference[0]))
        handoff = session.scalar(
            select(HandoffCase).where(HandoffCase.conversation_id == case.conversation_id)
        )
        assert (case.kind, case.priority, case.status, case.language) == (
            "supply_block",
            True,
            "open",
            "tr",
        )
        assert case.data["balance"] == "340.40" and case.data["announced_on"] == "2026-11-20"
        assert case.data["contracts"] == ["30000040"]
        assert handoff.priority is True and handoff.reason == "supply_block"
        assert handoff.customer_number == "10000026"
        assert case.handoff_case_id == handoff.case_id
        assert handoff.case_id in text
    assert arrangements_of(web.database_url, "10000026") == []


def test_a_block_in_force_goes_to_a_colleague_for_reconnection(chat: Chat) -> None:
    # Sabine Wagner: supply blocked since 25.11.2026.
    chat.texts("Ich kann meine Rechnung nicht bezahlen")
    replies = chat.say("10000027 45127 30.10.1990")
    reply = joined(replies)
    assert "seit dem 25.11.2026 unterbrochen" in reply
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "reconnection"
    case = handoff_for(chat.servers.database_url, chat.sender)
    assert case is not None and case.priority is True and case.customer_number == "10000027"
    assert arrangements_of(chat.servers.database_url, "10000027") == []


# --- the phone -----------------------------------------------------------------------------------


def test_phone_call_choosing_the_instalments_on_the_keypad(servers: Servers) -> None:
    # Hüseyin Güneş calls from his registered number (161,46 € open).
    call = new_call(servers, caller="+492036856798")
    call.start()
    answer = call.press("2")  # Türkçe
    answer = call.say("taksitle ödeyebilir miyim")
    assert "posta kodu" in answer.spoken.lower()
    answer = call.press("47053#")
    answer = call.press("29031979#")
    assert "Kaç aylık taksit" in answer.spoken and "tuşlayabilirsiniz" in answer.spoken
    row = call_row(servers, call.call_sid)  # the keypad reads one digit as the answer
    assert row is not None and row.expects == {"kind": "digits", "length": 1}
    answer = call.press("3")
    assert answer.spoken.count("53 avro 82 sent") == 3 and "yapayım mı" in answer.spoken
    answer = call.say("evet")
    assert "Anlaşma tamam" in answer.spoken
    [plan] = arrangements_of(servers.database_url, "10000014")
    assert (plan.channel, plan.conversation_id) == ("voice", call.call_sid)
    assert [i.amount for i in plan.instalments] == [Decimal("53.82")] * 3
    # the reference read out letter by letter and digit by digit
    prefix, number = plan.reference.split("-")
    spoken_digits = re.sub(r"\D", "", answer.spoken.split("Anlaşma numaranız")[1])
    assert spoken_digits.startswith(number)
    assert "R Z" in answer.spoken
    assert len(audit_of(servers.database_url, plan)) == 1
