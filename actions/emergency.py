"""Gas smell: the safety instructions and the emergency number first, then a record.

The dialogue policy (bot/rasa_runtime/emergency_policy.py) runs this action
whatever the conversation was doing. It answers at once, with no question:
what to do now and the 24-hour emergency number from the settings, and a
`emergency` payload with the number to dial, so the phone connects the
caller to the emergency line (bot/protocol.py). A form or identity check in
progress ends, with the values it held; a conversation with a person stays
with the person. Then the report is stored as a priority fault case for the
fault desk; if the database fails, the customer has the instructions all
the same.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    ACCOUNT_SLOTS,
    IDENTITY_SLOTS,
    channel_of,
    language_of,
    latest_text,
    latest_user_event,
    next_step,
)
from bot.domain.emergency import GAS_SMELL
from bot.domain.services import faults
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings
from bot.protocol import Emergency

logger = logging.getLogger(__name__)


def _request_id(tracker: Tracker) -> str:
    message_id = (tracker.latest_message or {}).get("message_id") or (
        latest_user_event(tracker) or {}
    ).get("message_id")
    return f"gas-{message_id or uuid.uuid4().hex}"[:64]


def stop_what_was_going_on(tracker: Tracker) -> list[EventType]:
    """End a form or identity check in progress, forgetting what it held."""
    if tracker.active_loop.get("name") is None and not tracker.get_slot("requested_slot"):
        return []
    held = (*IDENTITY_SLOTS, *ACCOUNT_SLOTS)
    return [
        ActiveLoop(None),
        *(SlotSet(name, None) for name in held if tracker.get_slot(name)),
        SlotSet("requested_slot", None),
        SlotSet("pending_request", None),
        next_step(None),
    ]


class ActionGasEmergency(Action):
    def name(self) -> str:
        return "action_gas_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        settings = get_settings()
        dispatcher.utter_message(
            response="utter_gas_emergency", emergency_number=settings.emergency_number
        )
        dispatcher.utter_message(
            json_message=Emergency(
                GAS_SMELL, settings.emergency_dial, settings.emergency_number
            ).payload()
        )
        channel = channel_of(tracker)
        try:
            case = await run_in_transaction(
                lambda s: faults.record_gas_smell(
                    s,
                    description=latest_text(tracker),
                    language=language_of(tracker),
                    channel=channel,
                    conversation_id=tracker.sender_id,
                    request_id=_request_id(tracker),
                    customer_number=tracker.get_slot("verified_customer"),
                )
            )
        except Exception:  # noqa: BLE001 - the instructions are out; the record is second
            logger.exception("gas smell not recorded conversation=%s", tracker.sender_id)
        else:
            logger.warning(
                "gas smell reported case=%s channel=%s conversation=%s",
                case.reference,
                channel,
                tracker.sender_id,
            )
            dispatcher.utter_message(
                response="utter_gas_emergency_recorded", reference=case.reference
            )
        return stop_what_was_going_on(tracker)
