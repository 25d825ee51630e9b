"""Appointments (`book_appointment`): book, move or cancel personal advice or a meter change.

No identity check: a booking is found again by its reference `TE-…` together
with the phone number or e-mail address given when booking
(bot/domain/services/appointments.py). The request's words decide what the
customer wants ("verschieben", "absagen", "iptal"); booking is the default.

Booking: what for (energy advice, meter change), where (customer centre or
at home; a meter change is always at home), a free slot, the name, the
address for a visit, and how to reach the customer (on the phone: the
caller's number). Chat offers the next three free slots as buttons and
"later ones"; the phone offers one slot at a time (key 1 takes it, key 2
hears the next). Moving asks for the reference and the contact, then a new
slot of the same kind; cancelling asks for them and a yes. A slot someone
else took a moment earlier is offered again with the next free ones.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from actions.common import (
    caller_number,
    channel_of,
    entity_value,
    label_buttons,
    language_of,
    latest_intent,
    latest_text,
    next_step,
    response_text,
)
from actions.forms import CANCELLED, WAY_OUT, CancellableFormValidation, way_out_reset
from bot.domain import i18n
from bot.domain.addresses import is_street
from bot.domain.errors import NotFound
from bot.domain.move_answers import contact_of
from bot.domain.parsing import is_explicit_yes
from bot.domain.references import spoken
from bot.domain.services import appointments
from bot.domain.services.appointments import SlotView
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

FORM = "appointment_form"
FORM_SLOTS = (
    "apt_mode",
    "apt_request_id",
    "apt_purpose",
    "apt_place",
    "apt_slot",
    "apt_offered",
    "apt_after",
    "apt_name",
    "apt_address",
    "apt_contact",
    "apt_reference",
    "apt_found",
    "apt_confirm",
)
BOOK, MOVE, CANCEL = "book", "move", "cancel"
LATER = "later"
_MOVE_WORDS = re.compile(
    r"verschieb|verleg|umbuch|umleg|ander(en|er) (termin|tag|zeit)|termin (ä|ae)ndern|"
    r"ertele|başka (bir )?(gün|saat|zaman)|baska (bir )?(gun|saat|zaman)|değiştir|degistir",
    re.IGNORECASE,
)
_CANCEL_WORDS = re.compile(
    r"absag|abzusagen|storn|abbestell|streich|nicht (kommen|wahrnehmen)|"
    r"iptal|vazgeç|vazgec|gelemeyece",
    re.IGNORECASE,
)
_METER_WORDS = re.compile(r"z(ä|ae|a)hler|sayaç|sayac", re.IGNORECASE)
_ADVICE_WORDS = re.compile(r"berat|danışman|danisman|energieberat|tarifberat", re.IGNORECASE)
_HOME_WORDS = re.compile(
    r"zu hause|zuhause|bei mir|bei uns|hausbesuch|evde|eve gel|evime|adresime", re.IGNORECASE
)
_CENTRE_WORDS = re.compile(
    r"kundenzentrum|kundencenter|vor ort|bei ihnen|filiale|müşteri merkez|musteri merkez|"
    r"merkezde|merkeze",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\bT\s*E\s*[- ]?\s*(\d(?:\s*\d){7})\b", re.IGNORECASE)
_ORDINALS = {
    0: re.compile(r"^(1|erste[nrm]?|den ersten|ersten termin|ilk|ilki|birinci)\b", re.IGNORECASE),
    1: re.compile(r"^(2|zweite[nrm]?|den zweiten|ikinci|ikincisi)\b", re.IGNORECASE),
    2: re.compile(r"^(3|dritte[nrm]?|den dritten|üçüncü|ucuncu)\b", re.IGNORECASE),
}
#: "nein" to an offered slot asks for another; these words end the booking
_STOP_WORDS = re.compile(
    r"abbrech|abbruch|aufhör|aufhoer|\bstop|beenden|vergessen sie|doch nicht|keinen termin"
    r"|vazgeç|vazgec|iptal|\bbırak|\bbirak|istemiyorum|gerek yok",
    re.IGNORECASE,
)
MIN_NAME_LETTERS = 3
#: slots offered at once in chat; the phone offers one at a time
CHAT_OFFER = 3


def mode_of(text: str) -> str:
    """What the customer wants with an appointment: move, cancel, or (by default) book."""
    if _CANCEL_WORDS.search(text):
        return CANCEL
    if _MOVE_WORDS.search(text):
        return MOVE
    return BOOK


def purpose_of(text: str) -> str | None:
    if _METER_WORDS.search(text):
        return "meter"
    if _ADVICE_WORDS.search(text):
        return "advice"
    return None


def place_of(text: str) -> str | None:
    if _HOME_WORDS.search(text):
        return "home"
    if _CENTRE_WORDS.search(text):
        return "centre"
    return None


def reference_of(text: str) -> str | None:
    """`TE-12345678`, also typed or spoken loosely (`te 1234 5678`)."""
    found = _REFERENCE.search(text)
    if found is None:
        return None
    return "TE-" + re.sub(r"\D", "", found.group(1))


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _now_utc() -> dt.datetime:
    return get_settings().now().astimezone(dt.timezone.utc).replace(tzinfo=None)


def slot_label(starts_at: dt.datetime, language: str) -> str:
    """`Dienstag, 8. Dezember 2026, 10:00 Uhr` (de), `8 Aralık 2026 Salı, 10:00` (tr)."""
    local = starts_at.replace(tzinfo=dt.timezone.utc).astimezone(_zone())
    day = i18n.long_date(local.date(), language)
    clock = f"{local.hour}:{local.minute:02d} Uhr" if language != "tr" else local.strftime("%H:%M")
    return f"{day}, {clock}"


def _place_text(place: str, address: str | None, language: str, domain: dict[str, Any]) -> str:
    if place == "home":
        template = response_text(domain, "utter_label_apt_at_home", language)
        return template.format(address=address or "")
    template = response_text(domain, "utter_label_apt_at_centre", language)
    return template.format(address=get_settings().customer_centre_address)


def _on_the_phone(tracker: Tracker) -> bool:
    return channel_of(tracker) == "voice"


class ActionStartAppointment(Action):
    """Start the appointment form with what the request already says."""

    def name(self) -> str:
        return "action_start_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        events += [SlotSet(CANCELLED, None), *way_out_reset()]
        mode = mode_of(text)
        events += [SlotSet("apt_mode", mode), SlotSet("apt_request_id", uuid.uuid4().hex)]
        if mode == BOOK:
            purpose = purpose_of(text)
            if purpose:
                events.append(SlotSet("apt_purpose", purpose))
            place = "home" if purpose == "meter" else place_of(text)
            if place:
                events.append(SlotSet("apt_place", place))
        else:
            reference = reference_of(text)
            if reference:
                events.append(SlotSet("apt_reference", reference))
        return [*events, next_step(FORM)]


class ValidateAppointmentForm(CancellableFormValidation):
    yes_no_slots = ("apt_confirm",)

    def name(self) -> str:
        return "validate_appointment_form"

    def wants_to_cancel(self, tracker: Tracker) -> bool:
        # "nein" to the offered slot means "another one"; only "abbrechen" ends the form
        if tracker.get_slot(REQUESTED_SLOT) == "apt_slot" and not _STOP_WORDS.search(
            latest_text(tracker)
        ):
            return False
        return super().wants_to_cancel(tracker)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        required = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        prefix = required[:1] if required[:1] == [WAY_OUT] else []
        mode = tracker.get_slot("apt_mode") or BOOK
        if await _no_free_slot(tracker):
            return []  # the submit action says so and offers a person
        if mode == BOOK:
            slots = ["apt_purpose", "apt_place", "apt_slot"]
            if not tracker.get_slot("verified_customer"):
                slots.append("apt_name")
            if tracker.get_slot("apt_place") == "home":
                slots.append("apt_address")
            if not caller_number(tracker):
                slots.append("apt_contact")
        elif mode == MOVE:
            slots = ["apt_reference", "apt_contact", "apt_slot"]
        else:
            slots = ["apt_reference", "apt_contact", "apt_confirm"]
        return [*prefix, *slots]

    async def extract_apt_purpose(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_purpose") or self._sure_interruption(tracker):
            return {}
        purpose = entity_value(tracker, "apt_purpose") or purpose_of(latest_text(tracker))
        if purpose not in appointments.PURPOSES:
            return self.rejected(dispatcher, tracker, "apt_purpose", "utter_invalid_apt_purpose")
        values: dict[str, Any] = {"apt_purpose": purpose}
        if purpose == "meter":
            values["apt_place"] = "home"
        return values

    async def extract_apt_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_place") or self._sure_interruption(tracker):
            return {}
        place = entity_value(tracker, "apt_place") or place_of(latest_text(tracker))
        if place not in appointments.PLACES:
            return self.rejected(dispatcher, tracker, "apt_place", "utter_invalid_apt_place")
        return {"apt_place": place}

    async def extract_apt_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_slot") or self._sure_interruption(tracker):
            return {}
        offered: list[dict[str, Any]] = tracker.get_slot("apt_offered") or []
        chosen = entity_value(tracker, "apt_slot")
        text = latest_text(tracker).strip()
        if chosen == LATER or (chosen is None and latest_intent(tracker) == "deny"):
            last = offered[-1]["starts_at"] if offered else None
            return {"apt_after": last, "apt_offered": None}
        if chosen is None:
            chosen = _chosen_by_words(text, offered, latest_intent(tracker))
        if chosen is None or chosen not in {str(o["id"]) for o in offered}:
            return self.rejected(dispatcher, tracker, "apt_slot", "utter_invalid_apt_slot")
        return {"apt_slot": chosen}

    async def extract_apt_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_name") or self._sure_interruption(tracker):
            return {}
        text = " ".join(latest_text(tracker).split())
        letters = sum(ch.isalpha() for ch in text)
        if letters < MIN_NAME_LETTERS or len(text) > 100 or any(ch.isdigit() for ch in text):
            return self.rejected(dispatcher, tracker, "apt_name", "utter_invalid_apt_name")
        return {"apt_name": text}

    async def extract_apt_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_address") or self._sure_interruption(tracker):
            return {}
        text = " ".join(latest_text(tracker).split())
        if not is_street(text) or len(text) > 200:
            return self.rejected(dispatcher, tracker, "apt_address", "utter_invalid_apt_address")
        return {"apt_address": text}

    async def extract_apt_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_contact") or self._sure_interruption(tracker):
            return {}
        contact = contact_of(latest_text(tracker))
        if contact is None:
            return self.rejected(dispatcher, tracker, "apt_contact", "utter_invalid_apt_contact")
        return {"apt_contact": contact}

    async def validate_apt_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Moving or cancelling: the reference and this contact must name one booking."""
        if (tracker.get_slot("apt_mode") or BOOK) == BOOK:
            return {"apt_contact": value}
        reference = tracker.get_slot("apt_reference")
        now = _now_utc()
        try:
            found = await run_in_transaction(
                lambda s: _found(appointments.find(s, reference, str(value)), now)
            )
        except NotFound:
            return {
                "apt_contact": None,
                "apt_reference": None,
                **self.rejected(dispatcher, tracker, "apt_reference", "utter_apt_not_found"),
            }
        if found is None:  # cancelled or past: said now, nothing more at the end
            dispatcher.utter_message(response="utter_apt_not_changeable")
            return {"apt_contact": value, "apt_found": {"closed": True}, CANCELLED: True}
        return {
            "apt_contact": value,
            "apt_found": found,
            "apt_place": found["place"],
            "apt_purpose": found["purpose"],
        }

    async def extract_apt_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_reference") or self._sure_interruption(tracker):
            return {}
        reference = reference_of(latest_text(tracker))
        if reference is None:
            return self.rejected(
                dispatcher, tracker, "apt_reference", "utter_invalid_apt_reference"
            )
        return {"apt_reference": reference}

    async def extract_apt_confirm(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "apt_confirm") or self._sure_interruption(tracker):
            return {}
        if latest_intent(tracker) == "deny":
            return {"apt_confirm": False}
        if latest_intent(tracker) == "affirm" or is_explicit_yes(latest_text(tracker)):
            return {"apt_confirm": True}
        return self.rejected(dispatcher, tracker, "apt_confirm")


