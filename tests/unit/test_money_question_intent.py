"""The NLU component that tells a question about the advance payment from a change
(nlu_components/money_questions.py, bot/domain/bill_questions.plainly_meant)."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from nlu_components.money_questions import MoneyQuestionIntent


@pytest.mark.parametrize(
    ("predicted", "text", "meant"),
    [
        ("change_advance_payment", "Wie hoch ist mein Abschlag?", "ask_bill"),
        ("change_advance_payment", "Abschlağım ne kadar", "ask_bill"),
        ("change_advance_payment", "was zahle ich im Monat für Strom?", "ask_bill"),
        ("change_advance_payment", "Abschlag ändern", None),
        ("change_advance_payment", "Kann ich mehr Abschlag zahlen?", None),
        ("change_advance_payment", "her ay hesabımdan daha az çekilsin", None),
        ("ask_bill", "bitte den Abschlag auf 90 Euro", "change_advance_payment"),
        (
            "ask_bill",
            "abschlag'ı artırmak istiyorum nachzahlung çıkmasın",
            "change_advance_payment",
        ),
        ("ask_bill", "bitte monatlich mehr abbuchen", "change_advance_payment"),
        ("ask_bill", "her ay daha fazla ödemek istiyorum", "change_advance_payment"),
        ("ask_bill", "aylık ödemem çok fazla azaltın", "change_advance_payment"),
        ("ask_bill", "Warum muss ich monatlich mehr zahlen?", None),
        ("ask_bill", "Warum ist die Nachzahlung so hoch?", None),
        ("ask_bill", "Sind meine Abschläge in der Jahresabrechnung verrechnet?", None),
        # "monthly" alone is no advance payment: "50 € monatlich abstottern" is an arrangement
        ("ask_bill", "Ich möchte 50 € monatlich abstottern", None),
        ("greet", "Wie hoch ist mein Abschlag?", None),
        (None, "", None),
    ],
)
def test_the_intent_the_words_mean(predicted, text, meant):
    """`meant`: the intent the component corrects the prediction to; None keeps it."""
    [message] = _component().process([_classified(text, predicted)])
    assert message.get("intent")["name"] == (meant or predicted)


def _component() -> MoneyQuestionIntent:
    storage = LocalModelStorage.__new__(LocalModelStorage)
    context = ExecutionContext(GraphSchema({}), "test")
    return MoneyQuestionIntent.create({}, storage, Resource("money_questions"), context)


def _classified(text: str, intent: str) -> Message:
    other = "ask_bill" if intent == "change_advance_payment" else "change_advance_payment"
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": 0.81})
    message.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": 0.81},
            {"name": "greet", "confidence": 0.12},
            {"name": other, "confidence": 0.07},
        ],
    )
    return message


def test_a_question_taken_for_a_change_becomes_ask_bill_with_both_confidences():
    [message] = _component().process([_classified("aylık ne ödüyorum", "change_advance_payment")])
    assert message.get("intent") == {"name": "ask_bill", "confidence": pytest.approx(0.88)}
    assert [(r["name"], r["confidence"]) for r in message.get("intent_ranking")] == [
        ("ask_bill", pytest.approx(0.88)),
        ("greet", 0.12),
        ("change_advance_payment", 0.0),
    ]


def test_a_plain_change_the_classifier_was_unsure_about_is_no_longer_ambiguous():
    message = Message(data={"text": "Mein Stromabschlag soll höher werden"})
    message.set("intent", {"name": "change_advance_payment", "confidence": 0.54})
    message.set(
        "intent_ranking",
        [
            {"name": "change_advance_payment", "confidence": 0.54},
            {"name": "ask_bill", "confidence": 0.46},
        ],
    )
    [message] = _component().process([message])
    assert message.get("intent")["name"] == "change_advance_payment"
    assert message.get("intent")["confidence"] == pytest.approx(1.0)
    assert message.get("intent_ranking")[1] == {"name": "ask_bill", "confidence": 0.0}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Abschlag", "change_advance_payment"),
        ("Warum muss ich monatlich mehr zahlen?", "ask_bill"),
        ("Wie hoch ist mein Abschlag?", "greet"),
    ],
)
def test_messages_whose_words_do_not_decide_are_left_alone(text, intent):
    message = _classified(text, intent)
    before = (dict(message.get("intent")), list(message.get("intent_ranking")))
    _component().process([message])
    assert (message.get("intent"), message.get("intent_ranking")) == before
