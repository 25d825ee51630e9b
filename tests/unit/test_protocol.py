"""The bot's reply as channels read it (bot/protocol.py), checked without a server."""

from __future__ import annotations

import pytest

from bot.protocol import (
    MAX_MESSAGE_CHARS,
    BotReply,
    Button,
    Expects,
    Handoff,
    Message,
    input_problem,
    technical_problem_payload,
)


def test_replies_with_buttons_and_payloads_are_sorted_for_the_phone():
    reply = BotReply.from_rasa(
        [
            {"text": "Welcher Vertrag?", "buttons": [{"title": "Strom", "payload": "/inform"}]},
            {"custom": {"handoff": {"case_id": "H-1"}}},
            {"custom": {"end_conversation": True}},
        ]
    )
    assert reply.texts == ["Welcher Vertrag?"]
    assert reply.buttons == [Button("Strom", "/inform")]
    assert reply.handoff == Handoff("H-1", "", "", agents_available=True)
    assert reply.end_of_conversation and not reply.technical_problem


def test_the_input_hint_and_language_come_from_the_last_text():
    # What Rasa hands an output channel: the response's metadata included.
    reply = BotReply.from_rasa(
        [
            {"text": "Danke.", "metadata": {"language": "tr"}},
            {
                "text": "Wie lautet Ihre Postleitzahl?",
                "metadata": {"expects": {"kind": "digits", "length": 5}, "language": "de"},
            },
            {"custom": {"handoff": None}},  # a payload without text changes neither
        ]
    )
    assert reply.expects == Expects("digits", 5)
    assert reply.language == "de"
    # A text after the question that asks nothing: no hint any more.
    later = BotReply.from_rasa(
        [
            {"text": "Ihr Geburtsdatum?", "metadata": {"expects": {"kind": "date"}}},
            {"text": "Danke, das war alles."},
        ]
    )
    assert later.expects is None and later.language is None


def test_rest_wire_messages_have_no_hint():
    reply = BotReply.from_rasa([{"recipient_id": "x", "text": "Hallo"}])
    assert reply.texts == ["Hallo"] and reply.expects is None and reply.language is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "digits",
        {"kind": "telepathy"},
        {"kind": "date", "length": 8},  # only digits have a length
        {"kind": "digits", "length": 0},
        {"kind": 3},
    ],
)
def test_malformed_hints_are_ignored(raw):
    assert Expects.parse(raw) is None


def test_hints_are_checked_when_made():
    with pytest.raises(ValueError):
        Expects("telepathy")
    assert Expects("digits", 8).as_dict() == {"kind": "digits", "length": 8}
    assert Expects("yes_no").as_dict() == {"kind": "yes_no"}


def test_technical_problem_and_handoff_payloads_are_read_back():
    handoff = Handoff("H-1A2B3C4D", "customer_request", "tr", agents_available=False)
    reply = BotReply.from_rasa(
        [
            {"text": "Es gibt ein technisches Problem.", "custom": technical_problem_payload()},
            {"custom": handoff.payload()},
        ]
    )
    assert reply.technical_problem and reply.handoff == handoff
    # Anything but a real `true` is not the marker.
    assert not BotReply.from_rasa([{"custom": {"technical_problem": "yes"}}]).technical_problem


def test_the_web_channels_json_round_trips():
    reply = BotReply(
        messages=[Message("Welcher Vertrag?", (Button("Strom (30000002)", '/inform{"x":1}'),))],
        handoff=Handoff("H-1", "upset", "de"),
        technical_problem=True,
        end_of_conversation=False,
        expects=Expects("choice"),
        language="de",
    )
    assert BotReply.from_json(reply.to_json()) == reply
    assert BotReply.from_json(BotReply().to_json()) == BotReply()


@pytest.mark.parametrize(
    "data",
    [None, [], {"messages": "x"}, {"messages": [{"text": 5}, {"text": " "}, "x"]}],
)
def test_malformed_json_gives_an_empty_reply(data):
    assert BotReply.from_json(data) == BotReply()


def test_empty_and_overlong_messages_are_refused_in_every_channel():
    assert input_problem("") == "utter_input_empty"
    assert input_problem("x" * (MAX_MESSAGE_CHARS + 1)) == "utter_input_too_long"
    assert input_problem("x" * MAX_MESSAGE_CHARS) is None
