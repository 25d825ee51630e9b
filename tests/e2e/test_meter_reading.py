"""Meter readings end to end: REST conversations in German and Turkish, web chat and
phone calls, against the real Rasa, action and web servers; the database is checked.

The servers share one database for the whole test session, and other flows (moving
house) may store readings of the same demo meters. So each test reads the meter's
last reading first and gives a value that is plausible (400 above it: less than
twice the consumption expected even for the shortest interval) or implausible
(below it), and finds its own rows by the conversation id.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain import i18n
from bot.domain.models import AuditEntry, MeterReading
from bot.domain.services import meter_readings as mr
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_for, handoff_payload, joined, row_counts
from tests.e2e.test_voice import new_call
from tests.e2e.test_web_chat import stored_chat
from tests.harness.servers import Servers
from tests.harness.web_clients import Widget

CLAUDIA = ("10000025", "Kundennummer 10000025, PLZ 44137, geboren am 21.06.1983")
CLAUDIA_POWER, CLAUDIA_GAS = "30000038", "30000039"
HATICE = ("10000028", "müşteri numaram 10000028, posta kodu 44139, doğum tarihim 03.12.1986")
HATICE_BASIC, HATICE_HEAT_PUMP = "30000042", "30000043"
AYSE = ("10000001", "10000001 47051 12.04.1980")
AYSE_POWER = "30000001"
JUERGEN_GAS = "30000003"
HANS_JUERGEN = ("10000013", "10000013 44139 17.01.1962")
HANS_JUERGEN_GAS = "30000020"
#: a plausible step above the last reading (30 days are expected at least: 231 kWh, 83 m³)
STEP = Decimal(400)
GERMAN_DIGITS = ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]
TURKISH_DIGITS = ["sıfır", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz"]


def meter(servers: Servers, customer: str, contract: str) -> mr.Meter:
    with session_scope(servers.database_url) as session:
        return next(m for m in mr.meters_of(session, customer) if m.contract_number == contract)


def plausible(servers: Servers, customer: str, contract: str) -> tuple[int, str]:
    """A value the check finds plausible now, and the verdict it gets (first or plausible)."""
    last = meter(servers, customer, contract).last
    if last is None:
        return 12345, "first"
    return int(last.value + STEP), "plausible"


def stored(servers: Servers, conversation_id: str) -> list[MeterReading]:
    """The readings a conversation stored, with their contract numbers loaded."""
    with session_scope(servers.database_url) as session:
        rows = session.scalars(
            select(MeterReading)
            .where(MeterReading.conversation_id == conversation_id)
            .order_by(MeterReading.id)
        ).all()
        for row in rows:
            _ = row.contract.contract_number
        session.expunge_all()
        return list(rows)


def audit_of(servers: Servers, reading: MeterReading) -> AuditEntry:
    with session_scope(servers.database_url) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "meter_reading_submitted")
        ).all()
        [entry] = [e for e in entries if e.detail.get("meter_reading") == reading.id]
        session.expunge(entry)
        return entry


def changed_data(servers: Servers) -> dict[str, int]:
    """Rows per table, but for the identity checks' own bookkeeping (identity_guards)."""
    counts = row_counts(servers.database_url)
    counts.pop("identity_guards")
    return counts


def titles(replies: list[dict]) -> list[str]:
    """The titles of the buttons the bot offered."""
    return [button["title"] for reply in replies for button in reply.get("buttons") or []]


def reading_count(servers: Servers) -> int:
    with session_scope(servers.database_url) as session:
        return session.scalar(select(func.count()).select_from(MeterReading))


def german(value: int) -> str:
    """A number said digit by digit in German: 12345 → "eins zwei drei vier fünf"."""
    return " ".join(GERMAN_DIGITS[int(d)] for d in str(value))


def de(value: Decimal | int) -> str:
    """How a German customer reads a number: 47.350, 9.950,5."""
    return i18n.number(Decimal(value), "de")


def today(servers: Servers) -> dt.date:
    """Today where the utility is (readings are dated in its time zone)."""
    return servers.settings.today()


# --- REST ---------------------------------------------------------------------------------------


def test_german_reading_is_stored_with_channel_and_audit_entry(chat: Chat) -> None:
    servers = chat.servers
    value, verdict = plausible(servers, CLAUDIA[0], CLAUDIA_POWER)
    last = meter(servers, CLAUDIA[0], CLAUDIA_POWER).last
    assert "Kundennummer" in chat.texts("Zählerstand melden")
    replies = chat.say(CLAUDIA[1])
    assert "Für welchen Zähler" in joined(replies)
    assert titles(replies) == ["Strom, Zähler …0381", "Gas, Zähler …0392"]
    reply = chat.texts("Strom")
    # the meter and its last reading, to help
    assert "1ESY1160300381" in reply and f"{de(last.value)} kWh" in reply
    reply = chat.texts(f"{de(value)} kWh")
    assert (
        f"{de(value)} kWh für Strom (Zähler 1ESY1160300381), abgelesen am {today(servers):%d.%m.%Y}"
        in reply
    )
    assert "nächste Abrechnung" in reply and "Ich ziehe um" in reply

    [row] = stored(servers, chat.sender)
    assert row.contract.contract_number == CLAUDIA_POWER
    assert (row.value, row.unit, row.read_on) == (Decimal(value), "kWh", today(servers))
    assert (row.channel, row.plausibility, row.confirmed) == ("rest", verdict, False)
    assert (row.source, row.reason) == ("customer", "regular")
    entry = audit_of(servers, row)
    assert entry.agent_id is None
    assert entry.detail == {
        "meter_reading": row.id,
        "channel": "rest",
        "plausibility": verdict,
        "confirmed": False,
        "reason": "regular",
    }

    # A second "danke" or re-delivered message stores nothing more.
    chat.texts("danke")
    assert len(stored(servers, chat.sender)) == 1


