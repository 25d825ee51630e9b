"""Shared behaviour of our forms: cancelling at any step, interruptions, no loops.

A customer can say "abbrechen" / "vazgeçtim" (intent `deny`) at any step of
a form: the form then ends with `form_cancelled` set, and the form's submit
action tells the customer nothing was changed. Messages with an interrupting
intent (a question to the bot, a request for a person) are left to the rules.

No loops: a form that cannot use an answer calls `rejected()`, which says why
and counts the rejected answers per question (reset when another question's
answer is rejected, or the question is answered). At the second rejected
answer in a row the form does not ask the same question again but offers the
way out (`action_ask_form_way_out`, domain/form_way_out.yml): keep it as it is
(`deny`: the form ends as cancelled, nothing changed), another value
(`affirm`: the question is asked once more; a new value may also simply be
given), or a person (`request_human`, handled by the rules like at any step).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from actions.common import (
    INTERRUPTING_INTENTS,
    language_of,
    latest_intent,
    latest_text,
    response_text,
)
from bot.protocol import PERSON_PAYLOAD

CANCELLED = "form_cancelled"
#: how many answers to the same question were rejected in a row
REJECTIONS = "form_rejections"
#: which question that was, as "<form>:<slot>"
REJECTED_SLOT = "form_rejected_slot"
#: the question asked instead of a question whose answers were rejected twice
WAY_OUT = "form_way_out"
#: rejected answers to one question after which the way out is offered
WAY_OUT_AFTER = 2
#: an interrupting intent the classifier is this sure of is one (free text may look like one)
SURE = 0.8


def way_out_reset() -> list[EventType]:
    """Events that forget the rejected answers (for actions that end a form)."""
    return [SlotSet(REJECTIONS, None), SlotSet(REJECTED_SLOT, None)]


class CancellableFormValidation(FormValidationAction):
    """Base for form validations: ends the form when the customer cancels."""

    #: slots whose question is a yes/no question, where "no" is an answer
    yes_no_slots: tuple[str, ...] = ()

    @abstractmethod
    def name(self) -> str:
        """Abstract, so the action server does not register this base class."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Extract, validate, and keep the extracted slots validation ignores.

        rasa_sdk returns only the validated values of the form's required
        slots; our bookkeeping slots (`form_cancelled`, retry counters) and
        everything extracted in the turn that stops the form would be lost,
        and Rasa would then reject the form run and drop its replies.
        """
        if tracker.get_slot(REQUESTED_SLOT) == WAY_OUT:
            answered = self.way_out_answer(tracker)
            if answered is not None:
                return answered
            # Anything else is a new answer to the question whose answers were rejected.
            tracker.slots[REQUESTED_SLOT] = self.rejected_question(tracker)
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {e["name"] for e in validation if e.get("event") == "slot"}
        kept = [e for e in extraction if e.get("event") == "slot" and e["name"] not in validated]
        return kept + validation + self._answered_after_rejections(tracker)

    def stop_form(self, tracker: Tracker) -> bool:
        """Subclasses add reasons to end the form early (e.g. locked)."""
        return bool(tracker.get_slot(CANCELLED))

    # --- no loops ---------------------------------------------------------------

    def rejected(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        response: str | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        """The hook for an answer to `slot` the form cannot use.

        Says why (`response`, filled with `values`) and counts the rejection;
        returns the bookkeeping slot values, to be returned with the slot
        values of the rejection. After `WAY_OUT_AFTER` rejected answers in a
        row the form asks the way-out question next instead of `slot` again.
        """
        if response:
            dispatcher.utter_message(response=response, **values)
        key = f"{self.form_name()}:{slot}"
        count = 1
        if tracker.get_slot(REJECTED_SLOT) == key:
            count += int(tracker.get_slot(REJECTIONS) or 0)
        return {REJECTIONS: float(count), REJECTED_SLOT: key}

    def rejected_question(self, tracker: Tracker) -> str | None:
        """The slot of this form whose answers were rejected, if any."""
        form, _, slot = (tracker.get_slot(REJECTED_SLOT) or "").partition(":")
        return slot if form == self.form_name() and slot else None

    def way_out_due(self, tracker: Tracker) -> bool:
        """Whether the question's answers were rejected often enough, and it is still open."""
        slot = self.rejected_question(tracker)
        if slot is None or (tracker.get_slot(REJECTIONS) or 0) < WAY_OUT_AFTER:
            return False
        return tracker.get_slot(slot) is None

    def way_out_answer(self, tracker: Tracker) -> list[EventType] | None:
        """Events for "keep it as it is" or "another value"; None for anything else."""
        intent = latest_intent(tracker)
        if intent == "deny":
            # Keep it as it is: the form ends as cancelled, nothing is changed.
            return [SlotSet(CANCELLED, True), *way_out_reset(), SlotSet(REQUESTED_SLOT, None)]
        if intent == "affirm" and not re.search(r"\d", latest_text(tracker)):
            # Another value: Rasa asks the question again (the first slot still open).
            return way_out_reset()
        return None

    def _answered_after_rejections(self, tracker: Tracker) -> list[EventType]:
        slot = self.rejected_question(tracker)
        if slot is not None and tracker.get_slot(slot) is not None:
            return way_out_reset()
        return []

    async def extract_form_way_out(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Nothing: the way-out question is answered in `run` (the slot stays empty)."""
        return {}

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        if self.way_out_due(tracker):
            return [WAY_OUT, *domain_slots]
        return list(domain_slots)

    def is_interruption(self, tracker: Tracker) -> bool:
        return latest_intent(tracker) in INTERRUPTING_INTENTS

    def _asked(self, tracker: Tracker, slot: str) -> bool:
        """Whether the form's open question is the one for `slot`."""
        return tracker.get_slot(REQUESTED_SLOT) == slot

    def _sure_interruption(self, tracker: Tracker) -> bool:
        """An interrupting intent the classifier is sure of (a free-text answer may look
        like one: only a sure one is left to the rules)."""
        confidence = ((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0
        return self.is_interruption(tracker) and confidence >= SURE

    @staticmethod
    def chose_offered_button(tracker: Tracker) -> bool:
        """Whether the latest message is the payload of a button the bot just offered
        (a title such as "Mitarbeitende" is an answer, whatever the classifier makes of it)."""
        text = latest_text(tracker)
        for event in reversed(tracker.events):
            if event.get("event") == "user" and event.get("text") != text:
                return False
            if event.get("event") == "bot":
                buttons = (event.get("data") or {}).get("buttons") or []
                return any(b.get("payload") == text for b in buttons if isinstance(b, dict))
        return False

    def wants_to_cancel(self, tracker: Tracker) -> bool:
        requested = tracker.get_slot("requested_slot")
        return latest_intent(tracker) == "deny" and requested not in self.yes_no_slots

    async def extract_form_cancelled(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.active_loop.get("name") == self.form_name() and self.wants_to_cancel(tracker):
            return {CANCELLED: True}
        return {}

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        events = await self.form_cancelled_events(dispatcher, tracker, domain)
        if events:
            return events
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def form_cancelled_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        values = await self.extract_form_cancelled(dispatcher, tracker, domain)
        if values:
            tracker.slots.update(values)
        return [SlotSet(k, v) for k, v in values.items()]


def _form_response(domain: dict[str, Any], name: str, form: str | None) -> str:
    """`<name>_<form>` when the form has its own wording, else `name`."""
    specific = f"{name}_{form}"
    return specific if form and specific in (domain.get("responses") or {}) else name


class ActionAskFormWayOut(Action):
    """The way out after repeated unusable answers: keep it, another value, a person.

    The question and the first two buttons may be worded per form
    (`utter_ask_form_way_out_<form>`, `utter_label_way_out_keep_<form>`,
    `utter_label_way_out_retry_<form>`).
    """

    def name(self) -> str:
        return "action_ask_form_way_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        form = tracker.active_loop.get("name")
        language = language_of(tracker)

        def label(name: str) -> str:
            return response_text(domain, _form_response(domain, name, form), language)

        buttons = [
            {"title": label("utter_label_way_out_keep"), "payload": "/deny"},
            {"title": label("utter_label_way_out_retry"), "payload": "/affirm"},
            {"title": label("utter_label_way_out_person"), "payload": PERSON_PAYLOAD},
        ]
        dispatcher.utter_message(
            response=_form_response(domain, "utter_ask_form_way_out", form), buttons=buttons
        )
        return []