async def _no_free_slot(tracker: Tracker) -> bool:
    """Whether a slot is still to be chosen for a known place and purpose, and none is free."""
    place, purpose = tracker.get_slot("apt_place"), tracker.get_slot("apt_purpose")
    if tracker.get_slot("apt_slot") or not place or not purpose:
        return False
    if (tracker.get_slot("apt_mode") or BOOK) == CANCEL:
        return False
    now = _now_utc()
    free = await run_in_transaction(
        lambda s: appointments.free_slots(s, place, purpose, now, limit=1)
    )
    return not free


def _found(appointment: Any, now: dt.datetime) -> dict[str, Any] | None:
    """A booking as the dialogue keeps it; None when it can no longer be changed."""
    if appointment.status != "booked" or appointment.slot.starts_at <= now:
        return None
    return {
        "reference": appointment.reference,
        "place": appointment.slot.place,
        "purpose": appointment.slot.purpose,
        "starts_at": appointment.slot.starts_at.isoformat(),
        "address": appointment.address,
    }


def _chosen_by_words(text: str, offered: list[dict[str, Any]], intent: str | None) -> str | None:
    """A slot chosen in words: "den zweiten", "ilki", a time ("um 14 Uhr"), or yes to one."""
    if intent == "affirm" and len(offered) == 1:
        return str(offered[0]["id"])
    for index, pattern in _ORDINALS.items():
        if index < len(offered) and pattern.search(text):
            return str(offered[index]["id"])
    hours = re.findall(r"\b([01]?\d|2[0-3])(?::([0-5]\d))?\s*(?:uhr|h)?\b", text.lower())
    if hours:
        matches = []
        for item in offered:
            local = (
                dt.datetime.fromisoformat(item["starts_at"])
                .replace(tzinfo=dt.timezone.utc)
                .astimezone(_zone())
            )
            for hour, minute in hours:
                if int(hour) == local.hour and int(minute or 0) == local.minute:
                    matches.append(str(item["id"]))
        if len(set(matches)) == 1:
            return matches[0]
    return None


