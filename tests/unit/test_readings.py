"""Meter readings out of what customers type, say or key in (bot/domain/readings.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.readings import (
    IDENTIFIER,
    LETTERS,
    NO_NUMBER,
    SEVERAL,
    ReadingAnswer,
    meter_named,
    parse_reading,
)

TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("45210", "45210", None),
        ("45.210", "45210", None),
        ("45 210", "45210", None),
        ("45210 kWh", "45210", "kWh"),
        ("45210kwh", "45210", "kWh"),
        ("45.210,5", "45210.5", None),
        ("8120,5 m³", "8120.5", "m3"),
        ("8120,5m3", "8120.5", "m3"),
        ("8120.5", "8120.5", None),  # a dot before one digit is a decimal point
        ("9.095", "9095", None),  # a dot before three digits groups thousands
        ("9095.200", "9095.2", None),  # ... but not after four digits
        ("012345", "12345", None),
        ("ungefähr 47.350 Kilowattstunden", "47350", "kWh"),
        ("Zählerstand Gas 8123", "8123", None),
        ("hab abgelesen, 47 350", "47350", None),
        ("elektrik sayacı 45210", "45210", None),
        ("47.350'dir", "47350", None),
        ("Stand 47350, ich bin mir sicher", "47350", None),
        ("45210 kWh, Zähler 2", "45210", "kWh"),  # the number with a unit is the reading
    ],
)
def test_readings_in_digits(text, value, unit):
    found = parse_reading(text, "de", TODAY)
    assert (found.value, found.unit, found.problem) == (Decimal(value), unit, None)


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("fünfundvierzigtausendzweihundertzehn", "de", "45210"),
        ("fuenfundvierzigtausendzweihundertzehn", "de", "45210"),
        ("FÜNFUNDVIERZIGTAUSEND ZWEIHUNDERTZEHN", "de", "45210"),
        ("sieben und vierzig tausend drei hundert fünfzig", "de", "47350"),
        ("dreißigtausend fünfhundertvierundvierzig", "de", "30544"),
        ("achttausendeinhundertzwanzig komma fünf", "de", "8120.5"),
        ("vier fünf zwei eins null", "de", "45210"),
        ("4 5 2 1 0", "de", "45210"),
        ("fünfundvierzig zweihundertzehn", "de", "45210"),  # said in two groups
        ("kırk beş bin iki yüz on", "tr", "45210"),
        ("kirk bes bin iki yuz on", "tr", "45210"),
        ("KIRK BEŞ BİN İKİ YÜZ ON", "tr", "45210"),
        ("dört beş iki bir sıfır", "tr", "45210"),
        ("dort bes iki bir sifir", "tr", "45210"),
        ("otuz bin beş yüz kırk dört", "tr", "30544"),
        ("sekiz bin yüz yirmi virgül beş", "tr", "8120.5"),
        ("45 bin 210", "tr", "45210"),
        # the other language's words count when the message has nothing else
        ("kırk beş bin iki yüz on", "de", "45210"),
    ],
)
def test_readings_said_in_words(text, language, value):
    assert parse_reading(text, language, TODAY) == ReadingAnswer(value=Decimal(value))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ich bin nicht sicher", "de"),  # Turkish "bin" (thousand) in a German sentence
        ("bir dakika lütfen", "tr"),  # "bir" (one) alone is a word
        ("ein Moment bitte", "de"),
        ("tausend Dank", "de"),
        ("Zählerstand'ı göndermek istiyorum", "tr"),
        ("saatin rakamlarını vereyim", "tr"),
        ("weiß ich nicht", "de"),
        ("", "de"),
    ],
)
def test_words_that_are_no_reading(text, language):
    assert parse_reading(text, language, TODAY).problem == NO_NUMBER


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Zähler 1ESY1160300381 Stand 47350", "47350"),
        ("Zählernummer …0436, Stand 35100", "35100"),
        ("Zähler-Nr. 0436: 35100", "35100"),
        ("sayaç numarası 0436 olan 35100", "35100"),
        ("Kundennummer 10000025 Zählerstand 47350", "47350"),
        ("müşteri numaram 10000001, sayaç 12345", "12345"),
        ("Vertrag 30000038 Stand 47350", "47350"),
        ("um 14:30 Uhr abgelesen: 47350", "47350"),
        ("47350 am 01.12.2026", "47350"),
        ("12.03.2026 47350", "47350"),
    ],
)
def test_identifiers_dates_and_times_are_not_the_reading(text, value):
    assert parse_reading(text, "de", TODAY).value == Decimal(value)


def test_digits_the_customer_chose_the_meter_with_are_ignored():
    assert parse_reading("0436 35100", "de", TODAY, ignore=["0436"]).value == Decimal(35100)
    assert parse_reading("0436", "de", TODAY, ignore=["0436"]).problem == NO_NUMBER


@pytest.mark.parametrize(
    ("text", "read_on"),
    [
        ("47350 am 01.12.2026", dt.date(2026, 12, 1)),
        ("am 30.11. abgelesen: 47350", dt.date(2026, 11, 30)),
        ("am 24.12. abgelesen: 47350", dt.date(2025, 12, 24)),  # this year's is to come
        ("heute 47350", TODAY),
        ("gestern abgelesen 47350", dt.date(2026, 12, 4)),
        ("dün okudum 47350", dt.date(2026, 12, 4)),
        ("47350 am 24.12.2026", dt.date(2026, 12, 24)),  # the future: the service refuses it
        ("47350", None),
    ],
)
def test_the_day_of_the_reading(text, read_on):
    found = parse_reading(text, "de", TODAY)
    assert (found.value, found.read_on) == (Decimal(47350), read_on)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-45210", "-45210"),
        ("minus 45210", "-45210"),
        ("eksi 45210", "-45210"),
        ("123456789012345", "123456789012345"),  # fifteen digits: the service refuses them
    ],
)
def test_impossible_values_are_read_as_said(text, value):
    assert parse_reading(text, "de", TODAY).value == Decimal(value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("4521O", LETTERS),  # a letter O for a zero
        ("45a10", LETTERS),
        ("1ESY1160300381", IDENTIFIER),  # the meter number, not its reading
        ("Strom 45210 Gas 8123", SEVERAL),
        ("45210-47350", SEVERAL),
        ("keine Ahnung", NO_NUMBER),
    ],
)
def test_why_no_reading_was_taken(text, problem):
    found = parse_reading(text, "de", TODAY)
    assert (found.value, found.problem) == (None, problem)


# --- which meter ------------------------------------------------------------------------

HATICE = ["1ESY1160300425", "1ESY1160300436"]


@pytest.mark.parametrize(
    ("text", "meter", "said"),
    [
        ("0436", "1ESY1160300436", "0436"),
        ("der mit 436 am Ende", "1ESY1160300436", "436"),
        ("…0425 bitte", "1ESY1160300425", "0425"),
        ("Zähler 1ESY1160300425", "1ESY1160300425", "1ESY1160300425"),
        ("1esy 1160 3004 25", "1ESY1160300425", "1ESY1160300425"),
        ("0436, Stand 35100", "1ESY1160300436", "0436"),
    ],
)
def test_a_meter_named_by_its_number_or_last_digits(text, meter, said):
    assert meter_named(text, HATICE) == (meter, said)


@pytest.mark.parametrize("text", ["35100", "16030", "1ESY116030", "der zweite", "03.12.1986"])
def test_no_single_meter_named(text):
    assert meter_named(text, HATICE) is None
