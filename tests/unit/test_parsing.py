import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.parsing import (
    is_explicit_yes,
    parse_amount,
    parse_amount_change,
    parse_commodity,
    parse_iban,
    parse_identity,
)

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "number", "postcode", "birth"),
    [
        ("10000001 47051 12.04.1980", "10000001", "47051", dt.date(1980, 4, 12)),
        ("47051, 12/04/1980, 10000001", "10000001", "47051", dt.date(1980, 4, 12)),
        (
            "müşteri numaram 10000003 posta kodu 44137 doğum tarihim 3 Mayıs 1975",
            "10000003",
            "44137",
            dt.date(1975, 5, 3),
        ),
        ("geboren am 12. März 1975, PLZ 47051", None, "47051", dt.date(1975, 3, 12)),
        ("12 Mart 1975", None, None, dt.date(1975, 3, 12)),
        ("Kundennummer 1000 0001", "10000001", None, None),
    ],
)
def test_identity_values_in_any_order(text, number, postcode, birth):
    found = parse_identity(text, TODAY)
    assert (found.customer_number, found.postcode, found.birth_date) == (number, postcode, birth)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("85", "85.00"),
        ("85,50 €", "85.50"),
        ("85.50 EUR", "85.50"),
        ("85 euro", "85.00"),
        ("70 avro", "70.00"),
        ("1.043,27", "1043.27"),
        ("auf 70 Euro senken", "70.00"),
        ("ab 01.12.2026 auf 75", "75.00"),
    ],
)
def test_amounts_in_german_and_turkish_notation(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["10000001", "47051", "12.03.1975", "", "🙂"])
def test_identifiers_and_dates_are_not_amounts(text):
    assert parse_amount(text) is None


def test_iban_checksum():
    assert parse_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert parse_iban("DE88 3704 0044 0532 0130 00") is None


def test_iban_followed_by_words_or_spoken_letter_by_letter():
    assert parse_iban("DE89 3704 0044 0532 0130 00 bitte") == "DE89370400440532013000"
    assert parse_iban("D E 89 3704 0044 0532 0130 00") == "DE89370400440532013000"


@pytest.mark.parametrize(
    ("text", "commodity"),
    [
        ("Strom faturası", "electricity"),
        ("doğalgaz", "gas"),
        ("su faturam", "water"),
        ("şu faturayı", None),
        ("Fernwärme", "district_heating"),
    ],
)
def test_commodity_words(text, commodity):
    assert parse_commodity(text) == commodity


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("Abschlag um 20 Euro erhöhen", Decimal("20.00")),
        ("um 15,50 € senken bitte", Decimal("-15.50")),
        ("meinen Abschlag um 20 euro zu senken", Decimal("-20.00")),
        ("erhöhen Sie um 10 euro", Decimal("10.00")),
        ("10 euro weniger", Decimal("-10.00")),
        ("20 avro artırmak istiyorum", Decimal("20.00")),
        ("aylık ödememi 20 avro azaltın", Decimal("-20.00")),
    ],
)
def test_relative_changes_are_signed(text, change):
    assert parse_amount_change(text) == change


@pytest.mark.parametrize(
    "text",
    ["Abschlag auf 90 Euro erhöhen", "70 avroya yükseltmek istiyorum", "80 Euro", "ja"],
)
def test_new_amounts_are_not_changes(text):
    assert parse_amount_change(text) is None


@pytest.mark.parametrize(
    "text", ["ja", "Ja, 120 Euro", "jaaa", "genau so", "passt", "evet", "tamam", "doğru"]
)
def test_plain_yes(text):
    assert is_explicit_yes(text)


@pytest.mark.parametrize("text", ["hä?", "hmm", "wie bitte", "öhm", "efendim?", "nein"])
def test_hesitation_is_not_yes(text):
    assert not is_explicit_yes(text)