def test_turkish_first_reading_of_a_file_with_bills_only(chat_tr: Chat) -> None:
    servers = chat_tr.servers
    value, verdict = plausible(servers, AYSE[0], AYSE_POWER)
    assert "müşteri numaranız" in chat_tr.texts("Zählerstand'ı göndermek istiyorum")
    # one meter: no question which one
    reply = chat_tr.texts(AYSE[1])
    assert "1ESY1160123456" in reply and "güncel değeri nedir" in reply
    reply = chat_tr.texts(f"sayaçta {value} yazıyor")
    assert f"{de(value)} kWh" in reply and "kaydedildi" in reply
    assert "bir sonraki faturanızda" in reply
    [row] = stored(servers, chat_tr.sender)
    assert (row.value, row.plausibility, row.confirmed, row.channel) == (
        Decimal(value),
        verdict,
        False,
        "rest",
    )


def test_an_implausible_reading_is_read_back_and_stored_once_confirmed(chat: Chat) -> None:
    servers = chat.servers
    last = meter(servers, CLAUDIA[0], CLAUDIA_GAS).last
    low = int(last.value) - 972  # a digit read wrong: below the last reading
    chat.texts(f"Zählerstand Gas {low}")
    reply = chat.texts(CLAUDIA[1])
    # the gas meter was named, the reading too: it is read back with the last one
    assert f"Sie haben {de(low)} m³ genannt" in reply
    assert f"letzter Zählerstand war aber {de(last.value)} m³" in reply
    assert stored(servers, chat.sender) == []
    reply = chat.texts("ja, das stimmt so")
    assert f"bestätigter Zählerstand ist gespeichert: {de(low)} m³ für Gas" in reply
    [row] = stored(servers, chat.sender)
    assert (row.value, row.unit) == (Decimal(low), "m3")
    assert (row.plausibility, row.confirmed) == ("below_last", True)
    assert audit_of(servers, row).detail["confirmed"] is True


def test_an_implausible_reading_refused_goes_to_a_person_and_stores_nothing(
    chat_tr: Chat,
) -> None:
    servers = chat_tr.servers
    readings_before = reading_count(servers)
    last = meter(servers, HATICE[0], HATICE_BASIC).last
    low = int(last.value) - 3000
    chat_tr.texts("sayaç okumamı bildirmek istiyorum")
    reply = chat_tr.texts(HATICE[1])
    assert "Birden fazla elektrik sayacınız var" in reply
    chat_tr.texts("Strom Basis")
    reply = chat_tr.texts(str(low))
    assert f"{de(low)} kWh belirttiniz" in reply and "doğru mu?" in reply
    reply = chat_tr.texts("hayır")
    assert f"{de(low)} kWh değerini kaydetmiyorum" in reply
    # the same value again, without a yes: a person is offered
    replies = chat_tr.say(str(low))
    assert "tekrar belirttiniz" in joined(replies)
    buttons = {b["title"]: b["payload"] for r in replies for b in r.get("buttons", [])}
    replies = chat_tr.say(buttons["Bir çalışanla görüşmek"])
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "implausible_reading"
    case = handoff_for(servers.database_url, chat_tr.sender)
    assert case is not None and case.customer_number == HATICE[0]
    assert stored(servers, chat_tr.sender) == []
    assert reading_count(servers) == readings_before


def test_one_of_two_electricity_meters_chosen_by_its_last_digits(chat_tr: Chat) -> None:
    servers = chat_tr.servers
    value, verdict = plausible(servers, HATICE[0], HATICE_HEAT_PUMP)
    chat_tr.texts("elektrik sayacımın değerini vermek istiyorum")
    replies = chat_tr.say(HATICE[1])
    assert "Birden fazla elektrik sayacınız var" in joined(replies)
    assert titles(replies) == ["Strom Basis, sayaç …0425", "Wärmepumpe Strom, sayaç …0436"]
    reply = chat_tr.texts("sonu 0436 olan")
    assert "1ESY1160300436" in reply
    # said digit by digit, in Turkish
    reply = chat_tr.texts(" ".join(TURKISH_DIGITS[int(d)] for d in str(value)))
    assert f"{de(value)} kWh" in reply and "(sayaç 1ESY1160300436)" in reply
    [row] = stored(servers, chat_tr.sender)
    assert row.contract.contract_number == HATICE_HEAT_PUMP
    assert (row.meter_number, row.value, row.plausibility) == (
        "1ESY1160300436",
        Decimal(value),
        verdict,
    )


