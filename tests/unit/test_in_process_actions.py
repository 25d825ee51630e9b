"""Rasa runs custom actions in its own process (bot.rasa_runtime.in_process_actions)
with the results and errors it gets from the action server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.infra.settings import ROOT, load_settings
from bot.ops.launcher import commands, health_urls
from bot.rasa_runtime import server
from bot.rasa_runtime.in_process_actions import InProcessActions
from tests.harness import sample_actions
from tests.harness.rasa_patches import put_back_afterwards, remove_listener

DOMAIN = Domain.from_dict(
    {
        "slots": {
            "name": {"type": "any", "mappings": [{"type": "custom"}]},
            "greeted": {"type": "any", "mappings": [{"type": "custom"}]},
        },
        "responses": {
            "utter_sample": [{"text": "Schön, dass Sie da sind."}],
            "utter_technical_problem": [{"text": "Ein technisches Problem."}],
        },
        "actions": ["action_sample_greet", "action_sample_reject", "action_sample_crash"],
    }
)


@pytest.fixture(scope="module")
def endpoint() -> InProcessActions:
    return InProcessActions(sample_actions)


def run(name: str, endpoint: EndpointConfig) -> list:
    tracker = DialogueStateTracker("in-process", [AnySlot("name", mappings=[{}])])
    tracker.update(SlotSet("name", "Aylin"))
    return asyncio.run(
        RemoteAction(name, endpoint).run(
            CollectingOutputChannel(),
            TemplatedNaturalLanguageGenerator(DOMAIN.responses),
            tracker,
            DOMAIN,
        )
    )


def test_an_action_answers_with_its_messages_and_events(endpoint: InProcessActions) -> None:
    first, second, slot = run("action_sample_greet", endpoint)
    assert isinstance(first, BotUttered) and first.text == "Hallo Aylin"
    assert isinstance(second, BotUttered) and second.text == "Schön, dass Sie da sind."
    assert second.metadata["utter_action"] == "utter_sample"
    assert slot == SlotSet("greeted", True)


def test_the_answer_is_what_the_action_server_would_send(endpoint: InProcessActions) -> None:
    tracker = DialogueStateTracker("in-process", [])
    call = RemoteAction("action_sample_greet", endpoint)._action_call_format(tracker, DOMAIN)
    answer = asyncio.run(endpoint.request(json=call))
    assert answer == {
        "events": [{"event": "slot", "timestamp": None, "name": "greeted", "value": True}],
        "responses": [
            {
                "text": "Hallo None",
                "buttons": [],
                "elements": [],
                "custom": {},
                "template": None,
                "response": None,
                "image": None,
                "attachment": None,
            },
            {
                "text": None,
                "buttons": [],
                "elements": [],
                "custom": {},
                "template": "utter_sample",
                "response": "utter_sample",
                "image": None,
                "attachment": None,
            },
        ],
    }


def test_a_rejection_lets_rasa_predict_another_action(endpoint: InProcessActions) -> None:
    with pytest.raises(ActionExecutionRejection) as rejected:
        run("action_sample_reject", endpoint)
    assert rejected.value.action_name == "action_sample_reject"
    assert rejected.value.message == "not now"


@pytest.mark.parametrize("name", ["action_sample_crash", "action_sample_date", "action_nobody"])
def test_a_failing_or_unknown_action_fails_as_with_the_action_server(
    endpoint: InProcessActions, name: str
) -> None:
    with pytest.raises(RasaException, match="Failed to execute custom action"):
        run(name, endpoint)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    put_back_afterwards(monkeypatch)  # Rasa's own methods again after the test
    server.install(actions_in_process=True)
    yield
    remove_listener()


def test_a_failing_action_gets_the_apology(installed: None, endpoint: InProcessActions) -> None:
    events = run("action_sample_crash", endpoint)
    assert events[0].text == "Ein technisches Problem."
    assert events[0].metadata["utter_action"] == "utter_technical_problem"


def test_rasa_reads_this_process_as_its_action_endpoint(installed: None) -> None:
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert isinstance(endpoints.action, InProcessActions)
    assert "action_answer_faq" in endpoints.action.executor.actions  # our actions package
    assert endpoints.tracker_store.type == "SQL"  # the rest is the file's


def test_actions_in_process_need_no_action_server() -> None:
    settings = load_settings().replace(actions="", action_server_url="")
    assert settings.actions_in_process
    assert "actions" not in commands(settings, Path("m.tar.gz"))
    assert "actions" not in health_urls(settings)
    for server_mode in (
        settings.replace(actions="server"),
        settings.replace(action_server_url="http://actions:5055"),
    ):
        assert not server_mode.actions_in_process
        assert "actions" in commands(server_mode, Path("m.tar.gz"))
        assert "actions" in health_urls(server_mode)
    assert settings.replace(actions="in-process", action_server_url="http://a:1").actions_in_process
