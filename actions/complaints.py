"""Complaints: the customer's words and a category, a case `BS-…`, a person for the angry.

`action_start_complaint` reads what the request already says (a category,
the complaint itself when it is told in detail) and whether the customer is
angry (bot/domain/complaint_answers.py: words, capitals, exclamation marks,
or an earlier complaint of theirs). An angry customer is offered a person at
once (`action_offer_complaint_person`); accepting stores the complaint and
hands over (`action_complaint_to_person`), declining goes on with the form.
`complaint_form` asks the category, the complaint in the customer's words
and, unless the customer is verified or calls from a number we can call
back, how to reach them. `action_submit_complaint` stores the case and says
when the answer comes; anger that shows only in the complaint's text gets
the offer of a person after that. No identity check is needed.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    caller_number,
    channel_of,
    label_buttons,
    language_of,
    latest_text,
    next_step,
    response_text,
)
from actions.forms import CANCELLED, CancellableFormValidation, way_out_reset
from actions.handoff import hand_off
from bot.domain.complaint_answers import CATEGORIES, anger_signals, category_of
from bot.domain.move_answers import contact_of
from bot.domain.services import complaints
from bot.domain.services.service_cases import Opened
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

FORM = "complaint_form"
OFFER = "action_offer_complaint_person"
FORM_SLOTS = ("cp_request_id", "cp_category", "cp_text", "cp_contact", "cp_anger", "cp_problem")
#: a request told in this many words is the complaint itself (not only "I want to complain")
TOLD_IN_DETAIL = 10
MIN_TEXT_LETTERS = 3
#: at most this many words make a request instead of the complaint's text
SHORT_REQUEST = 6


def _anger(tracker: Tracker) -> list[str]:
    raw = tracker.get_slot("cp_anger") or ""
    return [signal for signal in raw.split(",") if signal]


def _with_anger(tracker: Tracker, found: list[str]) -> str | None:
    signals = list(dict.fromkeys([*_anger(tracker), *found]))
    return ",".join(signals) or None


def _request_id(tracker: Tracker) -> str:
    return f"complaint-{tracker.get_slot('cp_request_id') or uuid.uuid4().hex}"[:64]


async def _store(tracker: Tracker, category: str, text: str) -> Opened:
    contact = tracker.get_slot("cp_contact") or caller_number(tracker)
    return await run_in_transaction(
        lambda s: complaints.open_complaint(
            s,
            category=category,
            text=text,
            contact=contact,
            anger=_anger(tracker),
            language=language_of(tracker),
            channel=channel_of(tracker),
            conversation_id=tracker.sender_id,
            request_id=_request_id(tracker),
            customer_number=tracker.get_slot("verified_customer"),
        )
    )


def _recorded(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    case: Opened,
) -> None:
    category = case.data.get("category", "other")
    dispatcher.utter_message(
        response="utter_complaint_recorded",
        reference=case.reference,
        category=response_text(domain, f"utter_label_cp_{category}", language_of(tracker)),
        days=get_settings().complaint_answer_working_days,
    )


class ActionStartComplaint(Action):
    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        events += [SlotSet(CANCELLED, None), *way_out_reset()]
        events.append(SlotSet("cp_request_id", uuid.uuid4().hex))
        category = category_of(text)
        if category:
            events.append(SlotSet("cp_category", category))
        if len(text.split()) >= TOLD_IN_DETAIL:
            events.append(SlotSet("cp_text", " ".join(text.split())))
        signals = anger_signals(text)
        verified = tracker.get_slot("verified_customer")
        now = get_settings().now().astimezone(complaints.UTC).replace(tzinfo=None)
        earlier = await run_in_transaction(
            lambda s: complaints.earlier_complaints(s, tracker.sender_id, verified, now)
        )
        if earlier:
            signals.append("repeated")
        if signals:
            events.append(SlotSet("cp_anger", ",".join(signals)))
            return [*events, next_step(OFFER)]
        dispatcher.utter_message(response="utter_complaint_sorry")
        return [*events, next_step(FORM)]


class ActionOfferComplaintPerson(Action):
    """The angry customer's choice: a person now, or the complaint taken by the bot."""

    def name(self) -> str:
        return OFFER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = label_buttons(
            domain,
            language,
            ("utter_label_complaint_person", "/affirm"),
            ("utter_label_complaint_record", "/deny"),
        )
        dispatcher.utter_message(response="utter_ask_complaint_person", buttons=buttons)
        return [next_step(None)]


class ActionComplaintToPerson(Action):
    """Store what the customer said as the complaint, then a person (reason `upset`)."""

    def name(self) -> str:
        return "action_complaint_to_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.get_slot("cp_text") or _complaint_words(tracker)
        try:
            case = await _store(tracker, tracker.get_slot("cp_category") or "other", text)
        except Exception:  # noqa: BLE001 - the person gets the whole conversation anyway
            logger.exception("complaint not stored conversation=%s", tracker.sender_id)
            case = None
        if case is not None:
            _recorded(dispatcher, tracker, domain, case)
        events = await hand_off(dispatcher, tracker, "upset", priority=True)
        handoff_case = next(
            (e["value"] for e in events if e.get("name") == "handoff_case" and e.get("value")),
            None,
        )
        if case is not None and handoff_case:
            request = _request_id(tracker)
            await run_in_transaction(lambda s: complaints.link_handoff(s, request, handoff_case))
        return [*events, *(SlotSet(slot, None) for slot in FORM_SLOTS)]


