"""General questions answered from the knowledge base, or the two closest topics offered.

The intent classifier ranks the topics of a general question (the retrieval
intent `faq/<topic>`, in the ResponseSelector's output form), also for
phrasings it never saw. When
it is sure, the answer is the topic's: an answer imported at run time
(bot/domain/services/knowledge.py) or the shipped one in domain/faq.yml.
When it is not, the customer chooses between the two closest topics (a
button each, and "something else") instead of getting a wrong answer. A
button names its topic as the entity `faq_topic`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import entity_value, language_of, response_text
from bot.domain.hotline import spoken_hours
from bot.domain.services import knowledge
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

#: the topic's probability (among the knowledge base's topics; the intent
#: classifier's, nlu_components/intent_classifier.py) from which it is answered
SURE = 0.7
#: ... and by how much it must lead the second topic (a question naming two
#: topics, "Preise und Kündigung", splits about 0.65 to 0.35: the customer chooses)
LEAD = 0.3


def ranking(tracker: Tracker) -> list[tuple[str, float]]:
    """The selector's topics for the latest message, best first, with confidences."""
    selected = ((tracker.latest_message or {}).get("response_selector") or {}).get(
        knowledge.RETRIEVAL_INTENT
    ) or {}
    ranked = []
    for item in selected.get("ranking") or []:
        topic = knowledge.topic_of_key(item.get("intent_response_key"))
        if topic:
            ranked.append((topic, float(item.get("confidence") or 0.0)))
    return ranked


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        responses = domain.get("responses") or {}
        topics = knowledge.topics_of(responses)
        language = language_of(tracker)
        chosen = entity_value(tracker, "faq_topic")
        if chosen in topics:
            await _answer(dispatcher, chosen, language, responses)
            return []
        ranked = [(topic, score) for topic, score in ranking(tracker) if topic in topics]
        if not ranked:
            dispatcher.utter_message(response="utter_faq_overview")
            return []
        best, confidence = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if confidence >= SURE and confidence - second >= LEAD:
            await _answer(dispatcher, best, language, responses)
            return []
        logger.info("faq unsure conversation=%s topics=%s", tracker.sender_id, ranked[:2])
        buttons = [
            {
                "title": await _title(topic, language, responses),
                "payload": "/faq" + json.dumps({"faq_topic": topic}),
            }
            for topic, _ in ranked[:2]
        ]
        buttons.append(
            {"title": response_text(domain, "utter_label_faq_none", language), "payload": "/deny"}
        )
        dispatcher.utter_message(response="utter_faq_which_topic", buttons=buttons)
        return []


def _values(language: str) -> dict[str, str]:
    settings = get_settings()
    return {
        "hotline_hours": spoken_hours(settings.hotline_hours, language),
        "emergency_number": settings.emergency_number,
    }


async def _imported(topic: str, language: str) -> tuple[str, str] | None:
    try:
        return await run_in_transaction(lambda s: knowledge.imported_answer(s, topic, language))
    except Exception:  # noqa: BLE001 - the shipped answer serves while the database is away
        logger.exception("knowledge base not readable; shipped answer for %s", topic)
        return None


async def _answer(
    dispatcher: CollectingDispatcher, topic: str, language: str, responses: dict[str, Any]
) -> None:
    imported = await _imported(topic, language)
    if imported is not None:
        dispatcher.utter_message(text=knowledge.fill(imported[1], _values(language)))
        return
    dispatcher.utter_message(response=f"{knowledge.ANSWER_PREFIX}{topic}", **_values(language))


async def _title(topic: str, language: str, responses: dict[str, Any]) -> str:
    imported = await _imported(topic, language)
    if imported is not None:
        return imported[0]
    return response_text({"responses": responses}, f"{knowledge.TITLE_PREFIX}{topic}", language)
