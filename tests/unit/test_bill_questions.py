"""Telling a money question from a change request (bot/domain/bill_questions.py),
and the formats the answers use (percentages, prices per unit, next due dates)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain import i18n
from bot.domain.bill_questions import ADVANCE_PAYMENT, WHY_HIGH, question_kind
from bot.domain.services.advance_payments import next_due_date


@pytest.mark.parametrize(
    "text",
    [
        "Wie hoch ist mein Abschlag?",
        "wie hoch is mein abschlach",
        "wann wird der Abschlag abgebucht",
        "was zahle ich monatlich",
        "wieviel zahl ich im monat",
        "Wie hoch ist mein Gasabschlag zurzeit?",
        "ich möchte wissen wie hoch mein abschlag ist",
        "Abschlag?",
        "Abschlağım ne kadar",
        "abschlagim ne kadar",
        "aylık ne ödüyorum",
        "aylik ne oduyorum",
        "Abschlag ne zaman çekiliyor",
        "ayın kaçında abschlag çekiliyor",
        "aylık ödememi öğrenmek istiyorum",
    ],
)
def test_questions_about_the_advance_payment(text):
    assert question_kind(text) == ADVANCE_PAYMENT


@pytest.mark.parametrize(
    "text",
    [
        "Abschlag",
        "Abschlag ändern",
        "abschlag aendern",
        "Ich möchte meinen Abschlag auf 90 Euro setzen",
        "Abschlag um 20 € erhöhen",
        "Kann ich meinen monatlichen Abschlag reduzieren?",
        "Wie weit darf ich den Abschlag senken?",
        "Ich zahle zu viel im Monat, bitte weniger abbuchen",
        "Abschlag hoch setzen",
        "aylık ödememi değiştirmek istiyorum",
        "Abschlag'ı 100 euro yapın",
        "aylık ödemeyi ne kadar düşürebilirim",
        "abschlag'ı artırmak istiyorum",
        "Kann ich meinen Abschlag anpasen?",  # a typo of a change verb
        "Geht das mit dem Abschlag auch online?",
        "Abschlag'ı düşürebilir misiniz?",
    ],
)
def test_change_requests_are_no_questions(text):
    assert question_kind(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Warum ist meine Rechnung so hoch?",
        "wieso ist die rechnung so teuer",
        "Warum muss ich 480 Euro nachzahlen?",
        "meine rechnung ist zu hoch",
        "Wie kommt diese hohe Rechnung zustande? Warum so viel?",
        "warum ist meine stromrechnung höher als letztes jahr",
        "Faturam neden bu kadar yüksek?",
        "faturam neden bu kadar yuksek",
        "ek ödeme neden çıktı",
        "niye bu kadar ek ödeme çıktı",
        "fatura çok pahalı geldi",
    ],
)
def test_why_is_the_bill_so_high(text):
    assert question_kind(text) == WHY_HIGH


@pytest.mark.parametrize(
    "text",
    [
        "Wie hoch ist meine Rechnung",
        "Wann ist die Nachzahlung fällig?",
        "Sind meine Abschläge in der Jahresabrechnung verrechnet?",
        "Warum wurde mein Guthaben mit der Rechnung verrechnet",
        "faturam ne kadar",
        "son ödeme tarihi ne zaman",
        "Der Abschlag ist viel zu hoch, bitte senken",
    ],
)
def test_other_bill_questions_get_the_bill(text):
    assert question_kind(text) is None


@pytest.mark.parametrize(
    ("fraction", "language", "expected"),
    [
        ("0.0573", "de", "5,7\xa0%"),
        ("-0.0746", "tr", "%7,5"),
        ("0.05", "de", "5\xa0%"),
        ("0.1234", "tr", "%12,3"),
    ],
)
def test_percentages_in_the_customers_locale(fraction, language, expected):
    assert i18n.percent(Decimal(fraction), language) == expected


@pytest.mark.parametrize(
    ("price", "language", "expected"),
    [
        ("0.3833", "de", "38,33 Cent"),
        ("0.1269", "tr", "12,69 sent"),
        ("4.2215", "de", "4,22\xa0€"),
        ("4.2215", "tr", "€4,22"),
    ],
)
def test_prices_per_unit_in_cents_below_a_euro(price, language, expected):
    assert i18n.unit_price(Decimal(price), language) == expected


def test_formats_take_decimals_only():
    with pytest.raises(TypeError):
        i18n.percent(0.05, "de")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        i18n.unit_price(0.38, "de")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("due_day", "today", "expected"),
    [
        (15, "2026-12-05", "2026-12-15"),
        (5, "2026-12-05", "2026-12-05"),  # due today
        (1, "2026-12-05", "2027-01-01"),
        (28, "2026-02-28", "2026-02-28"),
        (3, "2026-11-30", "2026-12-03"),
    ],
)
def test_next_due_date(due_day, today, expected):
    assert next_due_date(due_day, dt.date.fromisoformat(today)) == dt.date.fromisoformat(expected)
