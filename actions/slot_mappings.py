"""What is checked after every customer message (Rasa's `action_extract_slots`).

The conversation's language follows the customer (actions/language.py), and
a verification lapses when the customer was silent too long or a new
session began (actions/identity.py): whoever picks up an unattended chat or
a logged conversation id must prove who they are again. The values of an
identity check left unfinished go with it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions.identity import identity_values_after_message, verification_after_message
from actions.language import language_after_message

#: the slots this action extracts (an `extract_<slot>` method each)
EXTRACTED = ("language", "verified_customer")


class ValidateSlotMappings(ValidationAction):
    """Runs after every customer message."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """The slots with an extract method. rasa-sdk would go through every slot of the
        domain, each time listing the domain's slots again to find none for most."""
        return [slot for slot in EXTRACTED if slot in domain_slots]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The identity values belong to the form, so Rasa does not extract them here.
        forgotten = identity_values_after_message(tracker)
        return [*await super().run(dispatcher, tracker, domain), *forgotten]

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return language_after_message(tracker)

    async def extract_verified_customer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return verification_after_message(tracker)
