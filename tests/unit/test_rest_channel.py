"""Input checks of the REST chat channel (pure functions, no server)."""

import pytest

from bot.protocol import MAX_MESSAGE_CHARS, input_problem
from connectors.rest import InvalidRequest, parse_request


def test_a_good_request_passes_with_only_known_metadata():
    sender, text, metadata = parse_request(
        {
            "sender": "app-7f3a",
            "message": "  Hallo\x00 \u200bwelt  ",
            "metadata": {"language": "tr", "channel": "web", "caller": "+49123"},
        }
    )
    assert (sender, text) == ("app-7f3a", "Hallo welt")
    assert metadata == {"language": "tr", "channel": "web"}


@pytest.mark.parametrize(
    "metadata", [{"language": "en"}, {"channel": "voice"}, {"language": 1, "channel": None}]
)
def test_unknown_languages_and_foreign_channels_are_dropped(metadata):
    assert parse_request({"sender": "a", "message": "x", "metadata": metadata})[2] == {}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {"message": "Hallo"},
        {"sender": "", "message": "Hallo"},
        {"sender": "a b", "message": "Hallo"},
        {"sender": "x" * 129, "message": "Hallo"},
        {"sender": "a", "message": ["Hallo"]},
        {"sender": "a", "message": "Hallo", "metadata": "tr"},
    ],
)
def test_malformed_requests_are_refused(payload):
    with pytest.raises(InvalidRequest):
        parse_request(payload)


def test_empty_and_overlong_messages_are_answered_by_the_channel():
    assert input_problem("") == "utter_input_empty"
    assert input_problem("x" * (MAX_MESSAGE_CHARS + 1)) == "utter_input_too_long"
    assert input_problem("Rechnung") is None


@pytest.mark.parametrize("sender", ["web-" + "0a" * 12, "CA" + "a" * 32, "CA" + "0" * 32])
def test_conversations_of_other_channels_are_refused(sender):
    with pytest.raises(InvalidRequest, match="another channel"):
        parse_request({"sender": sender, "message": "Meine Rechnung"})


@pytest.mark.parametrize(
    "sender",
    ["webshop-1", "web-user", "CA123", "customer-CA" + "0" * 32, "WEB-" + "0" * 24, "e2e-web-1"],
)
def test_rest_conversations_may_look_alike(sender):
    assert parse_request({"sender": sender, "message": "Hallo"})[0] == sender
