"""Appointments: free slots, booking without double bookings, moving and cancelling.

Slots are times an adviser or technician is free, at the customer centre
(`centre`) or at the customer's home (`home`), for advice (`advice`) or a
meter change (`meter`). A booking takes a slot with one conditional update
(`appointment_id` set only where it is still empty): of two customers who
book the same slot at the same moment, on SQLite or PostgreSQL, exactly one
gets it and the other hears that it has just gone (`SlotTaken`). A booked
appointment (reference `TE-…`) is found again by its reference together
with the contact given when booking, and can be moved to another free slot
or cancelled; its slot is free again at once. Each step is audited and
stored once per request id. Every appointment is also a service case of
kind `appointment` with the same reference, so agents see it in the
console's "Vorgänge" (cancelling closes it, moving updates its time).
Slots come from the planning system with `import-data` (section
`appointment_slots`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, InvalidRecord, NotFound
from bot.domain.models import Appointment, AppointmentSlot, AuditEntry, Customer, ServiceCase
from bot.domain.records import section_records
from bot.domain.references import new_reference
from bot.domain.services.service_cases import open_once

PLACES = ("centre", "home")
PURPOSES = ("advice", "meter")
#: slots this close are no longer offered (someone has to get there)
LEAD_TIME = dt.timedelta(hours=2)
OFFERED = 3


class SlotTaken(DomainError):
    """Someone else booked the slot first (or it is gone)."""


class NotChangeable(DomainError):
    """The appointment is cancelled, or already past."""


@dataclass(frozen=True)
class SlotView:
    id: int
    place: str
    purpose: str
    starts_at: dt.datetime  # UTC, no zone
    minutes: int


@dataclass(frozen=True)
class Booked:
    reference: str
    slot: SlotView
    status: str
    #: False when the request id had booked it before (a repeated delivery)
    created: bool


def _slot_view(slot: AppointmentSlot) -> SlotView:
    return SlotView(slot.id, slot.place, slot.purpose, slot.starts_at, slot.minutes)


def free_slots(
    session: Session,
    place: str,
    purpose: str,
    now: dt.datetime,
    *,
    limit: int = OFFERED,
    after: dt.datetime | None = None,
) -> list[SlotView]:
    """The next free slots for `place` and `purpose` (from `after`, never sooner than the lead time)."""
    earliest = max(now + LEAD_TIME, after or now)
    query = (
        select(AppointmentSlot)
        .where(
            AppointmentSlot.place == place,
            AppointmentSlot.purpose == purpose,
            AppointmentSlot.appointment_id.is_(None),
            AppointmentSlot.starts_at >= earliest,
        )
        .order_by(AppointmentSlot.starts_at, AppointmentSlot.id)
        .limit(limit)
    )
    return [_slot_view(slot) for slot in session.scalars(query)]


def _take(session: Session, slot_id: int, appointment_id: int, now: dt.datetime) -> None:
    """Give the slot to the appointment if it is still free (one statement, atomic)."""
    taken = session.execute(
        update(AppointmentSlot)
        .where(
            AppointmentSlot.id == slot_id,
            AppointmentSlot.appointment_id.is_(None),
            AppointmentSlot.starts_at >= now + LEAD_TIME,
        )
        .values(appointment_id=appointment_id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise SlotTaken()


def _audit(session: Session, action: str, appointment: Appointment, **detail: object) -> None:
    session.add(
        AuditEntry(
            agent_id=None,
            action=action,
            case_id=None,
            detail={"appointment": appointment.id, "slot": appointment.slot_id, **detail},
        )
    )


def _booked(appointment: Appointment, *, created: bool) -> Booked:
    return Booked(appointment.reference, _slot_view(appointment.slot), appointment.status, created)


def book(
    session: Session,
    slot_id: int,
    *,
    name: str,
    contact: str,
    address: str | None,
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
    now: dt.datetime,
    customer_number: str | None = None,
) -> Booked:
    """Book a free slot (once per request id); raise SlotTaken if it went meanwhile."""
    existing = session.scalar(select(Appointment).where(Appointment.request_id == request_id))
    if existing is not None:
        return _booked(existing, created=False)
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None:
        raise NotFound(str(slot_id))
    customer_id = None
    if customer_number:
        customer_id = session.scalar(
            select(Customer.id).where(Customer.customer_number == customer_number)
        )
    appointment = Appointment(
        reference=new_reference("appointment", lambda r: _reference_taken(session, r)),
        slot_id=slot_id,
        customer_id=customer_id,
        status="booked",
        name=name[:100],
        contact=contact[:120],
        address=address[:200] if address else None,
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
            _take(session, slot_id, appointment.id, now)
            _audit(session, "appointment_booked", appointment, channel=channel)
            session.flush()
            open_once(
                session,
                kind="appointment",
                request_id=request_id,
                data=_case_data(appointment, slot),
                language=language,
                channel=channel,
                conversation_id=conversation_id,
                audit_action="appointment_case_opened",
                customer_id=customer_id,
                reference=appointment.reference,
            )
    except IntegrityError:
        # the same request delivered twice at once: the first one booked
        session.expire_all()
        existing = session.scalar(select(Appointment).where(Appointment.request_id == request_id))
        if existing is None:
            raise
        return _booked(existing, created=False)
    session.refresh(appointment)
    return _booked(appointment, created=True)


def _case_data(appointment: Appointment, slot: AppointmentSlot) -> dict[str, Any]:
    """What agents see of an appointment in the console (times in UTC)."""
    return {
        "place": slot.place,
        "purpose": slot.purpose,
        "starts_at": slot.starts_at.isoformat(timespec="minutes") + "Z",
        "minutes": slot.minutes,
        "name": appointment.name,
        "contact": appointment.contact,
        "address": appointment.address,
        "status": appointment.status,
    }


def _update_case(session: Session, appointment: Appointment, slot: AppointmentSlot) -> None:
    case = session.scalar(select(ServiceCase).where(ServiceCase.reference == appointment.reference))
    if case is None:
        return
    case.data = _case_data(appointment, slot)
    if appointment.status == "cancelled":
        case.status = "closed"


def customer_name(session: Session, customer_number: str) -> str:
    """A verified customer's name, for a booking made without asking it."""
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number[:2] + "…")
    return customer.full_name


