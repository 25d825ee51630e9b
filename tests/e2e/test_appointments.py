"""Appointments against the real servers: booking, moving and cancelling in chat, and a
phone caller who hears the free slots one at a time and chooses by key.

The servers' database has the demo slots of `python -m bot demo-slots` from
today on (tests/harness/servers.py).
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bot.domain.models import Appointment, AppointmentSlot, ServiceCase
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, joined, row_counts
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers

REFERENCE = re.compile(r"TE-\d{8}")


def appointments_of(database_url: str, conversation_id: str) -> list[Appointment]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(Appointment)
                .where(Appointment.conversation_id == conversation_id)
                .order_by(Appointment.id)
            )
        )
        for row in rows:
            _ = row.slot
        session.expunge_all()
        return rows


def slot_holder(database_url: str, slot_id: int) -> int | None:
    with session_scope(database_url) as session:
        return session.get(AppointmentSlot, slot_id).appointment_id


def buttons(replies: list[dict]) -> list[dict]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def slot_ids(replies: list[dict]) -> list[int]:
    ids = []
    for button in buttons(replies):
        payload = button["payload"]
        if payload.startswith("/inform") and "apt_slot" in payload:
            value = json.loads(payload[len("/inform") :])["apt_slot"]
            if value != "later":
                ids.append(int(value))
    return ids


def test_german_customer_books_moves_and_cancels_in_chat(servers: Servers):
    chat = Chat(servers)
    replies = chat.say("Ich hätte gern einen Termin für eine Energieberatung")
    assert "Kundenzentrum (Königstraße 12" in joined(replies)
    assert [b["title"] for b in buttons(replies)] == ["Im Kundenzentrum", "Bei mir zu Hause"]
    replies = chat.say('/inform{"apt_place": "centre"}')
    first_offer = slot_ids(replies)
    titles = [b["title"] for b in buttons(replies)]
    assert len(first_offer) == 3 and titles[-1] == "Spätere Termine"
    assert re.match(r"\w+tag, \d{1,2}\. \w+ \d{4}, \d{1,2}:\d{2} Uhr", titles[0]), titles[0]
    replies = chat.say('/inform{"apt_slot": "later"}')
    later_offer = slot_ids(replies)
    assert len(later_offer) == 3 and not set(later_offer) & set(first_offer)
    # a forged slot (not offered) is refused and asked again
    assert "angebotenen Termine" in chat.texts('/inform{"apt_slot": "1"}')
    assert "Namen" in chat.texts("den zweiten")
    assert "Telefonnummer oder E-Mail" in chat.texts("Jana Becker")
    reply = chat.texts("jana.becker@example.org")
    (booked,) = appointments_of(servers.database_url, chat.sender)
    assert booked.reference in reply and "Energieberatung" in reply and "Königstraße 12" in reply
    assert booked.slot_id == later_offer[1] and booked.status == "booked"
    assert booked.name == "Jana Becker" and booked.contact == "jana.becker@example.org"
    with session_scope(servers.database_url) as session:
        case = session.scalar(select(ServiceCase).where(ServiceCase.reference == booked.reference))
        assert case.kind == "appointment" and case.status == "open"

    # moving it: reference and contact, then a new slot of the same kind
    assert "Vorgangsnummer" in chat.texts("Ich muss meinen Termin leider verschieben")
    assert "bei der Buchung" in chat.texts(booked.reference)
    replies = chat.say("jana.becker@example.org")
    new_slot = slot_ids(replies)[0]
    reply = chat.texts(f'/inform{{"apt_slot": "{new_slot}"}}')
    assert "verschoben" in reply and booked.reference in reply
    assert slot_holder(servers.database_url, booked.slot_id) is None  # the old slot is free
    assert slot_holder(servers.database_url, new_slot) == booked.id

    # cancelling it
    reply = chat.texts(f"Ich möchte den Termin {booked.reference} absagen")
    assert "bei der Buchung" in reply
    assert "absagen?" in chat.texts("jana.becker@example.org")
    assert "abgesagt" in chat.texts("/affirm")
    (after,) = appointments_of(servers.database_url, chat.sender)
    assert after.status == "cancelled" and slot_holder(servers.database_url, new_slot) is None


def test_a_wrong_reference_or_contact_changes_nothing(servers: Servers):
    chat = Chat(servers, metadata={"language": "tr"})
    before = row_counts(servers.database_url)
    assert "işlem numarası" in chat.texts("randevumu iptal etmek istiyorum")
    assert "e-posta" in chat.texts("TE-00000000")
    assert "bulamadım" in chat.texts("biri@example.org")
    assert "randevu kalsın" not in chat.texts("vazgeçtim")
    assert row_counts(servers.database_url) == before


def test_turkish_caller_hears_slots_one_by_one_and_books_by_key(servers: Servers):
    call = new_call(servers, caller="+4920355501234")
    call.start()
    call.press("2")  # Türkçe
    answer = call.say("sayaç değişimi için randevu istiyorum")
    assert "En yakın boş randevu" in answer.spoken and "için 1" in answer.spoken
    first = answer.spoken
    answer = call.press("2")  # another one
    assert "En yakın boş randevu" in answer.spoken and answer.spoken != first
    assert "hangi isme" in call.press("1").spoken
    assert "adreste" in call.say("Mehmet Kaya").spoken
    answer = call.say("Kampstraße 12, 44137 Dortmund")
    assert "T E" in answer.spoken and "evinizde" in answer.spoken  # no contact asked: the caller's
    (booked,) = appointments_of(servers.database_url, call.call_sid)
    assert booked.slot.place == "home" and booked.slot.purpose == "meter"
    assert booked.contact.endswith("55501234") and booked.address.startswith("Kampstraße 12")
    assert booked.channel == "voice" and booked.language == "tr"


def test_parallel_customers_never_get_the_same_slot(servers: Servers):
    """Six customers choose the same free slot and confirm at the same moment: one gets it,
    the others hear it has just gone and are offered the next free ones."""
    chats = [Chat(servers) for _ in range(6)]
    chosen = set()
    for number, chat in enumerate(chats):
        offered = slot_ids(chat.say("Ich möchte eine Energieberatung bei mir zu Hause"))
        chosen.add(offered[0])
        assert "Namen" in chat.texts(f'/inform{{"apt_slot": "{offered[0]}"}}')
        assert "Adresse" in chat.texts(f"Kundin {'ABCDEF'[number]}ngelika")
        assert "E-Mail" in chat.texts("Kampstraße 12, 44137 Dortmund")
    assert len(chosen) == 1  # everyone was offered the same first slot
    (slot,) = chosen

    with ThreadPoolExecutor(max_workers=len(chats)) as pool:
        answers = list(pool.map(lambda c: c.texts(f"kunde.{c.sender[-6:]}@example.org"), chats))

    booked = [a for a in answers if REFERENCE.search(a)]
    gone = [a for a in answers if "gerade eben vergeben" in a]
    assert len(booked) == 1 and len(gone) == len(chats) - 1, answers
    with session_scope(servers.database_url) as session:
        holders = session.scalars(select(Appointment).where(Appointment.slot_id == slot)).all()
        assert len(holders) == 1 and holders[0].status == "booked"
