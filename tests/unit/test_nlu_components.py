"""Our Rasa NLU components on real messages, trained and loaded like in a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.bare_numbers import BareNumberEntities
from nlu_components.bilingual_tokenizer import BilingualTokenizer
from nlu_components.unknown_words import UnknownWordsFallback, Vocabulary

TRAINING = [
    ("Ich habe eine Frage zu meiner Rechnung", "ask_bill"),
    ("Ich möchte meinen Abschlag ändern", "change_advance_payment"),
    ("faturamı görmek istiyorum", "ask_bill"),
    ("aylık ödememi değiştirmek istiyorum", "change_advance_payment"),
    ("Hallo", "greet"),
    ("merhaba", "greet"),
]


@pytest.fixture(scope="module")
def tokenizer() -> BilingualTokenizer:
    return BilingualTokenizer(BilingualTokenizer.get_default_config())


def tokenized(tokenizer: BilingualTokenizer, text: str) -> Message:
    message = Message(data={"text": text})
    tokenizer.process([message])
    return message


def test_tokens_carry_folded_lemmas_in_both_languages(tokenizer):
    german = tokenized(tokenizer, "Ich möchte meine Rechnungen sehen")
    turkish = tokenized(tokenizer, "FATURALARIMI görmek istiyorum")
    assert "rechnung" in [t.lemma for t in german.get("text_tokens")]
    assert [t.text for t in turkish.get("text_tokens")][0] == "FATURALARIMI"
    # Turkish-aware folding: dotless I, no umlauts or Turkish letters.
    assert turkish.get("text_tokens")[0].lemma.startswith("fatura")


def test_apostrophe_suffix_is_its_own_token(tokenizer):
    message = tokenized(tokenizer, "Abschlag'ımı değiştirmek istiyorum")
    assert [t.text for t in message.get("text_tokens")][:2] == ["Abschlag", "ımı"]


def test_vocabulary_forgives_typos_and_suffixes():
    vocabulary = Vocabulary({"rechnung", "fatura", "faturalar", "abschlag"})
    assert vocabulary.knows("rechnug")  # one letter missing
    assert vocabulary.knows("rechnunk")  # one letter wrong
    assert vocabulary.knows("faturalarimizdan")  # Turkish suffixes
    assert not vocabulary.knows("blorp")


def _trained(tmp_path: Path, tokenizer: BilingualTokenizer) -> UnknownWordsFallback:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("unknown_words")
    context = ExecutionContext(GraphSchema({}), "test")
    component = UnknownWordsFallback.create({}, storage, resource, context)
    data = TrainingData([Message(data={"text": t, "intent": i}) for t, i in TRAINING])
    tokenizer.process_training_data(data)
    component.train(data)
    return UnknownWordsFallback.load({}, storage, resource, context)


def _classified(tokenizer: BilingualTokenizer, text: str) -> Message:
    message = tokenized(tokenizer, text)
    message.set("intent", {"name": "ask_bill", "confidence": 0.93})
    message.set(
        "intent_ranking",
        [{"name": "ask_bill", "confidence": 0.93}, {"name": "greet", "confidence": 0.07}],
    )
    return message


def test_keyboard_mash_loses_its_confidence(tmp_path, tokenizer):
    component = _trained(tmp_path, tokenizer)
    [message] = component.process([_classified(tokenizer, "xqzv blorp wumm")])
    assert message.get("intent")["confidence"] == 0.0
    assert {r["confidence"] for r in message.get("intent_ranking")} == {0.0}


@pytest.mark.parametrize(
    "text",
    ["Rechnug bitte", "faturalarımı göremiyorum", "10000002 44137", "ok"],
)
def test_known_words_typos_and_numbers_keep_their_confidence(tmp_path, tokenizer, text):
    component = _trained(tmp_path, tokenizer)
    [message] = component.process([_classified(tokenizer, text)])
    assert message.get("intent")["confidence"] == 0.93


@pytest.mark.parametrize(
    "text",
    [
        "hä?",
        "Hilfe!",
        "wie bitte?",
        "yardım edin lütfen",
        "bana yardımcı eder misiniz",
        "help",
        "kann mir jmd helfen mit dem ding",
        "weiß ich nicht",
        "keine Ahnung",
        "bilmiyorum",
        "hmm bilemedim",
        "hatirlamiyorum",
        # no word or number at all: nothing to act on either
        "😀",
        "!!!",
        "…",
    ],
)
def test_fillers_alone_lose_their_confidence(tmp_path, tokenizer, text):
    component = _trained(tmp_path, tokenizer)
    [message] = component.process([_classified(tokenizer, text)])
    assert message.get("intent")["confidence"] == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "ähm 47139",
        "Hilfe, mein Strom ist weg",
        "faturam için yardım lütfen",
        "ok",
        "hi",
        "ich weiß nicht, wo meine Kundennummer steht",
        "Almanca bilmiyorum",
        "nicht",
    ],
)
def test_fillers_with_something_to_act_on_are_more_than_fillers(tokenizer, text):
    assert not UnknownWordsFallback.is_filler_only(tokenized(tokenizer, text))


def test_a_known_request_with_fillers_keeps_its_confidence(tmp_path, tokenizer):
    component = _trained(tmp_path, tokenizer)
    [message] = component.process([_classified(tokenizer, "Hilfe bitte, meine Rechnung")])
    assert message.get("intent")["confidence"] == 0.93


def test_no_training_example_is_fillers_only(tokenizer):
    """The rule must never contradict what the classifier was taught."""
    from rasa.shared.importers.importer import TrainingDataImporter

    data = TrainingDataImporter.load_from_dict(training_data_paths=["data/nlu"]).get_nlu_data()
    tokenizer.process_training_data(data)
    fillers_only = [
        (m.get("intent"), m.get("text"))
        for m in data.intent_examples
        if UnknownWordsFallback.is_filler_only(m)
    ]
    assert fillers_only == []


def _with_entities(text: str, entities: list[dict]) -> Message:
    return Message(data={"text": text, "entities": entities})


@pytest.mark.parametrize("text", ["30000", " 12000 ", "10115"])
def test_five_digits_alone_are_a_postcode_whatever_the_crf_said(text):
    guessed = {"entity": "meter_reading", "value": text.strip(), "start": 0, "end": 5}
    [message] = BareNumberEntities().process([_with_entities(text, [guessed])])
    [entity] = message.get("entities")
    assert (entity["entity"], entity["value"]) == ("postcode", text.strip())
    assert text[entity["start"] : entity["end"]] == text.strip()


@pytest.mark.parametrize("text", ["30000 kWh", "Zählerstand 30000", "1234", "123456", "10000025"])
def test_numbers_with_words_or_other_lengths_keep_their_entities(text):
    guessed = [{"entity": "meter_reading", "value": "30000", "start": 0, "end": 5}]
    [message] = BareNumberEntities().process([_with_entities(text, list(guessed))])
    assert message.get("entities") == guessed
