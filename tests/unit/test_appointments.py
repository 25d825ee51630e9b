"""Appointment slots and bookings in the database: what is offered, booking, moving,
cancelling, and who may change a booking."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.errors import InvalidRecord, NotFound
from bot.domain.models import Appointment, AppointmentSlot, AuditEntry, ServiceCase
from bot.domain.services import appointments as ap
from bot.domain.services import data_import

NOW = dt.datetime(2026, 12, 7, 8, 0)


def slots(session, *hours: int, place: str = "centre", purpose: str = "advice") -> list[int]:
    rows = [
        AppointmentSlot(
            place=place, purpose=purpose, starts_at=NOW + dt.timedelta(hours=h), minutes=30
        )
        for h in hours
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def booking(session, slot_id: int, request: str = "r1", **extra):
    values = {
        "name": "Ayşe Yılmaz",
        "contact": "+49 171 1234567",
        "address": None,
        "language": "tr",
        "channel": "web",
        "conversation_id": "web-" + "c" * 24,
        "request_id": request,
        "now": NOW,
    }
    return ap.book(session, slot_id, **{**values, **extra})


def test_the_next_free_slots_are_offered_never_too_soon(session):
    soon, first, second, third, fourth = slots(session, 1, 3, 4, 5, 6)
    slots(session, 3, place="home")
    offered = ap.free_slots(session, "centre", "advice", NOW)
    assert [s.id for s in offered] == [first, second, third]  # one hour ahead is too soon
    booking(session, first)
    assert [s.id for s in ap.free_slots(session, "centre", "advice", NOW)] == [
        second,
        third,
        fourth,
    ]
    assert ap.free_slots(session, "home", "meter", NOW) == []


def test_a_booking_is_stored_once_and_its_slot_is_taken(session):
    (slot,) = slots(session, 5)
    first = booking(session, slot)
    again = booking(session, slot)  # the same request delivered twice
    assert first.created and not again.created and first.reference == again.reference
    assert first.reference.startswith("TE-")
    assert session.get(AppointmentSlot, slot).appointment_id is not None
    with pytest.raises(ap.SlotTaken):
        booking(session, slot, request="r2")
    assert session.scalars(select(Appointment)).all().__len__() == 1
    assert session.scalars(select(AuditEntry.action)).all()[-2:] == [
        "appointment_booked",
        "appointment_case_opened",
    ]
    # agents see it as a service case with the same reference
    (case,) = session.scalars(select(ServiceCase).where(ServiceCase.kind == "appointment")).all()
    assert case.reference == first.reference and case.status == "open"
    assert case.data["place"] == "centre" and case.data["status"] == "booked"


def test_move_and_cancel_need_the_reference_and_the_contact(session):
    first_slot, second_slot = slots(session, 5, 6)
    booked = booking(session, first_slot)
    for contact in ("+49 171 7654321", "", "ayse@example.org"):
        with pytest.raises(NotFound):
            ap.move(session, booked.reference, contact, second_slot, NOW)
    moved = ap.move(session, booked.reference.lower(), "0171 1234567", second_slot, NOW)
    assert moved.slot.id == second_slot
    assert session.get(AppointmentSlot, first_slot).appointment_id is None  # free again
    case = session.scalar(select(ServiceCase).where(ServiceCase.reference == booked.reference))
    assert (
        case.data["starts_at"] == (NOW + dt.timedelta(hours=6)).isoformat(timespec="minutes") + "Z"
    )
    cancelled = ap.cancel(session, booked.reference, "01711234567", NOW)
    assert cancelled.status == "cancelled"
    assert (case.status, case.data["status"]) == ("closed", "cancelled")
    assert session.get(AppointmentSlot, second_slot).appointment_id is None
    with pytest.raises(ap.NotChangeable):
        ap.cancel(session, booked.reference, "01711234567", NOW)


def test_moving_to_a_taken_slot_changes_nothing(session):
    mine, theirs = slots(session, 5, 6)
    booked = booking(session, mine)
    booking(session, theirs, request="r2", contact="other@example.org")
    with pytest.raises(ap.SlotTaken):
        ap.move(session, booked.reference, "+49 171 1234567", theirs, NOW)
    appointment = session.scalar(
        select(Appointment).where(Appointment.reference == booked.reference)
    )
    assert appointment.slot_id == mine
    assert session.get(AppointmentSlot, mine).appointment_id == appointment.id


def test_a_past_appointment_cannot_be_changed(session):
    (slot,) = slots(session, 5)
    booked = booking(session, slot)
    with pytest.raises(ap.NotChangeable):
        ap.cancel(session, booked.reference, "+49 171 1234567", NOW + dt.timedelta(hours=6))


SLOT = {
    "id": "BER-2026-12-09-0900",
    "place": "centre",
    "purpose": "advice",
    "starts_at": "2026-12-09T09:00:00",  # local time: 08:00 UTC
    "minutes": 30,
}


def import_slots(session, *records):
    document = {"appointment_slots": list(records)}
    return data_import.import_document(session, document, ZoneInfo("Europe/Berlin"))[
        "appointment_slots"
    ]


def test_slots_are_imported_idempotently_and_a_booked_one_is_kept(session):
    assert import_slots(session, SLOT) == {"slots": 1, "created": 1, "updated": 0, "kept": 0}
    assert import_slots(session, SLOT) == {"slots": 1, "created": 0, "updated": 0, "kept": 0}
    (offered,) = ap.free_slots(session, "centre", "advice", NOW)
    assert offered.starts_at == dt.datetime(2026, 12, 9, 8, 0)
    booking(session, offered.id)
    later = {**SLOT, "starts_at": "2026-12-09T10:00:00"}
    assert import_slots(session, later) == {"slots": 1, "created": 0, "updated": 0, "kept": 1}
    assert session.get(AppointmentSlot, offered.id).starts_at == dt.datetime(2026, 12, 9, 8, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"place": "office"}, "place"),
        ({"purpose": "party"}, "purpose"),
        ({"minutes": 5}, "minutes"),
        ({"minutes": "30"}, "minutes"),
        ({"starts_at": "Montag"}, "starts_at"),
        ({"room": "2"}, "room"),
    ],
)
def test_a_bad_slot_imports_nothing(session, change, field):
    with pytest.raises(InvalidRecord) as error:
        import_slots(session, {**SLOT, "id": "A"}, {**SLOT, "id": "B", **change})
    assert f"'{field}'" in str(error.value)
    assert session.scalars(select(AppointmentSlot)).all() == []
