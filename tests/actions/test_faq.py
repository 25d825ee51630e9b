"""General questions (action_answer_faq), answered in the customer's language."""

from __future__ import annotations

import pytest

from actions.faq import ActionAnswerFaq
from bot.domain.services.faq import TOPICS
from tests.actions.conftest import make_tracker, run

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("text", "language", "response", "fragment"),
    [
        ("Wann haben Sie geöffnet?", "de", "utter_faq_opening_hours", "montags bis samstags"),
        ("Saat kaçta açıksınız?", "tr", "utter_faq_opening_hours", "pazartesiden cumartesiye"),
        ("Wie lautet Ihre Adresse?", "de", "utter_faq_contact", "Kontaktformular"),
        (
            "Wie kann ich bezahlen? Geht Lastschrift?",
            "de",
            "utter_faq_payment_methods",
            "SEPA-Lastschrift",
        ),
        ("Ödeme yöntemleri neler, havale olur mu?", "tr", "utter_faq_payment_methods", "havale"),
        ("Haben Sie Energiespartipps?", "de", "utter_faq_energy_saving", "Stand-by"),
        ("Gibt es Förderprogramme?", "de", "utter_faq_funding", "Wärmepumpen"),
        ("Müşteri portalına nasıl giriş yaparım?", "tr", "utter_faq_portal", "Müşteri portalında"),
    ],
)
async def test_question_gets_the_answer_of_its_topic(domain, text, language, response, fragment):
    outcome = await run(ActionAnswerFaq(), make_tracker(text, "faq", language=language), domain)
    assert outcome.responses == [response]
    assert fragment in outcome.text
    assert outcome.events == []


@pytest.mark.parametrize(
    ("language", "fragment"), [("de", "Was möchten Sie wissen?"), ("tr", "Ne öğrenmek istersiniz?")]
)
async def test_question_without_a_known_topic_gets_the_overview(domain, language, fragment):
    outcome = await run(
        ActionAnswerFaq(), make_tracker("Ich hätte da eine Frage", "faq", language=language), domain
    )
    assert outcome.responses == ["utter_faq_overview"]
    assert fragment in outcome.text


async def test_every_topic_has_an_answer_in_both_languages(domain):
    for topic in [*TOPICS, "overview"]:
        variations = domain["responses"][f"utter_faq_{topic}"]
        languages = {(v.get("condition") or [{}])[0].get("value", "de") for v in variations}
        assert languages == {"de", "tr"}, topic