class ActionAskAptPurpose(Action):
    def name(self) -> str:
        return "action_ask_apt_purpose"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        buttons = label_buttons(
            domain,
            language_of(tracker),
            ("utter_label_apt_advice", '/inform{"apt_purpose": "advice"}'),
            ("utter_label_apt_meter", '/inform{"apt_purpose": "meter"}'),
        )
        dispatcher.utter_message(response="utter_ask_apt_purpose", buttons=buttons)
        return []


class ActionAskAptPlace(Action):
    def name(self) -> str:
        return "action_ask_apt_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        buttons = label_buttons(
            domain,
            language_of(tracker),
            ("utter_label_apt_centre", '/inform{"apt_place": "centre"}'),
            ("utter_label_apt_home", '/inform{"apt_place": "home"}'),
        )
        dispatcher.utter_message(
            response="utter_ask_apt_place",
            buttons=buttons,
            centre=get_settings().customer_centre_address,
        )
        return []


class ActionAskAptSlot(Action):
    """The next free slots: three as buttons in chat, one at a time on the phone."""

    def name(self) -> str:
        return "action_ask_apt_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        place, purpose = tracker.get_slot("apt_place"), tracker.get_slot("apt_purpose")
        after_raw = tracker.get_slot("apt_after")
        after = (
            dt.datetime.fromisoformat(after_raw) + dt.timedelta(seconds=1) if after_raw else None
        )
        phone = _on_the_phone(tracker)
        limit = 1 if phone else CHAT_OFFER
        now = _now_utc()
        free: list[SlotView] = await run_in_transaction(
            lambda s: appointments.free_slots(s, place, purpose, now, limit=limit, after=after)
        )
        if not free and after is not None:
            dispatcher.utter_message(response="utter_apt_no_later_slots")
            free = await run_in_transaction(
                lambda s: appointments.free_slots(s, place, purpose, now, limit=limit)
            )
        if not free:  # taken since the form looked: the next answer ends the form
            dispatcher.utter_message(response="utter_apt_no_slots")
            return [SlotSet("apt_offered", None)]
        offered = [{"id": s.id, "starts_at": s.starts_at.isoformat()} for s in free]
        later = {
            "title": response_text(domain, "utter_label_apt_later", language),
            "payload": '/inform{"apt_slot": "later"}',
        }
        if phone:
            (slot,) = free
            buttons = [
                {
                    "title": response_text(domain, "utter_label_apt_take", language),
                    "payload": "/inform" + json.dumps({"apt_slot": str(slot.id)}),
                },
                later,
            ]
            dispatcher.utter_message(
                response="utter_ask_apt_slot_one",
                buttons=buttons,
                slot=slot_label(slot.starts_at, language),
                minutes=slot.minutes,
            )
        else:
            buttons = [
                {
                    "title": slot_label(s.starts_at, language),
                    "payload": "/inform" + json.dumps({"apt_slot": str(s.id)}),
                }
                for s in free
            ]
            dispatcher.utter_message(response="utter_ask_apt_slot", buttons=[*buttons, later])
        return [SlotSet("apt_offered", offered)]


