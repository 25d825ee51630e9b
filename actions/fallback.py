"""Low-confidence messages: ask which of two intents was meant, or to rephrase.

The second fallback in a row hands the conversation to a person.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import language_of, next_step, response_text
from actions.handoff import hand_off
from bot.domain.services import stats
from bot.infra.db import run_in_transaction

logger = logging.getLogger(__name__)

# Intents a customer can be asked to choose between (the rest are answered
# by a rephrase prompt: asking "did you mean 'no'?" helps nobody).
CLARIFIABLE = {
    "ask_bill",
    "change_advance_payment",
    "request_human",
    "submit_meter_reading",
    "change_bank_details",
    "report_outage",
    "reconnect_supply",
    "payment_arrangement",
    "ask_tariff",
    "complaint",
    "book_appointment",
    "move_house",
    "faq",
}
AMBIGUITY_FLOOR = 0.25


def _user_intents(tracker: Tracker) -> list[str]:
    return [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        for e in tracker.events
        if e.get("event") == "user"
    ]


def repeated_fallback(tracker: Tracker) -> bool:
    intents = _user_intents(tracker)
    return len(intents) >= 2 and intents[-1] == intents[-2] == "nlu_fallback"


def close_candidates(tracker: Tracker) -> list[str]:
    """The two intents the message was torn between, if both are plausible."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    top = [r for r in ranking if r.get("name") not in (None, "nlu_fallback")][:2]
    if len(top) == 2 and all(
        r["name"] in CLARIFIABLE and (r.get("confidence") or 0) >= AMBIGUITY_FLOOR for r in top
    ):
        return [r["name"] for r in top]
    return []


async def _count_fallback(language: str) -> None:
    """One more message the bot did not understand (for /metrics); never in the customer's way."""
    try:
        await run_in_transaction(lambda s: stats.count(s, "fallbacks", language))
    except SQLAlchemyError:
        logger.warning("a fallback was not counted: the database did not answer")


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        await _count_fallback(language)
        if repeated_fallback(tracker):
            return await hand_off(dispatcher, tracker, "repeated_fallback")
        candidates = close_candidates(tracker)
        if candidates:
            buttons = [
                {
                    "title": response_text(domain, f"utter_label_{name}", language),
                    "payload": f"/{name}",
                }
                for name in candidates
            ]
            dispatcher.utter_message(response="utter_clarify_intent", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        # Keep an active form going: the unclear message is taken back.
        if tracker.active_loop.get("name"):
            return [UserUtteranceReverted()]
        return [next_step(None)]
