"""An action's answer is accepted exactly when Rasa's whole schema accepts it
(bot.rasa_runtime.action_answers checks each event against its own type first)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa_sdk import events as sdk

from bot.rasa_runtime import action_answers

VALID_EVENTS: list[dict[str, Any]] = [
    SlotSet("language", "tr").as_dict(),
    SlotSet("new_amount", {"value": "85.00", "currency": "EUR"}).as_dict(),
    SlotSet("customer_number", None).as_dict(),
    ActionExecuted("action_listen").as_dict(),
    ActiveLoop("identity_form").as_dict(),
    ActiveLoop(None).as_dict(),
    BotUttered("Ihr Abschlag beträgt 85,00 €.", {"buttons": []}, {"utter_action": "x"}).as_dict(),
    FollowupAction("action_listen").as_dict(),
    ConversationPaused().as_dict(),
    ConversationResumed().as_dict(),
    Restarted().as_dict(),
    AllSlotsReset().as_dict(),
    SessionStarted().as_dict(),
    UserUttered(
        "Hallo",
        {"name": "greet", "confidence": 0.9},
        [{"entity": "customer_number", "value": "10000011", "start": 0, "end": 8}],
    ).as_dict(),
    sdk.SlotSet("language", "de"),
    sdk.ActiveLoop("advance_payment_form"),
    sdk.FollowupAction("action_handoff"),
    sdk.ConversationPaused(),
    sdk.Restarted(),
    sdk.ActionExecutionRejected("advance_payment_form"),
    sdk.SessionStarted(),
    sdk.AllSlotsReset(),
    sdk.ReminderScheduled("EXTERNAL_reminder", trigger_date_time=dt.datetime(2026, 12, 6, 9)),
]

INVALID: list[Any] = [
    [],
    "events",
    None,
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "language", "value": "tr"}]},  # no type
    {"events": [{"event": 5}]},
    {"events": ["slot"]},
    {"events": [None]},
    {"events": [{"event": "slot", "value": "tr"}]},  # no name
    {"events": [{"event": "slot", "name": 3, "value": "tr"}]},
    {"events": [{"event": "slot", "name": "language", "value": "tr", "timestamp": "now"}]},
    {"events": [{"event": "action", "name": 7}]},
    {"events": [{"event": "bot", "metadata": "not an object"}]},
    {"events": [{"event": "entities"}]},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 1}}}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "x"}]}}]},
    {"events": [SlotSet("language", "tr").as_dict(), {"event": "action", "policy": 1}]},
    {"responses": ["not an object"]},
    {"responses": "not a list"},
    {"events": [], "responses": [{"text": "Hallo"}, 3]},
]


def rasas_verdict(answer: Any) -> bool:
    return action_answers.whole_schema().is_valid(answer)


@pytest.mark.parametrize("event", VALID_EVENTS, ids=lambda e: e["event"])
def test_every_kind_of_valid_event_passes_at_once(event: dict[str, Any]) -> None:
    answer = {"events": [event], "responses": [{"response": "utter_greet"}]}
    assert rasas_verdict(answer)
    assert action_answers.passes_by_type(answer)
    assert action_answers.validate(RemoteAction("action_x", None), answer) is True


def test_a_long_valid_answer_passes_at_once() -> None:
    answer = {"events": VALID_EVENTS * 3, "responses": [{"text": "Hallo"}] * 3}
    assert rasas_verdict(answer) and action_answers.passes_by_type(answer)


@pytest.mark.parametrize("answer", INVALID, ids=repr)
def test_an_invalid_answer_fails_with_rasas_error(answer: Any) -> None:
    assert not rasas_verdict(answer)
    assert not action_answers.passes_by_type(answer)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action_answers.validate(RemoteAction("action_x", None), answer)


def test_an_answer_the_quick_check_leaves_open_is_decided_by_the_whole_schema() -> None:
    """A user event whose response selector matches both of Rasa's alternatives (`oneOf`)."""
    answer = {"events": [{"event": "user", "parse_data": {"response_selector": {}}}]}
    assert action_answers.passes_by_type(answer) == rasas_verdict(answer)