def _reference_taken(session: Session, reference: str) -> bool:
    return (
        session.scalar(select(Appointment.id).where(Appointment.reference == reference)) is not None
    )


def _same_contact(given: str, stored: str) -> bool:
    def key(value: str) -> str:
        value = value.strip().lower()
        return value if "@" in value else re.sub(r"\D", "", value).removeprefix("49").lstrip("0")

    return bool(given.strip()) and key(given) == key(stored)


def find(session: Session, reference: str, contact: str) -> Appointment:
    """The appointment of `reference`, if `contact` is the one given when booking."""
    appointment = session.scalar(
        select(Appointment).where(Appointment.reference == reference.strip().upper())
    )
    if appointment is None or not _same_contact(contact, appointment.contact):
        raise NotFound(reference)  # never says which of the two was wrong
    return appointment


def _changeable(appointment: Appointment, now: dt.datetime) -> None:
    if appointment.status != "booked" or appointment.slot.starts_at <= now:
        raise NotChangeable()


def _release(session: Session, appointment: Appointment) -> None:
    session.execute(
        update(AppointmentSlot)
        .where(
            AppointmentSlot.id == appointment.slot_id,
            AppointmentSlot.appointment_id == appointment.id,
        )
        .values(appointment_id=None)
        .execution_options(synchronize_session=False)
    )


def cancel(session: Session, reference: str, contact: str, now: dt.datetime) -> Booked:
    """Cancel a booked appointment; its slot is free again."""
    appointment = find(session, reference, contact)
    _changeable(appointment, now)
    _release(session, appointment)
    appointment.status = "cancelled"
    appointment.changed_at = now
    _audit(session, "appointment_cancelled", appointment)
    _update_case(session, appointment, appointment.slot)
    session.flush()
    return _booked(appointment, created=False)


