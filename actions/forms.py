"""Shared behaviour of our forms: cancelling at any step, interruptions.

A customer can say "abbrechen" / "vazgeçtim" (intent `deny`) at any step of
a form: the form then ends with `form_cancelled` set, and the form's submit
action tells the customer nothing was changed. Messages with an interrupting
intent (a question to the bot, a request for a person) are left to the rules.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.common import INTERRUPTING_INTENTS, latest_intent

CANCELLED = "form_cancelled"


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
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {e["name"] for e in validation if e.get("event") == "slot"}
        kept = [e for e in extraction if e.get("event") == "slot" and e["name"] not in validated]
        return kept + validation

    def stop_form(self, tracker: Tracker) -> bool:
        """Subclasses add reasons to end the form early (e.g. locked)."""
        return bool(tracker.get_slot(CANCELLED))

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        return list(domain_slots)

    def is_interruption(self, tracker: Tracker) -> bool:
        return latest_intent(tracker) in INTERRUPTING_INTENTS

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
        from rasa_sdk.events import SlotSet

        values = await self.extract_form_cancelled(dispatcher, tracker, domain)
        if values:
            tracker.slots.update(values)
        return [SlotSet(k, v) for k, v in values.items()]
