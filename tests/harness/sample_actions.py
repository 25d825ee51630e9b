"""Custom actions with known behaviour, for the tests of running actions in process."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection


class GreetByName(Action):
    def name(self) -> str:
        return "action_sample_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=f"Hallo {tracker.get_slot('name')}", buttons=[])
        dispatcher.utter_message(response="utter_sample")
        return [SlotSet("greeted", True)]


class Rejects(Action):
    def name(self) -> str:
        return "action_sample_reject"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        raise ActionExecutionRejection(self.name(), "not now")


class Crashes(Action):
    def name(self) -> str:
        return "action_sample_crash"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        raise RuntimeError("a bug in an action")


class AnswersADate(Action):
    """Returns a value JSON cannot carry: over HTTP the action server fails with a 500."""

    def name(self) -> str:
        return "action_sample_date"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        return [SlotSet("greeted", dt.date(2026, 12, 6))]
