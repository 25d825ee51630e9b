"""Handing the conversation to a person: store the case, tell the customer, pause.

A source that has opened its share of cases (HANDOFF_CASES_PER_SOURCE_PER_HOUR)
gets no new one: the customer hears that the request is already waiting and
the bot stays in the conversation.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    ACCOUNT_SLOTS,
    IDENTITY_SLOTS,
    channel_of,
    language_of,
    latest_intent,
    next_step,
    source_of,
)
from bot.domain.privacy import masked
from bot.domain.services import handoff
from bot.domain.transcript import transcript
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

_REASON_BY_INTENT = {
    "request_human": "customer_request",
    "complaint": "upset",
    "nlu_fallback": "repeated_fallback",
}


def _reason(tracker: Tracker) -> str:
    reason = tracker.get_slot("handoff_reason")
    if reason in handoff.REASONS:
        return reason
    return _REASON_BY_INTENT.get(latest_intent(tracker) or "", "service_request")


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await hand_off(dispatcher, tracker, _reason(tracker))


async def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, *, priority: bool = False
) -> list[EventType]:
    """Store the case, tell the customer what happens next, pause the bot.

    Other actions call this directly when their outcome is a handoff (a
    rejected reduction, a failed identity check, a second unclear message);
    `priority` puts the case ahead of the others in the agents' queue.
    """
    settings = get_settings()
    language = language_of(tracker)
    lines = transcript(tracker.events)
    source = source_of(tracker)
    limit = (
        handoff.SourceLimit(
            source, settings.handoff_cases_per_source_per_hour, settings.pseudonym_key.encode()
        )
        if source
        else None
    )
    # An identity check or account change cut short by the handoff is over: its values go.
    held = (*IDENTITY_SLOTS, *ACCOUNT_SLOTS)
    forgotten = [SlotSet(name, None) for name in held if tracker.get_slot(name)]
    stopped = [
        ActiveLoop(None),
        *forgotten,
        SlotSet("requested_slot", None),
        SlotSet("handoff_reason", None),
        SlotSet("pending_request", None),
    ]
    try:
        case = await run_in_transaction(
            lambda s: handoff.open_case(
                s,
                conversation_id=tracker.sender_id,
                reason=reason,
                language=language,
                channel=channel_of(tracker),
                customer_number=tracker.get_slot("verified_customer"),
                transcript=lines,
                limit=limit,
                priority=priority,
            )
        )
    except handoff.TooManyCases:
        logger.info(
            "handoff refused: the source has its cases reason=%s conversation=%s",
            reason,
            tracker.sender_id,
        )
        refused = handoff.when_refused(language, hours=settings.hotline_hours, now=settings.now())
        dispatcher.utter_message(response=refused.response, **refused.values)
        return [*stopped, next_step(None)]
    logger.info(
        "handoff case=%s reason=%s language=%s conversation=%s customer=%s",
        case.case_id,
        reason,
        language,
        tracker.sender_id,
        masked(tracker.get_slot("verified_customer")),
    )
    then = handoff.what_next(
        case.case_id,
        language,
        hours=settings.hotline_hours,
        wait_minutes=settings.handoff_wait_minutes,
        now=settings.now(),
    )
    dispatcher.utter_message(response=then.response, **then.values)
    dispatcher.utter_message(
        json_message={
            "handoff": {
                "case_id": case.case_id,
                "reason": case.reason,
                "language": case.language,
                # whether a channel can connect to a person now (phone transfer)
                "agents_available": then.agents_available,
            }
        }
    )
    return [*stopped, SlotSet("handoff_case", case.case_id), next_step(None), ConversationPaused()]