def test_impossible_values_get_an_answer_then_a_way_out_and_change_nothing(chat: Chat) -> None:
    servers = chat.servers
    counts = changed_data(servers)
    chat.texts("ich will meinen Stromzähler durchgeben")
    reply = chat.texts("10000002 44137 12.03.1975")
    assert "Zählernummer 1ESY1160126813" in reply  # the electricity meter, named up front
    assert "nicht negativ" in chat.texts("-4500")
    in_future = (today(servers) + dt.timedelta(days=10)).strftime("%d.%m.%Y")
    reply = chat.texts(f"4500 am {in_future}")
    # the second unusable answer in a row: what was wrong, and a way out
    assert f"Das Ablesedatum {in_future} liegt in der Zukunft" in reply
    assert "mit einer Mitarbeiterin oder einem Mitarbeiter sprechen" in reply
    assert "zu lang" in chat.texts("123456789012345")
    reply = chat.texts("nein, abbrechen")
    assert "keinen Zählerstand gespeichert" in reply
    assert changed_data(servers) == counts


# --- web chat --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_web_chat_reading_with_the_keyboard_for_digits(web: Servers) -> None:
    value, verdict = plausible(web, HANS_JUERGEN[0], HANS_JUERGEN_GAS)
    async with Widget(web.app_url) as widget:
        await widget.say("hab abgelesen, zählerstand gas")
        asked = await widget.say(HANS_JUERGEN[1])
        # one gas meter: straight to the reading, with the keyboard for digits
        assert "7ELS" in asked[-1]["text"]
        assert asked[-1]["expects"] == {"kind": "digits"}
        reply = await widget.texts(f"{value},0 m³")
        assert f"{de(value)} m³ für Gas" in reply
        conversation = stored_chat(web, widget).conversation_id
    [row] = stored(web, conversation)
    assert row.contract.contract_number == HANS_JUERGEN_GAS
    assert (row.channel, row.plausibility, row.value) == ("web", verdict, Decimal(value))


# --- phone -------------------------------------------------------------------------------------


def test_turkish_call_reading_keyed_in(servers: Servers) -> None:
    value, verdict = plausible(servers, HATICE[0], HATICE_HEAT_PUMP)
    # Hatice calls from her registered number: no customer number asked
    call = new_call(servers, caller="+4915112340028")
    call.start()
    call.press("2")
    answer = call.say("sayaç okumamı bildirmek istiyorum")
    assert "posta kodu" in answer.spoken
    call.press("44139#")
    answer = call.press("03121986#")
    assert "için 1" in answer.spoken and "için 2" in answer.spoken  # a keypad menu
    answer = call.press("2")
    # the meter number read out character by character, the keypad offered
    assert "1 E S Y 1 1 6 0 3 0 0 4 3 6" in answer.spoken and "kare tuşuna" in answer.spoken
    answer = call.press(f"{value}#")
    assert f"{value} kilovatsaat" in answer.spoken and "kaydedildi" in answer.spoken
    [row] = stored(servers, call.call_sid)
    assert (row.channel, row.value, row.plausibility) == ("voice", Decimal(value), verdict)
    assert row.contract.contract_number == HATICE_HEAT_PUMP


def test_german_call_reading_spoken(servers: Servers) -> None:
    value, verdict = plausible(servers, "10000002", JUERGEN_GAS)
    call = new_call(servers, caller="+492319759098")  # Jürgen Müller's number
    call.start()
    call.press("1")
    answer = call.say("Ich möchte meinen Gaszählerstand durchgeben")
    assert "Postleitzahl" in answer.spoken
    call.press("44137#")
    answer = call.press("12031975#")
    assert "Zählers für Gas" in answer.spoken and "Rautetaste" in answer.spoken
    answer = call.say(german(value))  # "eins zwei drei vier fünf"
    assert f"{value} Kubikmeter für Gas" in answer.spoken
    [row] = stored(servers, call.call_sid)
    assert (row.channel, row.value, row.plausibility) == ("voice", Decimal(value), verdict)


def test_a_call_with_an_implausible_reading_read_back(servers: Servers) -> None:
    last = meter(servers, CLAUDIA[0], CLAUDIA_POWER).last
    high = int(last.value) + 40000
    call = new_call(servers)
    call.start()
    call.press("1")
    call.say("Zählerstand Strom melden")
    call.press("10000025#")
    call.press("44137#")
    answer = call.press("21061983#")
    assert "Zählers für Strom" in answer.spoken
    answer = call.press(f"{high}#")
    assert f"{high} Kilowattstunden" in answer.spoken and "richtig?" in answer.spoken
    answer = call.say("nein")
    assert "speichere ich nicht" in answer.spoken
    # unsure: a person checks the reading with the caller (the test hotline is staffed)
    answer = call.say("Ich möchte lieber mit einem Mitarbeiter sprechen")
    assert answer.transfer is not None
    case = handoff_for(servers.database_url, call.call_sid)
    assert case is not None and (case.reason, case.channel) == ("implausible_reading", "voice")
    assert stored(servers, call.call_sid) == []
