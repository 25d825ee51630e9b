"""Identity check (customer number, postcode, birth date) as a Rasa form."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    IDENTITY_SLOTS,
    latest_text,
    message_metadata,
    next_step,
    source_of,
    today,
)
from actions.forms import CANCELLED, CancellableFormValidation, way_out_reset
from actions.handoff import hand_off
from bot.domain.parsing import parse_identity
from bot.domain.services import identity
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)


def is_verified(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("verified_customer"))


def verification_lapsed(tracker: Tracker, idle_seconds: float) -> bool:
    """Whether the customer's latest message comes after too long a silence, or in a new session.

    A verification never carries over into a new session (Rasa carries the
    slots over), and lapses when the customer was idle longer than allowed.
    """
    previous: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None
    new_session = False  # a session began between the last two messages
    session_seen = False
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            previous, latest = latest, event
            new_session, session_seen = session_seen, False
        elif kind == "session_started":
            session_seen = True
    if latest is None:
        return False
    if previous is None or new_session:
        return True
    gap = (latest.get("timestamp") or 0) - (previous.get("timestamp") or 0)
    return gap > idle_seconds


def _idle_seconds() -> float:
    return get_settings().verification_idle_minutes * 60


def verification_after_message(tracker: Tracker) -> dict[str, Any]:
    """The verified customer slot after the latest message: cleared when it lapsed."""
    if not is_verified(tracker):
        return {}
    if not verification_lapsed(tracker, _idle_seconds()):
        return {}
    logger.info("verification lapsed conversation=%s", tracker.sender_id)
    return {"verified_customer": None}


def identity_values_after_message(tracker: Tracker) -> list[EventType]:
    """Values of an unfinished identity check, cleared when a verification would lapse.

    Left behind by a long silence or carried into a new session, they serve
    nothing any more: a birth date is not kept longer than the check needs it.
    """
    held = [name for name in IDENTITY_SLOTS if tracker.get_slot(name)]
    if not held or not verification_lapsed(tracker, _idle_seconds()):
        return []
    return [SlotSet(name, None) for name in held]


async def _caller_customer(tracker: Tracker) -> str | None:
    """On the phone: the customer number registered for the caller's number.

    Only when exactly one customer has that number, only before the first
    failed attempt, and only for the phone channel (whose caller number comes
    from Twilio, not from the customer). Postcode and birth date are still
    asked, so a known phone number alone never proves who is calling.
    """
    if tracker.get_slot("customer_number") or tracker.get_slot("identity_attempts"):
        return None
    if tracker.get_latest_input_channel() != "voice":
        return None
    caller = message_metadata(tracker).get("caller")
    if not isinstance(caller, str) or not caller.startswith("+"):
        return None
    matches = await run_in_transaction(lambda s: identity.customers_with_phone(s, caller))
    return matches[0] if len(matches) == 1 else None


class ValidateIdentityForm(CancellableFormValidation):
    """Reads all three values from any message; checks them once all are there."""

    def name(self) -> str:
        return "validate_identity_form"

    def stop_form(self, tracker: Tracker) -> bool:
        return super().stop_form(tracker) or bool(tracker.get_slot("identity_locked"))

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        cancelled = await self.form_cancelled_events(dispatcher, tracker, domain)
        if cancelled:
            return cancelled
        if self.is_interruption(tracker):
            return []
        found = parse_identity(latest_text(tracker), today())
        values = {
            "customer_number": found.customer_number or await _caller_customer(tracker),
            "postcode": found.postcode,
            "birth_date": found.birth_date.isoformat() if found.birth_date else None,
        }
        events = [SlotSet(k, v) for k, v in values.items() if v is not None]
        requested = tracker.get_slot("requested_slot")
        if not events and requested in IDENTITY_SLOTS:
            # Nothing usable: say what is expected (the second time, offer the way out).
            rejection = self.rejected(dispatcher, tracker, requested, f"utter_invalid_{requested}")
            events += [SlotSet(k, v) for k, v in rejection.items()]
        tracker.add_slots(events)
        return events

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        slots = {**tracker.slots}
        for event in events:
            if event.get("event") == "slot":
                slots[event["name"]] = event["value"]
        if (
            slots.get(CANCELLED)
            or slots.get("identity_locked")
            or not all(slots.get(s) for s in IDENTITY_SLOTS)
        ):
            return events
        return events + await self._check(dispatcher, tracker, slots)

    async def _check(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> list[EventType]:
        number, postcode = slots["customer_number"], slots["postcode"]
        birth_date = dt.date.fromisoformat(slots["birth_date"])
        source = source_of(tracker)
        pseudonym_key = get_settings().pseudonym_key.encode()
        result = await run_in_transaction(
            lambda s: identity.check(
                s, number, postcode, birth_date, source=source, pseudonym_key=pseudonym_key
            )
        )
        customer = result.customer
        if customer is None:
            attempts = int(slots.get("identity_attempts") or 0) + 1
            # Never the values themselves: they are personal data.
            logger.info("identity check failed attempt=%d locked=%s", attempts, result.locked)
            reset = [SlotSet(s, None) for s in IDENTITY_SLOTS]
            if result.locked or attempts >= identity.MAX_ATTEMPTS:
                return [
                    *reset,
                    SlotSet("identity_attempts", float(attempts)),
                    SlotSet("identity_locked", True),
                    SlotSet("requested_slot", None),
                ]
            dispatcher.utter_message(response="utter_identity_mismatch")
            return [
                *reset,
                SlotSet("identity_attempts", float(attempts)),
                SlotSet("requested_slot", "customer_number"),
            ]
        return [
            SlotSet("verified_customer", customer.customer_number),
            SlotSet("requested_slot", None),
        ]


class ActionIdentityDone(Action):
    """After the identity form: continue the request, or hand off, or stop."""

    def name(self) -> str:
        return "action_identity_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        clear = [SlotSet(s, None) for s in IDENTITY_SLOTS] + [
            SlotSet(CANCELLED, None),
            *way_out_reset(),
        ]
        pending = tracker.get_slot("pending_request")
        if tracker.get_slot("identity_locked") and not is_verified(tracker):
            dispatcher.utter_message(response="utter_identity_locked")
            return [
                *clear,
                SlotSet("pending_request", None),
                *await hand_off(dispatcher, tracker, "identity_failed"),
            ]
        if tracker.get_slot(CANCELLED) or not is_verified(tracker):
            dispatcher.utter_message(response="utter_request_cancelled")
            return [*clear, SlotSet("pending_request", None), next_step(None)]
        dispatcher.utter_message(response="utter_identity_verified")
        following = {
            "change_advance_payment": "advance_payment_form",
            "change_bank_details": "bank_details_form",
            "ask_bill": "action_show_bill",
            "reconnect_supply": "action_reconnect_supply",
            "payment_arrangement": "action_review_payment_standing",
            "submit_meter_reading": "meter_reading_form",
            "move_house": "move_house_form",
            "ask_tariff": "action_tariff_estimate",
        }.get(pending)
        return [*clear, SlotSet("pending_request", None), next_step(following)]


async def require_identity(
    dispatcher: CollectingDispatcher, tracker: Tracker, request: str
) -> list[EventType] | None:
    """Events that start the identity check first, or None when verified.

    After three failed attempts the request goes to a person instead.
    """
    if is_verified(tracker):
        return None
    if tracker.get_slot("identity_locked"):
        return await hand_off(dispatcher, tracker, "identity_failed")
    return [SlotSet("pending_request", request), next_step("identity_form")]
