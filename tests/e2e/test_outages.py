"""Supply faults against the real servers: known outages, quick checks, fault tickets.

Each conversation is checked in the database: the fault case with its data
when a ticket is due, and nothing at all stored when the answer was a known
outage, a quick-check tip, a postcode outside our grid or a cancelled
report. Known outages are written into the database like the import and the
console write them (bot/domain/services/faults.py).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.domain.models import KnownOutage, ServiceCase
from bot.domain.services import faults
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers

REFERENCE = re.compile(r"SM-\d{8}")


def fault_cases(database_url: str, conversation_id: str) -> list[ServiceCase]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(ServiceCase).where(
                    ServiceCase.conversation_id == conversation_id, ServiceCase.kind == "fault"
                )
            )
        )
        session.expunge_all()
        return rows


@pytest.fixture
def known_outage(servers: Servers):
    """A power outage in 45127 since an hour ago, expected to end in three hours."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    with session_scope(servers.database_url) as session:
        outage = faults.save_outage(
            session,
            postcode="45127",
            commodity="electricity",
            started_at=now - dt.timedelta(hours=1),
            expected_end=now + dt.timedelta(hours=3),
            note_de="Ein Kabel wurde bei Bauarbeiten beschädigt",
            note_tr="İnşaat çalışmalarında bir kablo hasar gördü",
        )
    yield outage
    with session_scope(servers.database_url) as session:
        session.delete(session.get(KnownOutage, outage.id))


def test_german_power_fault_becomes_a_ticket(servers: Servers):
    chat = Chat(servers)
    assert "Postleitzahl" in chat.texts("Bei uns ist seit einer Stunde der Strom weg")
    reply = chat.say("44137")
    assert "Nachbarn" in reply[-1]["text"]
    assert [b["title"] for b in reply[-1]["buttons"]] == [
        "Nur bei mir",
        "Nachbarn auch",
        "Weiß ich nicht",
    ]
    assert "Sicherungskasten" in chat.texts("Nur bei mir")
    assert "Straße und Hausnummer" in chat.texts("ja, hab ich, alles oben")
    assert "Beschreiben" in chat.texts("Kampstraße 12")
    assert "Telefonnummer" in chat.texts("seit heute Mittag kein Strom in der ganzen Wohnung")
    reply = chat.texts("0231 1234567")

    assert REFERENCE.search(reply) and "2 Stunden" in reply and "0231 1234567" in reply
    (case,) = fault_cases(servers.database_url, chat.sender)
    assert case.reference in reply
    assert case.status == "open" and not case.priority and case.channel == "rest"
    assert case.data == {
        "commodity": "electricity",
        "postcode": "44137",
        "address": "Kampstraße 12",
        "description": "seit heute Mittag kein Strom in der ganzen Wohnung",
        "callback_number": "0231 1234567",
        "checks": {"scope": "home", "checked": True},
        "callback_within_hours": 2,
    }


def test_known_outage_is_named_with_its_end_and_nothing_is_stored(servers: Servers, known_outage):
    chat = Chat(servers)
    reply = chat.texts("Stromausfall in 45127")
    assert "45127" in reply and "bekannt" in reply
    assert "Kabel wurde bei Bauarbeiten beschädigt" in reply
    assert re.search(r"(heute|morgen) um \d{1,2}:\d{2} Uhr behoben", reply), reply
    assert "Sicherung" not in reply  # a known outage: no question about fuses
    assert fault_cases(servers.database_url, chat.sender) == []
    assert not (chat.tracker().get("active_loop") or {}).get("name")


def test_a_postcode_named_before_the_commodity_finds_the_known_outage(
    servers: Servers, known_outage
):
    chat = Chat(servers)
    assert "Was ist ausgefallen" in chat.texts("Ich möchte eine Störung in 45127 melden")
    reply = chat.texts("Strom")
    assert "bekannt" in reply and "Kabel wurde bei Bauarbeiten beschädigt" in reply
    assert fault_cases(servers.database_url, chat.sender) == []


def test_turkish_known_outage(servers: Servers, known_outage):
    chat = Chat(servers, metadata={"language": "tr"})
    assert "posta kodu" in chat.texts("elektrik yok")
    reply = chat.texts("45127")
    assert "bilinen bir arıza" in reply and "kablo hasar gördü" in reply
    assert re.search(r"(bugün|yarın) saat \d{2}:\d{2}", reply), reply


def test_water_not_checked_gets_the_tip_and_no_ticket(servers: Servers):
    chat = Chat(servers)
    chat.say("Wir haben kein Wasser")
    chat.say("44137")
    assert "Haupthahn" in chat.texts("nur bei mir")
    reply = chat.texts("nein, noch nicht")
    assert "Haupthahn" in reply and "Störung melden" in reply
    assert fault_cases(servers.database_url, chat.sender) == []


def test_turkish_street_light_ticket_asks_no_callback(servers: Servers):
    chat = Chat(servers, metadata={"language": "tr"})
    assert "posta kodu" in chat.texts("sokak lambası yanmıyor")
    assert "Lamba nerede" in chat.texts("47051")
    assert "Lambaya ne oldu" in chat.texts("Kampstraße 12 önünde")
    reply = chat.texts("tamamen sönük")
    assert REFERENCE.search(reply) and "3 iş günü" in reply
    (case,) = fault_cases(servers.database_url, chat.sender)
    assert case.data["commodity"] == "street_light" and case.data["callback_number"] is None
    assert case.language == "tr"


def test_outside_the_grid_and_cancelling_store_nothing(servers: Servers):
    chat = Chat(servers)
    chat.say("Störung melden")
    chat.say("Strom")
    assert "nicht in unserem Netzgebiet" in chat.texts("10115")
    assert fault_cases(servers.database_url, chat.sender) == []
    chat.say("Kein Wasser")
    assert "keine Störung aufgenommen" in chat.texts("abbrechen")
    assert fault_cases(servers.database_url, chat.sender) == []


def test_bad_answers_are_asked_again(servers: Servers):
    chat = Chat(servers)
    chat.say("Fernwärme ist kalt")
    assert "fünfstellige Postleitzahl" in chat.texts("irgendwo")
    chat.say("44137")
    chat.say("die ganze Straße")
    assert "Straße und Hausnummer" in chat.texts("🙂")
    chat.say("Kampstraße 12")
    chat.say("Heizkörper seit gestern kalt")
    assert "keine Telefonnummer" in chat.texts("12")


def test_phone_fault_uses_the_callers_number_and_says_the_end_time(servers: Servers, known_outage):
    call = new_call(servers, caller="+492319759098")
    call.start()
    call.press("1")
    assert "Postleitzahl" in call.say("Kein Strom im Haus").spoken
    answer = call.press("44137#")
    assert "Drücken Sie die 1 für Nur bei mir" in answer.spoken
    call.press("2")  # neighbours too: no fuse question
    assert "Straße und Hausnummer" in call.say("Kampstraße zwölf").spoken  # no number: again
    answer = call.say("Kampstraße 12")
    answer = call.say("seit einer Stunde alles dunkel")
    assert "Stunden" in answer.spoken and "S M" in answer.spoken  # the reference, no question
    assert "Telefonnummer" not in answer.spoken

    other = new_call(servers)
    other.start()
    other.press("1")
    answer = other.say("Stromausfall in 45127")
    assert re.search(r"(heute|morgen) um \d{1,2} Uhr", answer.spoken), answer.spoken
