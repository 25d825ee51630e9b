"""Conversation language: slot extraction after every message, and switching."""

from __future__ import annotations

import pytest

from actions.language import ActionSwitchLanguage
from actions.slot_mappings import ValidateSlotMappings
from tests.actions.conftest import make_tracker, run

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("current", "text", "intent", "metadata", "expected"),
    [
        # the first message decides
        (None, "Merhaba, faturam çok yüksek", "ask_bill", {}, "tr"),
        (None, "Guten Tag, ich habe eine Frage zu meiner Rechnung", "ask_bill", {}, "de"),
        (None, "10000002", "inform", {}, "de"),
        # the channel may know the language before the first word
        (None, "10000002", "inform", {"language": "tr"}, "tr"),
        # a full sentence in the other language switches
        ("de", "Abschlag'ımı düşürmek istiyorum", "change_advance_payment", {}, "tr"),
        ("tr", "Ich möchte meinen Abschlag ändern", "change_advance_payment", {}, "de"),
        # an explicit request switches at once
        ("de", "Können wir auf Türkisch weitermachen?", "switch_language", {}, "tr"),
        ("tr", "Almanca konuşalım", "switch_language", {}, "de"),
    ],
)
async def test_language_slot_follows_the_customer(
    domain, current, text, intent, metadata, expected
):
    tracker = make_tracker(text, intent, language=current, metadata=metadata)
    outcome = await run(ValidateSlotMappings(), tracker, domain)
    assert outcome.slots == {"language": expected}
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("current", "text", "intent", "metadata"),
    [
        ("tr", "Jahresabrechnung geldi", "ask_bill", {}),  # a German noun in Turkish
        ("tr", "Kundennummer 10000001", "inform", {}),
        ("de", "ok", "affirm", {}),
        ("de", "Hallo", "greet", {"language": "tr"}),  # channel hint only for a new conversation
        ("de", "in einer anderen Sprache bitte", "switch_language", {}),  # which one?
    ],
)
async def test_language_stays_without_a_clear_signal(domain, current, text, intent, metadata):
    tracker = make_tracker(text, intent, language=current, metadata=metadata)
    outcome = await run(ValidateSlotMappings(), tracker, domain)
    assert outcome.slots == {}


@pytest.mark.parametrize(
    ("text", "before", "after", "expected_text"),
    [
        ("Türkçe devam edelim lütfen", "de", "tr", "Tabii, bundan sonra Türkçe devam ediyoruz."),
        ("Auf Deutsch bitte", "tr", "de", "Gern, wir sprechen ab jetzt Deutsch."),
    ],
)
async def test_switch_language_confirms_in_the_new_language(
    domain, text, before, after, expected_text
):
    # Rasa runs the slot extraction first, then the action (as rules.yml says).
    tracker = make_tracker(text, "switch_language", language=before)
    extracted = await run(ValidateSlotMappings(), tracker, domain)
    assert extracted.slots == {"language": after}
    tracker.slots.update(extracted.slots)

    outcome = await run(ActionSwitchLanguage(), tracker, domain)
    assert outcome.responses == ["utter_language_switched"]
    assert outcome.slots == {"language": after}
    assert outcome.text.startswith(expected_text)


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_switch_language_asks_which_one_when_unclear(domain, language):
    tracker = make_tracker("andere Sprache / başka dil", "switch_language", language=language)
    outcome = await run(ActionSwitchLanguage(), tracker, domain)
    assert outcome.responses == ["utter_which_language"]
    assert outcome.events == []
    # both languages are offered, so the customer understands the question
    assert "Türk" in outcome.text and "Deutsch" in outcome.text
