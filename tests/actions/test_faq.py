"""General questions (action_answer_faq): the knowledge-base answer of the topic the
response selector chose, in the customer's language; the two closest topics when it is
unsure; an imported answer in place of the shipped one."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from actions.faq import ActionAnswerFaq
from bot.domain.services import data_import, knowledge
from bot.infra.db import session_scope
from tests.actions.conftest import entity, make_tracker, run

pytestmark = pytest.mark.asyncio


def selected(*ranked: tuple[str, float]) -> dict[str, Any]:
    """The response selector's output for the latest message, as Rasa sends it."""
    ranking = [{"intent_response_key": f"faq/{t}", "confidence": c} for t, c in ranked]
    return {
        "faq": {
            "response": {**ranking[0], "utter_action": f"utter_faq/{ranked[0][0]}"},
            "ranking": ranking,
        }
    }


def question(text: str, language: str, *ranked: tuple[str, float], **extra: Any):
    tracker = make_tracker(text, "faq", language=language, **extra)
    if ranked:
        tracker.latest_message["response_selector"] = selected(*ranked)
    return tracker


@pytest.mark.parametrize(
    ("text", "language", "topic", "fragment"),
    [
        ("Wann haben Sie geöffnet?", "de", "opening_hours", "Montag bis Samstag von 8 bis 20 Uhr"),
        ("Saat kaçta açıksınız?", "tr", "opening_hours", "Pazartesiden Cumartesiye saat 8 ile 20"),
        ("Wie lautet Ihre Adresse?", "de", "address", "Königstraße 12"),
        ("Wie kann ich bezahlen? Geht Lastschrift?", "de", "payment_methods", "SEPA-Lastschrift"),
        ("Ödeme yöntemleri neler, havale olur mu?", "tr", "payment_methods", "havale"),
        ("Haben Sie Energiespartipps?", "de", "energy_saving", "Stand-by"),
        ("Gibt es Förderprogramme?", "de", "funding", "Wärmepumpe"),
        ("Müşteri portalına nasıl giriş yaparım?", "tr", "portal", "Müşteri portalında"),
        ("Wie ist die Nummer vom Störungsdienst?", "de", "emergency_number", "0800 7788 112"),
    ],
)
async def test_a_sure_topic_gets_its_answer(domain, text, language, topic, fragment):
    tracker = question(text, language, (topic, 0.93), ("contact", 0.03))
    outcome = await run(ActionAnswerFaq(), tracker, domain)
    assert outcome.responses == [f"utter_faq/{topic}"]
    assert fragment in outcome.text
    assert "{" not in outcome.text  # the placeholders are filled
    assert outcome.events == []


@pytest.mark.parametrize(
    ("language", "titles"),
    [
        ("de", ["Zahlungswege", "Energiespartipps", "Etwas anderes"]),
        ("tr", ["Ödeme yolları", "Enerji tasarrufu ipuçları", "Başka bir şey"]),
    ],
)
async def test_an_unsure_topic_offers_the_two_closest(domain, language, titles):
    tracker = question(
        "Wie kann ich …", language, ("payment_methods", 0.42), ("energy_saving", 0.3)
    )
    outcome = await run(ActionAnswerFaq(), tracker, domain)
    assert outcome.responses == ["utter_faq_which_topic"]
    buttons = outcome.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == titles
    assert buttons[0]["payload"] == '/faq{"faq_topic": "payment_methods"}'
    assert buttons[-1]["payload"] == "/deny"


async def test_a_close_second_is_unsure_too(domain):
    tracker = question("Adresse", "de", ("address", 0.6), ("contact", 0.5))
    outcome = await run(ActionAnswerFaq(), tracker, domain)
    assert outcome.responses == ["utter_faq_which_topic"]


async def test_a_chosen_topic_is_answered(domain):
    tracker = question("Zahlungswege", "de", entities=[entity("faq_topic", "payment_methods")])
    outcome = await run(ActionAnswerFaq(), tracker, domain)
    assert outcome.responses == ["utter_faq/payment_methods"]


@pytest.mark.parametrize(
    ("language", "fragment"), [("de", "Was möchten Sie wissen?"), ("tr", "Ne öğrenmek istersiniz?")]
)
async def test_question_without_a_known_topic_gets_the_overview(domain, language, fragment):
    outcome = await run(
        ActionAnswerFaq(), make_tracker("Ich hätte da eine Frage", "faq", language=language), domain
    )
    assert outcome.responses == ["utter_faq_overview"]
    assert fragment in outcome.text


async def test_an_imported_answer_replaces_the_shipped_one(database_url, domain):
    document = {
        "knowledge_base": [
            {
                "topic": "opening_hours",
                "title": {"de": "Servicezeiten"},
                "answer": {
                    "de": "Heute wegen Betriebsversammlung geschlossen. Hotline: {hotline_hours}."
                },
            }
        ]
    }
    topics = knowledge.topics_of(domain["responses"])
    with session_scope(database_url) as session:
        data_import.import_document(session, document, ZoneInfo("Europe/Berlin"), topics)
    outcome = await run(
        ActionAnswerFaq(), question("Öffnungszeiten?", "de", ("opening_hours", 0.9)), domain
    )
    assert outcome.texts == [
        "Heute wegen Betriebsversammlung geschlossen. Hotline: Montag bis Samstag von 8 bis 20 Uhr."
    ]
    # Turkish was not imported: the shipped answer
    outcome = await run(
        ActionAnswerFaq(), question("saatler?", "tr", ("opening_hours", 0.9)), domain
    )
    assert outcome.responses == ["utter_faq/opening_hours"]
    # the title of the imported topic is offered when unsure
    outcome = await run(
        ActionAnswerFaq(), question("?", "de", ("opening_hours", 0.4), ("contact", 0.3)), domain
    )
    assert outcome.messages[0]["buttons"][0]["title"] == "Servicezeiten"


async def test_every_topic_has_an_answer_and_a_title_in_both_languages(domain):
    topics = knowledge.topics_of(domain["responses"])
    assert len(topics) == 12
    for topic in topics:
        for name in (f"utter_faq/{topic}", f"utter_label_faq_{topic}"):
            variations = domain["responses"][name]
            languages = {(v.get("condition") or [{}])[0].get("value", "de") for v in variations}
            assert languages == {"de", "tr"}, name
