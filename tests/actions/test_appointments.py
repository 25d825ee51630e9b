"""The appointment actions with real trackers, the real domain and a real database:
what the request's words mean, the slot offer in chat and on the phone, a slot taken
meanwhile, no free slot, and choosing a slot in words."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update

from actions.appointments import (
    ActionAskAptSlot,
    ActionStartAppointment,
    ActionSubmitAppointment,
    ValidateAppointmentForm,
    mode_of,
    reference_of,
)
from bot.domain.models import AppointmentSlot
from bot.domain.services import appointments
from bot.infra.db import session_scope
from tests.actions.conftest import BERLIN, make_tracker, run
from tests.e2e.conftest import row_counts

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("Ich brauche einen Termin", "book"),
        ("Termin für Zählerwechsel", "book"),
        ("Kann ich meinen Termin verschieben?", "move"),
        ("Ich muss den Termin am Dienstag absagen", "cancel"),
        ("Termin stornieren bitte", "cancel"),
        ("randevu almak istiyorum", "book"),
        ("randevumu başka güne alabilir miyiz", "move"),
        ("randevumu ertelemek istiyorum", "move"),
        ("randevumu iptal etmek istiyorum", "cancel"),
        ("yarınki randevuya gelemeyeceğim", "cancel"),
    ],
)
async def test_the_request_says_book_move_or_cancel(text, mode):
    assert mode_of(text) == mode


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("TE-12345678", "TE-12345678"),
        ("meine Nummer ist te 1234 5678", "TE-12345678"),
        ("T E 1 2 3 4 5 6 7 8", "TE-12345678"),
        ("TE-1234", None),
        ("12345678", None),
    ],
)
async def test_a_reference_is_read_as_typed_or_spoken(text, reference):
    assert reference_of(text) == reference


def plan(url: str, *hours: int, place: str = "centre", purpose: str = "advice") -> list[int]:
    with session_scope(url) as session:
        rows = [
            AppointmentSlot(
                place=place,
                purpose=purpose,
                starts_at=(NOW + dt.timedelta(hours=h))
                .astimezone(dt.timezone.utc)
                .replace(tzinfo=None),
                minutes=45,
            )
            for h in hours
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


async def test_a_meter_change_is_always_at_home(domain):
    outcome = await run(
        ActionStartAppointment(),
        make_tracker("Termin für Zählerwechsel", "book_appointment"),
        domain,
    )
    assert outcome.slots["apt_mode"] == "book"
    assert (outcome.slots["apt_purpose"], outcome.slots["apt_place"]) == ("meter", "home")
    assert outcome.followup == "appointment_form"


async def test_chat_offers_three_slots_the_phone_one(database_url, domain, clock):
    clock(NOW)
    ids = plan(database_url, 3, 4, 5, 6, 24)
    slots = {"apt_place": "centre", "apt_purpose": "advice"}
    chat = await run(ActionAskAptSlot(), make_tracker("", slots=slots), domain)
    [message] = chat.messages
    assert [b["title"] for b in message["buttons"]] == [
        "Montag, 23. November 2026, 13:00 Uhr",
        "Montag, 23. November 2026, 14:00 Uhr",
        "Montag, 23. November 2026, 15:00 Uhr",
        "Spätere Termine",
    ]
    assert [o["id"] for o in chat.slots["apt_offered"]] == ids[:3]
    phone = await run(
        ActionAskAptSlot(), make_tracker("", slots=slots, language="tr", channel="voice"), domain
    )
    assert "23 Kasım 2026 Pazartesi, 13:00" in phone.text and "45 dakika" in phone.text
    assert [b["title"] for b in phone.messages[0]["buttons"]] == [
        "Bu randevuyu al",
        "Daha sonraki randevular",
    ]
    later = dict(slots, apt_after=phone.slots["apt_offered"][0]["starts_at"])
    nxt = await run(ActionAskAptSlot(), make_tracker("", slots=later, channel="voice"), domain)
    assert [o["id"] for o in nxt.slots["apt_offered"]] == [ids[1]]


@pytest.mark.parametrize(
    ("text", "intent", "index"),
    [("den zweiten bitte", "inform", 1), ("ilki", "inform", 0), ("um 15 Uhr", "inform", 2)],
)
async def test_a_slot_can_be_chosen_in_words(database_url, domain, clock, text, intent, index):
    clock(NOW)
    ids = plan(database_url, 3, 4, 5)
    with session_scope(database_url) as session:
        starts = {s.id: s.starts_at.isoformat() for s in session.query(AppointmentSlot)}
    offered = [{"id": i, "starts_at": starts[i]} for i in ids]
    tracker = make_tracker(
        text,
        intent,
        slots={"apt_mode": "book", "apt_offered": offered, "requested_slot": "apt_slot"},
        active_loop="appointment_form",
    )
    values = await ValidateAppointmentForm().extract_apt_slot(None, tracker, domain)
    assert values == {"apt_slot": str(ids[index])}


async def test_without_a_free_slot_the_form_ends_and_a_person_is_offered(
    database_url, domain, clock
):
    clock(NOW)
    slots = {"apt_mode": "book", "apt_place": "home", "apt_purpose": "meter"}
    tracker = make_tracker("", slots=slots, active_loop="appointment_form")
    required = await ValidateAppointmentForm().required_slots(
        ["apt_purpose"], None, tracker, domain
    )
    assert required == []
    outcome = await run(ActionSubmitAppointment(), make_tracker("", slots=slots), domain)
    assert outcome.responses == ["utter_apt_no_slots"]
    assert outcome.followup == "utter_offer_handoff"


async def test_a_slot_taken_meanwhile_is_offered_again_and_nothing_is_stored(
    database_url, domain, clock
):
    clock(NOW)
    (slot,) = plan(database_url, 3)
    with session_scope(database_url) as session:  # someone else was quicker
        session.execute(update(AppointmentSlot).values(appointment_id=999))
    before = row_counts(database_url)
    slots = {
        "apt_mode": "book",
        "apt_place": "centre",
        "apt_purpose": "advice",
        "apt_slot": str(slot),
        "apt_name": "Jana Becker",
        "apt_contact": "jana@example.org",
        "apt_request_id": "r-taken",
    }
    outcome = await run(ActionSubmitAppointment(), make_tracker("", slots=slots), domain)
    assert outcome.responses == ["utter_apt_slot_taken"]
    assert outcome.slots["apt_slot"] is None and outcome.followup == "appointment_form"
    assert row_counts(database_url) == before


async def test_a_cancelled_appointment_cannot_be_moved_and_is_said_once(
    database_url, domain, clock
):
    clock(NOW)
    (slot,) = plan(database_url, 5)
    now = NOW.astimezone(dt.timezone.utc).replace(tzinfo=None)
    with session_scope(database_url) as session:
        booked = appointments.book(
            session,
            slot,
            name="Jana Becker",
            contact="jana@example.org",
            address=None,
            language="de",
            channel="web",
            conversation_id="web-x",
            request_id="r-closed",
            now=now,
        )
        appointments.cancel(session, booked.reference, "jana@example.org", now)
    slots = {"apt_mode": "move", "apt_reference": booked.reference, "requested_slot": "apt_contact"}
    tracker = make_tracker("jana@example.org", slots=slots, active_loop="appointment_form")
    dispatcher = CollectingDispatcher()
    values = await ValidateAppointmentForm().validate_apt_contact(
        "jana@example.org", dispatcher, tracker, domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_apt_not_changeable"]
    assert values["form_cancelled"] is True
    ended = make_tracker("", slots={**slots, **values})
    outcome = await run(ActionSubmitAppointment(), ended, domain)
    assert outcome.messages == [] and outcome.followup is None


@pytest.mark.parametrize(
    ("text", "cancels"),
    [
        ("nein", False),  # another slot, please
        ("hayır", False),
        ("nein, abbrechen", True),
        ("ich will doch keinen Termin", True),
        ("vazgeçtim", True),
        ("randevu istemiyorum", True),
    ],
)
async def test_no_to_an_offered_slot_asks_for_another_stop_words_end(text, cancels):
    tracker = make_tracker(
        text,
        "deny",
        slots={"apt_mode": "book", "requested_slot": "apt_slot"},
        active_loop="appointment_form",
    )
    assert ValidateAppointmentForm().wants_to_cancel(tracker) is cancels
