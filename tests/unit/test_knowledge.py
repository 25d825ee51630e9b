"""The knowledge base's import: only trained topics, both languages, known placeholders."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidRecord
from bot.domain.responses import load_responses
from bot.domain.services import data_import, knowledge
from bot.infra.settings import DOMAIN_DIR

TOPICS = knowledge.topics_of(load_responses(DOMAIN_DIR))
BERLIN = ZoneInfo("Europe/Berlin")
ARTICLE = {
    "topic": "contact",
    "title": {"de": "Kontakt", "tr": "İletişim"},
    "answer": {"de": "Rufen Sie uns an: {hotline_hours}.", "tr": "Bizi arayın."},
}


def test_the_domain_knows_twelve_topics():
    assert TOPICS == [
        "opening_hours",
        "contact",
        "address",
        "payment_methods",
        "price_components",
        "energy_saving",
        "funding",
        "after_bill",
        "portal",
        "cancellation",
        "price_change",
        "emergency_number",
    ]


def test_import_is_idempotent_and_updates(session):
    def imported(document):
        return data_import.import_document(session, document, BERLIN, TOPICS)["knowledge_base"]

    assert imported({"knowledge_base": [ARTICLE]}) == {"articles": 2, "created": 2, "updated": 0}
    assert imported({"knowledge_base": [ARTICLE]}) == {"articles": 2, "created": 0, "updated": 0}
    changed = {**ARTICLE, "answer": {"de": "Neu.", "tr": "Bizi arayın."}}
    assert imported({"knowledge_base": [changed]}) == {"articles": 2, "created": 0, "updated": 1}
    assert knowledge.imported_answer(session, "contact", "de") == ("Kontakt", "Neu.")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"topic": "weather"}, "topic"),  # the model has no questions for it
        ({"answer": {"en": "Call us"}}, "answer"),
        ({"answer": {"de": ""}}, "answer"),
        ({"answer": {"de": "x" * 1501}}, "answer"),
        ({"answer": {"de": "Ihr Passwort: {password}"}}, "answer"),
        ({"title": "Kontakt"}, "title"),
        ({"link": "https://example.org"}, "link"),
    ],
)
def test_a_bad_article_imports_nothing(session, change, field):
    with pytest.raises(InvalidRecord) as error:
        data_import.import_document(
            session, {"knowledge_base": [{**ARTICLE, **change}]}, BERLIN, TOPICS
        )
    assert f"'{field}'" in str(error.value)
    assert knowledge.imported_answer(session, "contact", "de") is None


def test_placeholders_are_filled_and_unknown_braces_kept():
    assert knowledge.fill("{hotline_hours} / {x}", {"hotline_hours": "täglich"}) == "täglich / {x}"
    assert knowledge.topic_of_key("faq/portal") == "portal"
    assert knowledge.topic_of_key("ask_bill") is None
