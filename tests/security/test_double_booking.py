"""No double booking: many customers book the same slot at the same moment, with real
parallel transactions on SQLite and on PostgreSQL; exactly one gets it."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bot.domain.models import Appointment, AppointmentSlot
from bot.domain.services import appointments as ap
from bot.infra.db import get_engine, session_scope

CUSTOMERS = 8


def race_for_one_slot(url: str) -> list[str]:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with session_scope(url) as session:
        slot = AppointmentSlot(
            place="centre", purpose="advice", starts_at=now + dt.timedelta(days=2), minutes=30
        )
        session.add(slot)
        session.flush()
        slot_id = slot.id
    start = threading.Barrier(CUSTOMERS, timeout=10)

    def book(number: int) -> str:
        start.wait()  # all transactions begin together
        try:
            with session_scope(url) as session:
                booked = ap.book(
                    session,
                    slot_id,
                    name=f"Kunde {number}",
                    contact=f"kunde{number}@example.org",
                    address=None,
                    language="de",
                    channel="rest",
                    conversation_id=f"race-{number}",
                    request_id=f"race-{slot_id}-{number}",
                    now=now,
                )
                return booked.reference
        except ap.SlotTaken:
            return "taken"

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        outcomes = list(pool.map(book, range(CUSTOMERS)))
    with session_scope(url) as session:
        held_by = session.get(AppointmentSlot, slot_id).appointment_id
        stored = session.scalars(select(Appointment).where(Appointment.slot_id == slot_id)).all()
        assert len(stored) == 1 and stored[0].id == held_by
        assert [o for o in outcomes if o != "taken"] == [stored[0].reference]
    return outcomes


def test_one_slot_one_booking_on_sqlite(database_url: str) -> None:
    outcomes = race_for_one_slot(database_url)
    assert outcomes.count("taken") == CUSTOMERS - 1


def test_one_slot_one_booking_on_postgresql(postgres_urls: tuple[str, str]) -> None:
    data, _ = postgres_urls
    outcomes = race_for_one_slot(data)
    assert outcomes.count("taken") == CUSTOMERS - 1
    get_engine(data).dispose()
