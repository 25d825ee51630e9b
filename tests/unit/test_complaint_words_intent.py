"""The NLU component that makes a message in a complaint's own words a complaint
(nlu_components/complaint_words.py, bot/domain/complaint_answers.plainly_a_complaint)."""

from __future__ import annotations

import re

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.domain.complaint_answers import plainly_a_complaint
from nlu_components.complaint_words import ComplaintWordsIntent
from tests.harness.servers import ROOT


@pytest.mark.parametrize(
    ("predicted", "confidence", "text", "expected"),
    [
        ("deny", 0.84, "Das ist eine Zumutung", "complaint"),
        ("faq", 0.88, "Euer Kundenportal ist eine einzige Katastrophe", "complaint"),
        ("out_of_scope", 0.84, "Was für ein Saftladen!", "complaint"),
        ("request_human", 0.4, "personeliniz çok ilgisiz", "complaint"),
        ("out_of_scope", 0.45, "bu ne biçim firma", "complaint"),
        ("inform", 0.32, "berbat bir firma", "complaint"),
        ("ask_bill", 0.61, "schon wieder ne falsche rechnung, ich raste aus", "complaint"),
        # a request the classifier is sure of stays: the fault comes first
        ("report_outage", 0.93, "so ein Mist, seit Stunden kein Strom", "report_outage"),
        (
            "request_human",
            0.9,
            "Ich will einen Menschen sprechen, das ist eine Zumutung",
            "request_human",
        ),
        # no complaint words: left as it is
        ("faq", 0.9, "Wann ist die Hotline erreichbar?", "faq"),
        ("deny", 0.9, "nein danke", "deny"),
    ],
)
def test_the_intent_the_words_mean(predicted, confidence, text, expected):
    [message] = _component().process([_classified(text, predicted, confidence)])
    intent = message.get("intent")
    assert intent["name"] == expected
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == expected
    if expected == "complaint" and predicted != "complaint":
        assert intent["confidence"] == pytest.approx(min(1.0, confidence + 0.1))
        assert next(i for i in ranking if i["name"] == predicted)["confidence"] == 0.0


def test_no_other_intents_training_example_has_a_complaints_words():
    """The words are a complaint's only: otherwise the component would overrule real labels."""
    found = []
    for path in sorted((ROOT / "data" / "nlu").glob("*/*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            intent = str(item.get("intent", ""))
            if not intent or intent == "complaint":
                continue
            for line in item["examples"].splitlines():
                text = re.sub(r"\[([^\]]*)\]\{[^}]*\}", r"\1", line.strip()[2:])
                if plainly_a_complaint(text):
                    found.append((intent, text))
    assert found == []


def _component() -> ComplaintWordsIntent:
    storage = LocalModelStorage.__new__(LocalModelStorage)
    context = ExecutionContext(GraphSchema({}), "test")
    return ComplaintWordsIntent.create({}, storage, Resource("complaint_words"), context)


def _classified(text: str, intent: str, confidence: float) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": confidence},
            {"name": "complaint", "confidence": 0.1},
            {"name": "greet", "confidence": 0.05},
        ],
    )
    return message