def _complaint_words(tracker: Tracker) -> str:
    """What the customer said since the complaint began (the request, the offer's answer)."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            texts.append(event.get("text") or "")
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == "complaint":
                break
    said = [t for t in reversed(texts) if t and not t.startswith("/")]
    return " / ".join(said)


class ValidateComplaintForm(CancellableFormValidation):
    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        slots = ["cp_request_id", "cp_category", "cp_text"]
        if not tracker.get_slot("verified_customer") and not caller_number(tracker):
            slots.append("cp_contact")
        return slots

    def wants_to_cancel(self, tracker: Tracker) -> bool:
        # The "no" that declined a person starts the form; "nein" inside a complaint is
        # part of it; only a plain stop to a question cancels.
        if tracker.get_slot("requested_slot") is None:
            return False
        return super().wants_to_cancel(tracker) and len(latest_text(tracker).split()) <= 3

    async def extract_cp_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {} if tracker.get_slot("cp_request_id") else {"cp_request_id": uuid.uuid4().hex}

    async def extract_cp_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "cp_category"):
            return {}
        if self._sure_interruption(tracker) and not self.chose_offered_button(tracker):
            return {}
        category = category_of(latest_text(tracker))
        if category is None:
            return {"cp_problem": "unclear", **self.rejected(dispatcher, tracker, "cp_category")}
        values: dict[str, Any] = {"cp_category": category, "cp_problem": None}
        if len(latest_text(tracker).split()) >= TOLD_IN_DETAIL and not tracker.get_slot("cp_text"):
            values["cp_text"] = " ".join(latest_text(tracker).split())
        return values

    async def extract_cp_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "cp_text"):
            return {}
        text = " ".join(latest_text(tracker).split())
        if self._sure_interruption(tracker) and len(text.split()) <= SHORT_REQUEST:
            return {}  # "einen Mitarbeiter bitte": the rules answer; a told complaint is taken
        if sum(ch.isalpha() for ch in text) < MIN_TEXT_LETTERS:
            return self.rejected(dispatcher, tracker, "cp_text", "utter_invalid_cp_text")
        values: dict[str, Any] = {"cp_text": text[: complaints.MAX_TEXT]}
        anger = _with_anger(tracker, anger_signals(text))
        if anger != tracker.get_slot("cp_anger"):
            values["cp_anger"] = anger
            values["cp_problem"] = "angry_later"
        return values

    async def extract_cp_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "cp_contact") or self._sure_interruption(tracker):
            return {}
        contact = contact_of(latest_text(tracker))
        if contact is None:
            return self.rejected(dispatcher, tracker, "cp_contact", "utter_invalid_cp_contact")
        return {"cp_contact": contact}


class ActionAskCpCategory(Action):
    def name(self) -> str:
        return "action_ask_cp_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = []
        for category in CATEGORIES:
            title = response_text(domain, f"utter_label_cp_{category}", language)
            buttons.append({"title": title, "payload": title})
        unclear = tracker.get_slot("cp_problem") == "unclear"
        dispatcher.utter_message(
            response="utter_invalid_cp_category" if unclear else "utter_ask_cp_category",
            buttons=buttons,
        )
        return [SlotSet("cp_problem", None)]


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        done = [*(SlotSet(slot, None) for slot in FORM_SLOTS), SlotSet(CANCELLED, None)]
        done += way_out_reset()
        if tracker.get_slot(CANCELLED):
            dispatcher.utter_message(response="utter_complaint_cancelled")
            return [*done, next_step(None)]
        text = tracker.get_slot("cp_text")
        if not text:
            return [*done, next_step(None)]  # the form ended some other way
        try:
            case = await _store(tracker, tracker.get_slot("cp_category") or "other", text)
        except Exception:  # noqa: BLE001 - a person takes it, with the whole conversation
            logger.exception("complaint not stored conversation=%s", tracker.sender_id)
            dispatcher.utter_message(response="utter_complaint_not_recorded")
            return [*done, *await hand_off(dispatcher, tracker, "upset")]
        logger.info(
            "complaint %s category=%s angry=%s channel=%s conversation=%s",
            case.reference,
            case.data.get("category"),
            bool(_anger(tracker)),
            channel_of(tracker),
            tracker.sender_id,
        )
        _recorded(dispatcher, tracker, domain, case)
        if tracker.get_slot("cp_problem") == "angry_later":
            # Anger showed only in the complaint itself: a person is offered now.
            return [*done, SlotSet("handoff_reason", "upset"), next_step("utter_offer_handoff")]
        return [*done, next_step(None)]