def move(
    session: Session, reference: str, contact: str, new_slot_id: int, now: dt.datetime
) -> Booked:
    """Move a booked appointment to another free slot (the old one is freed; if the new
    one went meanwhile, nothing changes and SlotTaken is raised)."""
    appointment = find(session, reference, contact)
    _changeable(appointment, now)
    new_slot = session.get(AppointmentSlot, new_slot_id)
    if new_slot is None:
        raise NotFound(str(new_slot_id))
    old_slot = appointment.slot_id
    with session.begin_nested():
        _take(session, new_slot_id, appointment.id, now)
        _release(session, appointment)
        appointment.slot_id = new_slot_id
        appointment.changed_at = now
        _audit(session, "appointment_moved", appointment, from_slot=old_slot)
        _update_case(session, appointment, new_slot)
        session.flush()
    session.expire(appointment)
    return _booked(appointment, created=False)


# --- import (the advisers' and technicians' free times) ----------------------------------

_SLOT_FIELDS = {"id": True, "place": True, "purpose": True, "starts_at": True, "minutes": True}


def parse_slots(raw: Any, zone: dt.tzinfo) -> list[dict[str, Any]]:
    """Validate the `appointment_slots` section (raise InvalidRecord on the first error).

    Times without an offset are the utility's local time (`zone`).
    """
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record, item in section_records(raw, "appointment_slots", _SLOT_FIELDS):
        external = item["id"]
        if not isinstance(external, str) or not 0 < len(external.strip()) <= 40:
            raise InvalidRecord(record, "id", "must be a string of 1 to 40 characters")
        if external in seen:
            raise InvalidRecord("file", "id", f"{external} appears more than once")
        seen.add(external)
        if item["place"] not in PLACES:
            raise InvalidRecord(record, "place", f"must be one of {', '.join(PLACES)}")
        if item["purpose"] not in PURPOSES:
            raise InvalidRecord(record, "purpose", f"must be one of {', '.join(PURPOSES)}")
        minutes = item["minutes"]
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 15 <= minutes <= 240:
            raise InvalidRecord(record, "minutes", "must be a whole number from 15 to 240")
        try:
            if not isinstance(item["starts_at"], str):
                raise ValueError
            starts = dt.datetime.fromisoformat(item["starts_at"])
        except ValueError:
            raise InvalidRecord(record, "starts_at", "must be an ISO 8601 date and time") from None
        if starts.tzinfo is None:
            starts = starts.replace(tzinfo=zone)
        parsed.append(
            {
                "external_id": external.strip(),
                "place": item["place"],
                "purpose": item["purpose"],
                "starts_at": starts.astimezone(dt.timezone.utc).replace(tzinfo=None),
                "minutes": minutes,
            }
        )
    return parsed


#: the demo's week: (place, purpose, local start times) on every working day
DEMO_WEEK = (
    ("centre", "advice", ("09:00", "10:00", "11:00", "14:00", "15:00")),
    ("home", "advice", ("10:00", "14:00")),
    ("home", "meter", ("08:00", "12:00")),
)


def demo_slots(first_day: dt.date, days: int, zone: dt.tzinfo) -> list[dict[str, Any]]:
    """Free slots for a demonstration: the `DEMO_WEEK` on the working days from `first_day`
    (ids `demo-<date>-<time>-<place>-<purpose>`, so planning again changes nothing)."""
    raw = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for place, purpose, times in DEMO_WEEK:
            for clock in times:
                raw.append(
                    {
                        "id": f"demo-{day:%Y%m%d}-{clock.replace(':', '')}-{place}-{purpose}",
                        "place": place,
                        "purpose": purpose,
                        "starts_at": f"{day.isoformat()}T{clock}:00",
                        "minutes": 60 if place == "home" else 45,
                    }
                )
    return parse_slots(raw, zone)


def import_slots(session: Session, slots: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert parsed slots by their id. A booked slot keeps its booking and its time
    (it is counted as `kept`); the customer was told that time."""
    counts = {"slots": 0, "created": 0, "updated": 0, "kept": 0}
    for values in slots:
        counts["slots"] += 1
        slot = session.scalar(
            select(AppointmentSlot).where(AppointmentSlot.external_id == values["external_id"])
        )
        if slot is None:
            session.add(AppointmentSlot(**values))
            counts["created"] += 1
            continue
        changed = any(getattr(slot, key) != value for key, value in values.items())
        if not changed:
            continue
        if slot.appointment_id is not None:
            counts["kept"] += 1
            continue
        for key, value in values.items():
            setattr(slot, key, value)
        counts["updated"] += 1
    session.flush()
    return counts
