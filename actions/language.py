"""Conversation language: set after every message (actions/slot_mappings.py), sticky,
switchable."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent, latest_text, message_metadata
from bot.domain.language import next_language, requested_language
from bot.domain.languages import known


def language_after_message(tracker: Tracker) -> dict[str, Any]:
    """The language slot after the customer's latest message (empty: unchanged)."""
    current = tracker.get_slot("language")
    if latest_intent(tracker) == "switch_language":
        wanted = requested_language(latest_text(tracker))
        if wanted:
            return {"language": wanted}
    channel_language = message_metadata(tracker).get("language")
    if known(channel_language) and current is None:
        return {"language": channel_language}
    language = next_language(current, latest_text(tracker))
    return {"language": language} if language != current else {}


class ActionSwitchLanguage(Action):
    """Confirm the language switch, or ask which language when it is unclear."""

    def name(self) -> str:
        return "action_switch_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = requested_language(latest_text(tracker))
        if wanted is None:
            dispatcher.utter_message(response="utter_which_language")
            return []
        dispatcher.utter_message(response="utter_language_switched")
        return [SlotSet("language", wanted)]
