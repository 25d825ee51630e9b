"""General questions answered from the FAQ responses in the domain."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_text
from bot.domain.services.faq import topic_of


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = topic_of(latest_text(tracker))
        dispatcher.utter_message(response=f"utter_faq_{topic}" if topic else "utter_faq_overview")
        return []
