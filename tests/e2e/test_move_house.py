"""Moving house against the real servers: REST in German and Turkish, web chat, a phone call.

Each conversation ends with what an agent finds in the database: the move case
with its details, the final readings (reason `move_out`) and the audit entry;
the refusals leave every table as it was.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.domain.models import AuditEntry, Contract, MeterReading, ServiceCase
from bot.domain.references import spoken
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, row_counts
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers
from tests.harness.web_clients import Widget

TODAY = dt.date.today()


#: the contracts whose meters these conversations read (Claudia Neumann, Hatice Kaya)
MOVING_CONTRACTS = ("30000038", "30000039", "30000042", "30000043")


@pytest.fixture(autouse=True)
def meters_as_in_the_demo_file(servers: Servers) -> None:
    """The servers are shared: readings other conversations gave for these meters go
    first, so each conversation's last reading is the demo file's (the texts name it)."""
    with session_scope(servers.database_url) as session:
        contracts = select(Contract.id).where(Contract.contract_number.in_(MOVING_CONTRACTS))
        session.execute(
            delete(MeterReading)
            .where(MeterReading.source == "customer", MeterReading.contract_id.in_(contracts))
            .execution_options(synchronize_session=False)
        )


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def german(date: dt.date) -> str:
    return date.strftime("%d.%m.%Y")


def move_case(database_url: str, conversation_id: str) -> ServiceCase | None:
    with session_scope(database_url) as session:
        case = session.scalars(
            select(ServiceCase).where(ServiceCase.conversation_id == conversation_id)
        ).one_or_none()
        if case is not None:
            _ = case.customer  # loaded before the session closes
            session.expunge_all()
        return case


def move_readings(database_url: str, conversation_id: str) -> list[dict[str, Any]]:
    with session_scope(database_url) as session:
        readings = session.scalars(
            select(MeterReading)
            .where(MeterReading.conversation_id == conversation_id)
            .order_by(MeterReading.id)
        ).all()
        return [
            {
                "contract": r.contract.contract_number,
                "value": r.value,
                "read_on": r.read_on,
                "reason": r.reason,
                "confirmed": r.confirmed,
                "channel": r.channel,
                "id": r.id,
            }
            for r in readings
        ]


def audit_of(database_url: str, case: ServiceCase) -> list[dict[str, Any]]:
    with session_scope(database_url) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "move_reported")
        ).all()
        return [e.detail for e in entries if e.detail.get("service_case") == case.id]


# --- REST, German: moving within the area ------------------------------------------------


def test_german_move_within_the_area_with_final_readings(chat: Chat) -> None:
    url = chat.servers.database_url
    replies = chat.say("Hallo, ich ziehe um")
    assert "Art von Umzug" in replies[-1]["text"]
    titles = [b["title"] for b in replies[-1]["buttons"]]
    assert titles == [
        "Ich ziehe aus dem Versorgungsgebiet weg",
        "Ich ziehe innerhalb des Versorgungsgebiets um",
        "Ich ziehe neu ein und bin noch kein Kunde",
    ]
    # the button's payload, as the widget sends it
    assert "Kundennummer" in chat.texts(replies[-1]["buttons"][1]["payload"])
    reply = chat.texts("10000025, 44137, 21.06.1983")  # Claudia Neumann
    assert "identifiziert" in reply and "An welchem Tag" in reply
    moved_on = day(-3)
    assert "neue Adresse" in chat.texts(german(moved_on))
    reply = chat.texts("Rüttenscheider Straße 5a, 45130 Essen")
    assert "Zählerstände vom Umzugstag" in reply
    assert "1ESY1160300381" in reply and "44.680 kWh am 31.12.2025" in reply
    reply = chat.texts("47.210")
    assert "7ELS8210300392" in reply and "9.095,2 m³" in reply
    reply = chat.texts("habe ich noch nicht")
    assert "Bitte prüfen Sie Ihre Umzugsmeldung" in reply
    assert "Rüttenscheider Straße 5a, 45130 Essen" in reply
    assert "Strom (Vertrag 30000038): läuft ab" in reply and "47.210 kWh" in reply
    assert "folgt noch" in reply
    assert move_case(url, chat.sender) is None  # nothing before the yes

    replies = chat.say("ja, alles richtig")
    case = move_case(url, chat.sender)
    assert case is not None
    assert case.reference in replies[0]["text"]
    receipt = replies[1]["text"]  # a message of its own, to copy
    assert receipt.splitlines()[1] == f"Vorgangsnummer: {case.reference}"
    assert "Umzug innerhalb unseres Versorgungsgebiets" in receipt
    assert "Zählerstand melden" in replies[-1]["text"]

    assert (case.kind, case.status, case.language, case.channel) == ("move", "open", "de", "rest")
    assert case.customer.customer_number == "10000025"
    data = case.data
    assert data["kind"] == "within" and data["move_date"] == moved_on.isoformat()
    assert data["old_address"] == {"postcode": "44137"}
    assert data["new_address"] == {
        "street": "Rüttenscheider Straße 5a",
        "postcode": "45130",
        "town": "Essen",
    }
    assert [(c["contract_number"], c["outcome"]) for c in data["contracts"]] == [
        ("30000038", "moves"),
        ("30000039", "moves"),
    ]
    [reading] = move_readings(url, chat.sender)
    assert reading["contract"] == "30000038" and reading["value"] == Decimal("47210")
    assert (reading["read_on"], reading["reason"], reading["channel"]) == (
        moved_on,
        "move_out",
        "rest",
    )
    assert [(r["status"], r["meter_reading_id"]) for r in data["readings"]] == [
        ("given", reading["id"]),
        ("missing", None),
    ]
    assert data["readings_missing"] is True
    assert audit_of(url, case) == [
        {
            "service_case": case.id,
            "channel": "rest",
            "priority": False,
            "kind": "within",
            "readings_given": 1,
            "readings_missing": True,
        }
    ]
    # a second "ja" (a double click) records nothing more
    chat.texts("ja")
    assert move_case(url, chat.sender).reference == case.reference
    assert len(move_readings(url, chat.sender)) == 1


# --- REST, Turkish: moving out ----------------------------------------------------------------


def test_turkish_move_out_with_a_forwarding_address_and_a_confirmed_reading(chat_tr: Chat) -> None:
    chat, url = chat_tr, chat_tr.servers.database_url
    reply = chat.texts("Merhaba, başka şehre taşınıyorum")
    assert "Nasıl bir taşınma" in reply
    assert "müşteri numaranız" in chat.texts("Hizmet bölgenizin dışına taşınıyorum")
    reply = chat.texts("10000028 44139 03.12.1986")  # Hatice Kaya
    assert "Hangi gün" in reply
    moved_on = day(-2)
    assert "Yeni adres" in chat.texts(german(moved_on))
    reply = chat.texts("Torstraße 12, 10115 Berlin")  # moving out: any postcode
    assert "kapanış faturası" in reply and "Torstraße 12, 10115 Berlin" in reply
    assert "hangi adrese" in chat.texts("hayır")
    reply = chat.texts("Postweg 1, 50667 Köln")
    assert "1ESY1160300425" in reply and "15.320 kWh" in reply
    reply = chat.texts("15.900")
    assert "1ESY1160300436" in reply  # the heat pump's meter
    reply = chat.texts("30000")  # below the last reading, 30.544 kWh
    assert "30.000 kWh" in reply and "30.544 kWh" in reply and "Doğru okudunuz mu" in reply
    reply = chat.texts("evet, doğru")
    assert "Her şey doğru mu" in reply
    assert "Postweg 1, 50667 Köln" in reply and "sona eriyor" in reply
    replies = chat.say("evet")
    case = move_case(url, chat.sender)
    assert case is not None and case.reference in replies[0]["text"]
    assert "Başvuru numarası (Vorgangsnummer)" in replies[1]["text"]
    assert "Kapanış faturasını Postweg 1, 50667 Köln" in replies[2]["text"]
    assert len(replies) == 3  # no reading missing

    assert case.language == "tr" and case.customer.customer_number == "10000028"
    data = case.data
    assert data["kind"] == "out" and data["move_date"] == moved_on.isoformat()
    assert data["new_address"]["town"] == "Berlin"
    assert data["forwarding_address"] == {
        "street": "Postweg 1",
        "postcode": "50667",
        "town": "Köln",
    }
    assert [(c["outcome"], c["final_bill"]) for c in data["contracts"]] == [("ends", True)] * 2
    readings = move_readings(url, chat.sender)
    assert [(r["contract"], r["value"], r["confirmed"]) for r in readings] == [
        ("30000042", Decimal("15900"), False),
        ("30000043", Decimal("30000"), True),
    ]
    assert all(r["reason"] == "move_out" and r["read_on"] == moved_on for r in readings)
    assert [r["confirmed"] for r in data["readings"]] == [False, True]
    assert data["readings_missing"] is False
    assert audit_of(url, case)[0]["kind"] == "out"


# --- refusals ------------------------------------------------------------------------------------


def test_german_refusals_a_year_ahead_and_outside_the_area_store_nothing(chat: Chat) -> None:
    url = chat.servers.database_url
    chat.texts("Umzug melden")
    chat.texts("innerhalb des Versorgungsgebiets")
    chat.texts("Kundennummer 10000002, PLZ 44137, geboren am 12.03.1975")  # Jürgen Müller
    counts = row_counts(url)  # after the identity check, which keeps its own records
    a_year_ahead = day(365)
    reply = chat.texts(f"am {german(a_year_ahead)}")
    assert "bis zu sechs Monate im Voraus" in reply
    assert "An welchem Tag" in reply  # asked again
    assert "neue Adresse" in chat.texts(german(day(30)))
    replies = chat.say("Torstraße 12, 10115 Berlin")
    text = "\n".join(r["text"] for r in replies)
    assert "10115 liegt nicht in unserem Versorgungsgebiet" in text
    assert any(b["title"] == "Verträge beenden" for r in replies for b in r.get("buttons", []))
    assert "Postleitzahl der neuen Adresse" in text
    # the same postcode again: refused again, and a way out is offered
    replies = chat.say("10115")
    way_out = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert "/request_human" in way_out and "/deny" in way_out
    assert "nichts gespeichert" in chat.texts("abbrechen")
    assert move_case(url, chat.sender) is None
    assert row_counts(url) == counts


def test_turkish_refusal_a_year_ahead_stores_nothing(chat_tr: Chat) -> None:
    url = chat_tr.servers.database_url
    chat_tr.texts("umzug yapacağım")
    chat_tr.texts("Hizmet bölgeniz içinde taşınıyorum")
    chat_tr.texts("10000001 47051 12.04.1980")  # Ayşe Yılmaz
    counts = row_counts(url)  # after the identity check, which keeps its own records
    reply = chat_tr.texts(german(day(365)))
    assert "en fazla altı ay önceden" in reply
    reply = chat_tr.texts("vazgeçtim")
    assert "hiçbir şey kaydetmedim" in reply
    assert move_case(url, chat_tr.sender) is None
    assert row_counts(url) == counts


# --- web chat: someone new moves in ------------------------------------------------------------


@pytest.mark.asyncio
async def test_web_chat_newcomer_moves_in_and_keeps_the_receipt(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        asked = await widget.say("Hallo, ich ziehe nach Essen und brauche Strom")
        kinds = asked[-1]["buttons"]
        assert asked[-1]["expects"] == {"kind": "choice"}
        newcomer = kinds[2]
        asked = await widget.say(newcomer["title"], payload=newcomer["payload"])
        assert asked[-1]["expects"] == {"kind": "date"}  # no identity check
        move_in = day(20)
        asked = await widget.say(german(move_in))
        assert asked[-1]["expects"] == {"kind": "text"}
        asked = await widget.say("Kettwiger Straße 20")
        assert asked[-1]["expects"] == {"kind": "digits", "length": 5}
        reply = await widget.texts("45127")
        assert "welchem Ort" in reply
        assert "Vor- und" in await widget.texts("Essen")
        assert "Geburtsdatum" in await widget.texts("Deniz Aksoy")
        assert "Telefonnummer" in await widget.texts("17.05.1994")
        reply = await widget.texts("deniz.aksoy@example.org")
        assert "Einzug als neue Kundin oder neuer Kunde" in reply
        assert "Kettwiger Straße 20, 45127 Essen" in reply
        said = await widget.say("Ja")
        chat_id = widget.session["token"]
    assert chat_id
    with session_scope(web.database_url) as session:
        case = session.scalars(
            select(ServiceCase).where(ServiceCase.kind == "move", ServiceCase.channel == "web")
        ).all()[-1]
        session.expunge_all()
    assert case.reference in said[0]["text"]
    receipt = said[1]["text"]
    assert receipt.splitlines()[1:3] == [
        f"Vorgangsnummer: {case.reference}",
        "Art des Umzugs: Einzug als neue Kundin oder neuer Kunde",
    ]
    assert "deniz.aksoy@example.org" in said[2]["text"]
    assert case.customer_id is None and case.language == "de"
    assert case.data["kind"] == "in" and case.data["move_date"] == move_in.isoformat()
    assert case.data["new_address"] == {
        "street": "Kettwiger Straße 20",
        "postcode": "45127",
        "town": "Essen",
    }
    assert case.data["newcomer"] == {
        "name": "Deniz Aksoy",
        "birth_date": "1994-05-17",
        "contact": "deniz.aksoy@example.org",
    }
    assert audit_of(web.database_url, case)[0]["channel"] == "web"


# --- the phone: keypad for the date, postcode and reading; the street by speech ----------------


def test_phone_call_move_within_the_area(servers: Servers) -> None:
    # Claudia Neumann calls from her registered number: no customer number asked.
    call = new_call(servers, caller="+4923112340025")
    call.start()
    call.press("1")
    answer = call.say("Ich ziehe um")
    assert "Drücken Sie die 1 für Ich ziehe aus dem Versorgungsgebiet weg" in answer.spoken
    answer = call.press("2")
    assert "Postleitzahl" in answer.spoken
    call.press("44137#")
    answer = call.press("21061983#")
    assert "tippen Sie das Datum ein" in answer.spoken
    moved_on = day(-1)
    answer = call.press(moved_on.strftime("%d%m%Y") + "#")
    assert "Straße und Hausnummer" in answer.spoken
    answer = call.say("Rüttenscheider Straße 5a")
    assert "Postleitzahl der neuen Adresse" in answer.spoken
    answer = call.press("45130#")
    assert "Ort" in answer.spoken
    answer = call.say("Essen")
    # the meter number digit by digit, the last reading, the keypad offered
    assert "Strom (Zählernummer 1 E S Y 1 1 6 0 3 0 0 3 8 1)" in answer.spoken
    assert "44680 Kilowattstunden am 31. Dezember 2025" in answer.spoken
    assert "eintippen" in answer.spoken
    answer = call.press("47210#")
    assert "Gas (Zählernummer 7 E L S 8 2 1 0 3 0 0 3 9 2)" in answer.spoken
    assert "Drücken Sie die 1 für Habe ich noch nicht" in answer.spoken
    answer = call.press("1")  # the gas reading comes later
    assert "Ich fasse zusammen" in answer.spoken and "Ist alles richtig" in answer.spoken
    assert "Neue Adresse: Rüttenscheider Straße 5a, 45130 Essen." in answer.spoken
    answer = call.say("ja")
    case = move_case(servers.database_url, call.call_sid)
    assert case is not None and case.channel == "voice"
    assert spoken(case.reference) in answer.spoken
    assert "Ich wiederhole" in answer.spoken and "Zählerstand melden" in answer.spoken
    assert case.data["kind"] == "within" and case.data["move_date"] == moved_on.isoformat()
    assert case.data["new_address"]["street"] == "Rüttenscheider Straße 5a"
    [reading] = move_readings(servers.database_url, call.call_sid)
    assert (reading["value"], reading["channel"], reading["read_on"]) == (
        Decimal("47210"),
        "voice",
        moved_on,
    )
