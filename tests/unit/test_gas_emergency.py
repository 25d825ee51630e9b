"""Gas smell comes first: the words rule, the NLU component, the policy, the payload,
the phone's emergency line and the settings behind it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.domain.emergency import GAS_SMELL, smells_gas
from bot.infra.settings import Settings, SettingsError
from bot.ops.phone_sim import Answer, ending
from bot.protocol import BotReply, Emergency
from bot.rasa_runtime.emergency_policy import ACTION, EmergencyPolicy
from connectors.voice import call_flow, twiml
from connectors.voice.call_flow import CallerInput, CallState, EmergencyLine
from nlu_components.emergency import GasEmergency

PHRASES = yaml.safe_load((Path(__file__).parent / "data" / "gas_smell.yml").read_text("utf-8"))
SETTINGS = Settings(public_base_url="https://hotline.example.de")


@pytest.mark.parametrize("language", ["de", "tr"])
def test_every_way_of_saying_it_is_an_emergency(language):
    missed = [text for text in PHRASES[language]["emergency"] if not smells_gas(text)]
    assert not missed
    assert len(PHRASES[language]["emergency"]) >= 90


@pytest.mark.parametrize("language", ["de", "tr"])
def test_gas_bills_prices_and_other_smells_are_not(language):
    alarmed = [text for text in PHRASES[language]["not_emergency"] if smells_gas(text)]
    assert not alarmed


@pytest.mark.parametrize(
    ("text", "emergency"),
    [
        ("Ich rieche Gas, kein Scherz", True),  # a negation elsewhere does not cancel it
        ("ES RIECHT NACH GAS IM KELLER", True),
        ("gaaaas geruch", True),
        ("Gasleitung kaputt, der Bagger hat sie erwischt", True),
        ("Gas tritt am Hausanschluss aus", True),
        ("Treppenhaus'ta gaz kokusu var", True),
        ("iş makinesi doğalgaz borusunu deldi", True),
        ("Gasheizung kaputt", False),  # broken, but no leak
        ("Gasgeruch hab ich keinen, aber kein warmes Wasser", False),
        ("gaz faturam kaç euro", False),  # kaç: how much, not a leak
        ("Gas- und Stromtarif vergleichen", False),
        ("die Gasse stinkt", False),
        ("", False),
    ],
)
def test_the_rule_in_detail(text, emergency):
    assert smells_gas(text) is emergency


def test_nlu_component_sets_the_intent_and_the_hazard():
    component = GasEmergency.create({}, None, None, None)  # type: ignore[arg-type]
    message = Message(
        data={
            "text": "Zählerstand wollte ich melden, aber es riecht nach Gas",
            "intent": {"name": "submit_meter_reading", "confidence": 0.9},
            "intent_ranking": [
                {"name": "submit_meter_reading", "confidence": 0.9},
                {"name": "report_outage", "confidence": 0.1},
            ],
            "entities": [{"entity": "commodity", "value": "gas", "start": 0, "end": 3}],
        }
    )
    other = Message(data={"text": "Wie hoch ist mein Gasabschlag?", "intent": {"name": "ask_bill"}})
    component.process([message, other])
    assert message.get("intent") == {"name": "report_outage", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "report_outage"
    (hazard,) = message.get("entities")  # the other values are of no use now
    assert hazard["entity"] == "hazard" and hazard["value"] == GAS_SMELL
    assert (hazard["start"], hazard["end"]) == (0, len(message.get("text")))
    assert other.get("intent") == {"name": "ask_bill"}
    assert not other.get("entities")


DOMAIN = Domain.from_yaml(
    f"""