class ActionAskAptContact(Action):
    """How to reach the customer (booking), or the contact given when booking (a change)."""

    def name(self) -> str:
        return "action_ask_apt_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        booking = (tracker.get_slot("apt_mode") or BOOK) == BOOK
        dispatcher.utter_message(
            response="utter_ask_apt_contact" if booking else "utter_ask_apt_contact_given"
        )
        return []


class ActionAskAptConfirm(Action):
    def name(self) -> str:
        return "action_ask_apt_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        found = tracker.get_slot("apt_found") or {}
        buttons = label_buttons(
            domain,
            language,
            ("utter_label_apt_cancel_yes", "/affirm"),
            ("utter_label_apt_cancel_no", "/deny"),
        )
        dispatcher.utter_message(
            response="utter_ask_apt_confirm",
            buttons=buttons,
            when=slot_label(dt.datetime.fromisoformat(found["starts_at"]), language),
            reference=found.get("reference", ""),
        )
        return []


class ActionSubmitAppointment(Action):
    """Book, move or cancel; say what happened with date, place and reference."""

    def name(self) -> str:
        return "action_submit_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        done = [SlotSet(slot, None) for slot in FORM_SLOTS] + [
            SlotSet(CANCELLED, None),
            *way_out_reset(),
        ]
        mode = tracker.get_slot("apt_mode") or BOOK
        if tracker.get_slot(CANCELLED) or (
            mode == CANCEL and tracker.get_slot("apt_confirm") is False
        ):
            if (tracker.get_slot("apt_found") or {}).get("closed"):
                return [*done, next_step(None)]
            dispatcher.utter_message(
                response="utter_apt_nothing_changed" if mode != BOOK else "utter_apt_not_booked"
            )
            return [*done, next_step(None)]
        if mode != CANCEL and not tracker.get_slot("apt_slot"):
            dispatcher.utter_message(response="utter_apt_no_slots")
            return [*done, next_step("utter_offer_handoff")]
        try:
            if mode == CANCEL:
                return await self._cancel(dispatcher, tracker, domain, done)
            if mode == MOVE:
                return await self._move(dispatcher, tracker, domain, done)
            return await self._book(dispatcher, tracker, domain, done)
        except appointments.SlotTaken:
            dispatcher.utter_message(response="utter_apt_slot_taken")
            return [SlotSet("apt_slot", None), SlotSet("apt_offered", None), next_step(FORM)]
        except (NotFound, appointments.NotChangeable):
            dispatcher.utter_message(response="utter_apt_not_changeable")
            return [*done, next_step(None)]

    async def _book(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        done: list[EventType],
    ) -> list[EventType]:
        language = language_of(tracker)
        verified = tracker.get_slot("verified_customer")
        name = tracker.get_slot("apt_name")
        if verified and not name:
            name = await run_in_transaction(lambda s: appointments.customer_name(s, verified))
        contact = tracker.get_slot("apt_contact") or caller_number(tracker) or ""
        slot_id = int(tracker.get_slot("apt_slot"))
        now = _now_utc()
        booked = await run_in_transaction(
            lambda s: appointments.book(
                s,
                slot_id,
                name=name or "",
                contact=contact,
                address=tracker.get_slot("apt_address"),
                language=language,
                channel=channel_of(tracker),
                conversation_id=tracker.sender_id,
                request_id=f"appointment-{tracker.get_slot('apt_request_id')}",
                now=now,
                customer_number=verified,
            )
        )
        logger.info(
            "appointment %s %s conversation=%s",
            booked.reference,
            "booked" if booked.created else "already booked (repeated request)",
            tracker.sender_id,
        )
        self._confirm(dispatcher, tracker, domain, "utter_apt_booked", booked)
        return [*done, next_step(None)]

    async def _move(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        done: list[EventType],
    ) -> list[EventType]:
        reference, contact = tracker.get_slot("apt_reference"), tracker.get_slot("apt_contact")
        slot_id = int(tracker.get_slot("apt_slot"))
        now = _now_utc()
        moved = await run_in_transaction(
            lambda s: appointments.move(s, reference, contact, slot_id, now)
        )
        logger.info("appointment %s moved conversation=%s", moved.reference, tracker.sender_id)
        self._confirm(dispatcher, tracker, domain, "utter_apt_moved", moved)
        return [*done, next_step(None)]

    async def _cancel(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        done: list[EventType],
    ) -> list[EventType]:
        reference, contact = tracker.get_slot("apt_reference"), tracker.get_slot("apt_contact")
        now = _now_utc()
        cancelled = await run_in_transaction(
            lambda s: appointments.cancel(s, reference, contact, now)
        )
        logger.info(
            "appointment %s cancelled conversation=%s", cancelled.reference, tracker.sender_id
        )
        language = language_of(tracker)
        dispatcher.utter_message(
            response="utter_apt_cancelled",
            reference=cancelled.reference,
            when=slot_label(cancelled.slot.starts_at, language),
        )
        return [*done, next_step(None)]

    @staticmethod
    def _confirm(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        response: str,
        booked: appointments.Booked,
    ) -> None:
        language = language_of(tracker)
        found = tracker.get_slot("apt_found") or {}
        address = tracker.get_slot("apt_address") or found.get("address")
        dispatcher.utter_message(
            response=response,
            when=slot_label(booked.slot.starts_at, language),
            minutes=booked.slot.minutes,
            place=_place_text(booked.slot.place, address, language, domain),
            purpose=response_text(domain, f"utter_label_apt_{booked.slot.purpose}", language),
            reference=booked.reference,
            reference_spoken=spoken(booked.reference),
        )
