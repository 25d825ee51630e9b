"""Chat replies turned into speech for the phone channel."""

import pytest

from bot.domain.hotline import HotlineHours, spoken_hours
from connectors.voice.speech import Part, choice_prompt, clean_for_speech, speakable


@pytest.mark.parametrize(
    ("text", "language", "spoken"),
    [
        ("Nachzahlung von 1.043,27\xa0€.", "de", "Nachzahlung von 1043 Euro und 27 Cent."),
        ("Abschlag 85,00 €", "de", "Abschlag 85 Euro"),
        ("ek ödeme €1.043,27", "tr", "ek ödeme 1043 avro 27 sent"),
        ("fällig am 05.02.2025", "de", "fällig am 5. Februar 2025"),
        ("son ödeme tarihi 05.02.2025", "tr", "son ödeme tarihi 5 Şubat 2025"),
        ("Verbrauch 3.120 kWh", "de", "Verbrauch 3120 Kilowattstunden"),
        ("tüketim 3.120 kWh", "tr", "tüketim 3120 kilovatsaat"),
        ("38,33 Cent je kWh bezahlt", "de", "38,33 Cent je Kilowattstunde bezahlt"),
        (
            "Wasser: 107 m3, 4,22 € je m3",
            "de",
            "Wasser: 107 Kubikmeter, 4 Euro und 22 Cent je Kubikmeter",
        ),
        ("m3 başına €4,22", "tr", "metreküp başına 4 avro 22 sent"),
        ("Strom, Zähler …0436", "de", "Strom, Zähler mit der Endnummer 0436"),
        ("Strom Basis, sayaç …0436", "tr", "Strom Basis, sayaç son haneleri 0436"),
        ("Einen Moment … bitte", "de", "Einen Moment, bitte"),
    ],
)
def test_money_dates_and_units_are_spoken_naturally(text, language, spoken):
    assert clean_for_speech(text, language) == spoken


def test_nothing_unspeakable_is_left():
    text = "**Gern!** 😀👍 Mehr unter https://www.stadtwerk.de/portal oder _hier_ #tipp"
    spoken = clean_for_speech(text, "de")
    assert spoken == "Gern! Mehr unter auf unserer Website oder hier tipp"
    assert not any(ch in spoken for ch in "*_#😀👍/")


def test_identifiers_are_read_digit_by_digit():
    parts = speakable("Ihre Vorgangsnummer ist H-EB094008, Vertrag 30000002.", "de")
    assert parts == [
        Part("text", "Ihre Vorgangsnummer ist "),
        Part("digits", "HEB094008"),
        Part("text", ", Vertrag "),
        Part("digits", "30000002"),
        Part("text", "."),
    ]


def test_buttons_become_a_spoken_menu():
    assert choice_prompt(["Strom", "Gas"], "de") == (
        "Drücken Sie die 1 für Strom; die 2 für Gas. Oder sagen Sie es einfach."
    )
    assert choice_prompt(["elektrik", "doğalgaz"], "tr").startswith(
        "Seçenekler: elektrik için 1; doğalgaz için 2."
    )


@pytest.mark.parametrize(
    ("hours", "german", "turkish"),
    [
        (
            "Mo-Sa 08:00-20:00",
            "Montag bis Samstag von 8 bis 20 Uhr",
            "Pazartesiden Cumartesiye saat 8 ile 20 arası",
        ),
        (
            "Di-Fr 08:30-16:00",
            "Dienstag bis Freitag von 8:30 bis 16 Uhr",
            "Salıdan Cumaya saat 8:30 ile 16 arası",
        ),
        (
            "Mi-So 10:00-24:00",
            "Mittwoch bis Sonntag von 10 bis 24 Uhr",
            "Çarşambadan Pazara saat 10 ile 24 arası",
        ),
        ("Sa-Sa 09:00-12:00", "Samstag von 9 bis 12 Uhr", "Cumartesi saat 9 ile 12 arası"),
        ("Mo-So 00:00-24:00", "täglich rund um die Uhr", "her gün 24 saat"),
    ],
)
def test_hotline_hours_are_said_as_people_say_them(hours: str, german: str, turkish: str) -> None:
    parsed = HotlineHours.parse(hours)
    assert spoken_hours(parsed, "de") == german
    assert spoken_hours(parsed, "tr") == turkish


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("Vorgangsnummer H-BABC2B00.", "HBABC2B00"),  # the first digit late in the number
        ("Vorgangsnummer H-2BABCB00.", "H2BABCB00"),
        ("Referans numaranız: UM-2026-000123", "UM2026000123"),
    ],
)
def test_case_numbers_are_read_character_by_character_wherever_their_digits_are(text, digits):
    assert Part("digits", digits) in speakable(text, "de")


def test_words_in_capitals_without_digits_stay_words():
    assert [p.kind for p in speakable("Ihr SEPA-LASTSCHRIFTMANDAT ist AKTIV", "de")] == ["text"]


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("Notdienst: 0800 7788 112.", "08007788112"),
        ("oder +49 203 604-1111", "+492036041111"),
        ("Fax 0203/6041111", "02036041111"),
    ],
)
def test_telephone_numbers_are_read_digit_by_digit(text, digits):
    parts = speakable(text, "de")
    assert Part("digits", digits) in parts
    # money, dates and plain numbers stay words
    assert speakable("am 12.03.2026 sind 112 Euro fällig", "de")[0].kind == "text"


def test_opening_times_are_not_read_as_telephone_numbers():
    parts = speakable("pazartesiden cumaya 9:00-18:00, cumartesi 9:00-13:00 arası açık", "tr")
    assert [p.kind for p in parts] == ["text"]