version: "3.1"
intents: [report_outage, greet]
entities: [hazard]
actions: [{ACTION}, action_other]
"""
)


def _policy(tmp_path: Path) -> EmergencyPolicy:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return EmergencyPolicy.create(
        EmergencyPolicy.get_default_config(), storage, Resource("emergency"), context
    )


def _tracker(entities: list[dict], *after: str) -> DialogueStateTracker:
    events = [
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("…", {"name": "report_outage", "confidence": 1.0}, entities),
        *(ActionExecuted(name) for name in after),
    ]
    return DialogueStateTracker.from_events("s", events)


def _predicted(policy: EmergencyPolicy, tracker: DialogueStateTracker) -> str | None:
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    if max(prediction.probabilities) == 0:
        return None
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def test_policy_answers_a_gas_smell_first_then_listens(tmp_path):
    policy = _policy(tmp_path)
    gas = [{"entity": "hazard", "value": GAS_SMELL}]
    assert policy.priority > 4  # above the rule policy, so it wins over forms and rules
    assert _predicted(policy, _tracker(gas)) == ACTION
    assert _predicted(policy, _tracker(gas, ACTION)) == ACTION_LISTEN_NAME
    assert _predicted(policy, _tracker([{"entity": "commodity", "value": "gas"}])) is None
    assert _predicted(policy, _tracker(gas, ACTION, "action_other")) is None


def test_the_payload_travels_from_the_action_to_the_channels():
    emergency = Emergency(GAS_SMELL, "+498007788112", "0800 7788 112")
    reply = BotReply.from_rasa(
        [{"text": "Gasgeruch ist ein Notfall."}, {"custom": emergency.payload()}]
    )
    assert reply.emergency == emergency
    assert BotReply.from_json(reply.to_json()).emergency == emergency
    # a forged number to dial is no emergency line
    assert (
        Emergency.parse({"kind": GAS_SMELL, "dial": "tel:+49 900 premium", "number": "x"}) is None
    )


def texts(name: str, language: str) -> str:
    return f"{name}@{language} {{emergency_number}}"


def test_phone_puts_the_caller_through_to_the_emergency_line():
    call = CallState("CA" + "0" * 32, language="de")
    reply = BotReply.from_rasa(
        [
            {"text": "Gasgeruch ist ein Notfall."},
            {"custom": Emergency(GAS_SMELL, "+498007788112", "0800 7788 112").payload()},
        ]
    )
    line = call_flow.PersonLine(connected=False, hours=SETTINGS.hotline_hours, now=SETTINGS.now())
    step = call_flow.on_reply(call, CallerInput(step="turn", turn=3), reply, "de", texts, line)
    assert isinstance(step.decision, EmergencyLine)
    assert step.decision.texts[-1] == "utter_voice_emergency_transfer@de 0800 7788 112"
    root = ET.fromstring(twiml.render(step.decision, SETTINGS))
    assert [child.tag for child in root] == ["Say", "Dial", "Say", "Hangup"]
    assert root.find("Dial/Number").text == "+498007788112"
    assert "Gasgeruch ist ein Notfall" in "".join(root[0].itertext())
    assert "emergency goodbye@de" in "".join(root[2].itertext())  # underscores are not spoken


def test_phone_gives_the_emergency_line_even_when_the_bot_fails():
    decision = call_flow.emergency_without_bot("tr", texts, "+498007788112", "0800 7788 112")
    assert decision.texts[0] == "utter_gas_emergency@tr 0800 7788 112"
    root = ET.fromstring(twiml.render(decision, SETTINGS))
    assert root.find("Dial/Number").text == "+498007788112"
    assert root.find("Say").get("language") == "tr-TR"


@pytest.mark.parametrize(
    ("written", "dialled"),
    [
        ("0800 7788 112", "+498007788112"),
        ("+49 203 604-1111", "+492036041111"),
        ("0049 203 6041111", "+492036041111"),
    ],
)
def test_emergency_number_from_the_settings(written, dialled):
    settings = SETTINGS.replace(emergency_number=written)
    assert settings.emergency_dial == dialled


@pytest.mark.parametrize("bad", ["call us", "112; DROP TABLE", "+49 abc"])
def test_a_malformed_emergency_number_is_refused_at_start(bad):
    with pytest.raises((SettingsError, ValueError)):
        SETTINGS.replace(emergency_number=bad)


def test_the_phone_simulator_says_which_line_the_call_went_to():
    line = call_flow.emergency_without_bot("de", texts, "+498007788112", "0800 7788 112")
    assert ending(Answer.parse(twiml.render(line, SETTINGS))) == "📞 connected to +498007788112"
    queue = "<Response><Say>x</Say><Enqueue>agents</Enqueue></Response>"
    assert ending(Answer.parse(queue)) == "📞 transferred to a person"
    assert ending(Answer.parse("<Response><Hangup/></Response>")) == "📞 hung up"
