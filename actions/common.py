"""Helpers shared by all actions: the tracker's language, channel, latest message, today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.domain import languages, responses
from bot.domain.phone import callable_number
from bot.domain.services import bank_details, identity
from bot.infra.settings import get_settings

# Slot that tells the dialogue rules which step follows an action
# (identity_form, advance_payment_form, action_show_bill, action_handoff).
# Rules, not FollowupAction, make these transitions, so `rasa test` and the
# rule policy see them.
NEXT_STEP = "next_action"
# What the identity check asks for (actions/identity.py); kept no longer than it needs them.
IDENTITY_SLOTS = identity.VALUES
# What holds a full IBAN while the bank-details form asks (actions/bank_details.py):
# cleared however the request ends (done, cancelled, handed to a person).
ACCOUNT_SLOTS = bank_details.VALUES
INTERRUPTING_INTENTS = {
    "request_human",
    "bot_challenge",
    "goodbye",
    "switch_language",
    "faq",
    "complaint",
    "out_of_scope",
    "greet",
    "thank",
}


def next_step(step: str | None) -> SlotSet:
    """The event that makes the rules run `step` next (None: wait for the customer)."""
    return SlotSet(NEXT_STEP, step)


def language_of(tracker: Tracker) -> str:
    value = tracker.get_slot("language")
    return languages.or_default(value)


def latest_user_event(tracker: Tracker) -> dict[str, Any] | None:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return None


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    event = latest_user_event(tracker)
    metadata = (event or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def channel_of(tracker: Tracker) -> str:
    """The customer's channel: what the gateway says, else Rasa's input channel."""
    channel = message_metadata(tracker).get("channel")
    if isinstance(channel, str) and channel.isidentifier() and len(channel) <= 20:
        return channel
    return tracker.get_latest_input_channel() or "rest"


def source_of(tracker: Tracker) -> str | None:
    """Where the customer's message came from, as its channel says (an address, a caller).

    Failed identity checks are counted per source too; only channels set it
    (the REST channel drops what a client sends in its place).
    """
    source = message_metadata(tracker).get("source")
    return source[:200] if isinstance(source, str) and source else None


def caller_number(tracker: Tracker) -> str | None:
    """The phone caller's number, if a person can call it back (None off the phone)."""
    if channel_of(tracker) != "voice":
        return None
    return callable_number(str(message_metadata(tracker).get("caller") or ""))


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def entity_value(tracker: Tracker, entity: str) -> str | None:
    for item in (tracker.latest_message or {}).get("entities") or []:
        if item.get("entity") == entity and item.get("value"):
            return str(item["value"])
    return None


def today() -> dt.date:
    """Today in the utility's time zone (due dates are local dates)."""
    return get_settings().today()


def response_text(domain: dict[str, Any], name: str, language: str) -> str:
    """The text of a domain response in `language` (for button titles)."""
    return responses.response_text(domain.get("responses") or {}, name, language)


def commodity_label(domain: dict[str, Any], commodity: str, language: str) -> str:
    return response_text(domain, f"utter_label_{commodity}", language)


def label_buttons(
    domain: dict[str, Any], language: str, *choices: tuple[str, str]
) -> list[dict[str, str]]:
    """Buttons from (label response, payload) pairs: the title in the customer's language."""
    return [
        {"title": response_text(domain, label, language), "payload": payload}
        for label, payload in choices
    ]
