"""Complaints: categories and anger from the customer's words, the case, earlier complaints."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.domain.complaint_answers import CATEGORIES, anger_signals, category_of
from bot.domain.models import ServiceCase
from bot.domain.responses import load_responses, response_text
from bot.domain.services import complaints
from bot.infra.settings import DOMAIN_DIR

RESPONSES = load_responses(DOMAIN_DIR)
NOW = dt.datetime(2026, 12, 6, 12, 0)


@pytest.mark.parametrize("language", ["de", "tr"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_button_is_read_back_as_its_category(language, category):
    title = response_text(RESPONSES, f"utter_label_cp_{category}", language)
    assert category_of(title) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Die Abrechnung ist falsch", "billing"),
        ("faturam iki kere çekildi", "billing"),
        ("Eure Hotline ist nie erreichbar", "service"),
        ("kimse dönüş yapmadı", "service"),
        ("der Berater war unfreundlich", "staff"),
        ("Der Techniker kam nicht", "technical"),
        ("die App stürzt ständig ab", "online"),
        ("Ich will mich beschweren", None),
    ],
)
def test_category_from_the_words(text, category):
    assert category_of(text) == category


@pytest.mark.parametrize(
    ("text", "signals"),
    [
        ("Ich möchte mich beschweren", []),
        ("Das ist eine Frechheit", ["words"]),
        ("rezalet", ["words"]),
        ("ICH WARTE SEIT WOCHEN AUF EINE ANTWORT", ["caps"]),
        ("Niemand ruft zurück!!!", ["exclamations"]),
        ("OK", []),  # two capitals are no shouting
    ],
)
def test_anger_signals(text, signals):
    assert anger_signals(text) == signals


def test_complaint_case_and_earlier_complaints(session):
    conversation = "web-" + "b" * 24
    assert complaints.earlier_complaints(session, conversation, "10000001", NOW) == 0
    opened = complaints.open_complaint(
        session,
        category="nonsense",
        text="  Die   Rechnung  kam zu spät ",
        contact=None,
        anger=["caps"],
        language="de",
        channel="web",
        conversation_id=conversation,
        request_id="complaint-1",
        customer_number="10000001",
    )
    case = session.scalars(select(ServiceCase)).one()
    assert opened.reference.startswith("BS-") and case.priority
    assert case.data == {
        "category": "other",
        "text": "Die Rechnung kam zu spät",
        "contact": None,
        "angry": True,
        "anger": ["caps"],
    }
    assert complaints.earlier_complaints(session, conversation, None, NOW) == 1
    # the same customer in another conversation, within 90 days
    assert complaints.earlier_complaints(session, "other", "10000001", case.created_at) == 1
    long_after = case.created_at + dt.timedelta(days=91)
    assert complaints.earlier_complaints(session, "other", "10000001", long_after) == 0
