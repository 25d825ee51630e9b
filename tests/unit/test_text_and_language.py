import pytest

from bot.domain.language import next_language, requested_language
from bot.domain.text import clean_message, fold, lower


def test_turkish_case_folding():
    assert lower("IŞIK", "tr") == "ışık"
    assert lower("İSTANBUL", "tr") == "istanbul"
    assert "̇" in "İ".lower()  # what Python alone would do


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ändern", "AENDERN"),
        ("faturamı", "FATURAMI"),
        ("Zählerstand", "zaehlerstand"),
        ("düşürmek", "dusurmek"),
    ],
)
def test_spellings_meet(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    "text", ["Jahresabrechnung geldi", "Abschlag", "Guthaben var mı", "Kundennummer 10000001", "ok"]
)
def test_german_words_do_not_flip_a_turkish_conversation(text):
    assert next_language("tr", text) == "tr"


def test_full_sentence_in_other_language_switches():
    assert next_language("tr", "Ich möchte meinen Abschlag ändern") == "de"
    assert next_language("de", "Abschlag'ımı düşürmek istiyorum") == "tr"


def test_first_message_decides():
    assert next_language(None, "Faturam ne kadar?") == "tr"
    assert next_language(None, "Was steht auf meiner Rechnung?") == "de"
    assert next_language(None, "12345678") == "de"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Auf Türkisch bitte", "tr"),
        ("Almanca konuşalım", "de"),
        ("turkce lutfen", "tr"),
        ("egal", None),
    ],
)
def test_requested_language(text, lang):
    assert requested_language(text) == lang


def test_terminal_escapes_and_invisible_characters_are_removed():
    assert clean_message("\x00\x01\x1b[31m\u200b") == ""
    assert clean_message("Rech\x1b[1;31mnung\x1b[0m  bitte\u202e") == "Rechnung bitte"
