"""Turning the bot's chat replies into something a voice can say.

The phone channel speaks the same responses as the chat. Chat text carries
things a text-to-speech voice reads badly or should not read at all: emoji,
markdown, links, `1.043,27 €`, `05.02.2025`, `kWh`, eight-digit customer
numbers. `speakable()` turns one reply into a list of `Part`s: plain text,
digits to be read one by one, and short pauses, which the TwiML builder
renders as `<Say>` content with SSML `<say-as>` and `<break>`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from babel.dates import format_date

from bot.domain.languages import locale_for

_DATE_FORMATS = {"de": "d. MMMM y", "tr": "d MMMM y"}
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_MARKDOWN = re.compile(r"[*_`#>|~\[\]]")
_QUOTES = re.compile(r"[„“”‚‘’«»\"]")
# German money 1.043,27 € / Turkish €1.043,27 (Babel's CLDR patterns).
_MONEY_DE = re.compile(r"(\d{1,3}(?:\.\d{3})*|\d+),(\d{2})\s?€")
_MONEY_TR = re.compile(r"€\s?(\d{1,3}(?:\.\d{3})*|\d+),(\d{2})")
_DATE = re.compile(r"\b(\d{2})\.(\d{2})\.(\d{4})\b")
# Case and customer numbers: six or more capitals and digits, at least one a
# digit wherever it stands ("H-BABC2B00" as well as "H-EB094008").
_IDENTIFIER = re.compile(r"\b(?:[A-Z]{1,3}-)?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{5,}\b")
# A telephone number ("0800 7788 112", "+49 203 604-1111") is read digit by digit too;
# not the minutes of a time span ("9:00-18:00").
_PHONE_NUMBER = re.compile(r"(?<![\w.,:])(?:\+\d{2} ?|0)\d{1,5}(?:[ /-]\d{2,8}){1,3}(?![\w.,]\d)")
# "Zähler …0436": the last digits of a meter number, as a button title shows them.
_TRAILING_DIGITS = re.compile(r"…\s?(\d+)")
_TRAILING_WORDS = {"de": "mit der Endnummer", "tr": "son haneleri"}
_THOUSANDS = re.compile(r"\b(\d{1,3}(?:\.\d{3})+)\b(?!,\d)")
_UNITS = {
    "de": {
        # a price "je kWh" is per one kilowatt hour
        "je kWh": "je Kilowattstunde",
        "je m3": "je Kubikmeter",
        "kWh": "Kilowattstunden",
        "m³": "Kubikmeter",
        "m3": "Kubikmeter",
        "Nr.": "Nummer",
        "ca.": "circa",
    },
    "tr": {
        "kWh": "kilovatsaat",
        "m³": "metreküp",
        "m3": "metreküp",
        "No.": "numara",
        "Nr.": "numara",
    },
}
_LINK_WORDS = {"de": "auf unserer Website", "tr": "web sitemizde"}
_MONEY_WORDS = {
    "de": ("Euro", "Cent", "und"),
    "tr": ("avro", "sent", ""),
}


@dataclass(frozen=True)
class Part:
    """One piece of speech: `text`, `digits` (read one by one) or `pause`."""

    kind: str
    value: str = ""


def _money(match: re.Match[str], language: str) -> str:
    euros = match.group(1).replace(".", "")
    cents = int(match.group(2))
    euro, cent, joiner = _MONEY_WORDS[language]
    if cents == 0:
        return f"{euros} {euro}"
    return " ".join(w for w in (euros, euro, joiner, str(cents), cent) if w)


def _date(match: re.Match[str], language: str) -> str:
    try:
        day = dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return match.group(0)
    return format_date(day, _DATE_FORMATS[language], locale=locale_for(language))


# "18:30 Uhr" is said "18 Uhr 30", "saat 18:30" "saat 18 30" ("6:00 Uhr": "6 Uhr").
_CLOCK = {
    "de": re.compile(r"\b(?P<hour>\d{1,2}):(?P<minute>\d{2}) (?P<word>Uhr)"),
    "tr": re.compile(r"(?P<word>saat) (?P<hour>\d{1,2}):(?P<minute>\d{2})\b"),
}


def _clock_words(match: re.Match[str]) -> str:
    hour, minute = int(match["hour"]), int(match["minute"])
    if match["word"] == "Uhr":
        return f"{hour} Uhr" + (f" {minute}" if minute else "")
    return f"saat {hour}" + (f" {minute}" if minute else "")


def _is_emoji_or_symbol(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk", "Cs", "Co") or char in "\u200d\ufe0f"


def clean_for_speech(text: str, language: str) -> str:
    """Text without what a voice should not read, with money and dates spelled out."""
    text = _URL.sub(_LINK_WORDS[language], text)
    text = _EMAIL.sub(_LINK_WORDS[language], text)
    text = "".join(ch for ch in text if not _is_emoji_or_symbol(ch) or ch == "€")
    text = _MARKDOWN.sub(" ", text)
    text = _QUOTES.sub("", text)
    # Both notations, whatever the language (a reply may mix them).
    text = _MONEY_TR.sub(lambda m: _money(m, language), text)
    text = _MONEY_DE.sub(lambda m: _money(m, language), text)
    text = text.replace("€", " Euro " if language == "de" else " avro ")
    text = _DATE.sub(lambda m: _date(m, language), text)
    text = _CLOCK[language].sub(_clock_words, text)
    text = _TRAILING_DIGITS.sub(lambda m: f"{_TRAILING_WORDS[language]} {m.group(1)}", text)
    text = re.sub(r"\s*…", ",", text)
    text = _THOUSANDS.sub(lambda m: m.group(1).replace(".", ""), text)
    for written, spoken in _UNITS[language].items():
        text = re.sub(rf"(?<!\w){re.escape(written)}(?!\w)", spoken, text)
    return re.sub(r"\s+", " ", text).strip()


def speakable(text: str, language: str) -> list[Part]:
    """One chat reply as speech parts: identifiers digit by digit, pauses between."""
    cleaned = clean_for_speech(text, language)
    parts: list[Part] = []
    position = 0
    found = sorted(
        [*_IDENTIFIER.finditer(cleaned), *_PHONE_NUMBER.finditer(cleaned)], key=lambda m: m.start()
    )
    for match in found:
        if match.start() < position:
            continue  # inside one already read
        if match.start() > position:
            parts.append(Part("text", cleaned[position : match.start()]))
        characters = re.sub(r"[-/ ]", "", match.group(0))
        parts.append(Part("digits", characters))
        position = match.end()
    if position < len(cleaned):
        parts.append(Part("text", cleaned[position:]))
    return [p for p in parts if p.kind != "text" or p.value.strip()]


def choice_prompt(titles: list[str], language: str) -> str:
    """Buttons as a spoken menu: say the option or press its number."""
    if language == "tr":
        options = "; ".join(f"{title} için {i}" for i, title in enumerate(titles, 1))
        return f"Seçenekler: {options}. Tuşlayabilir ya da söyleyebilirsiniz."
    options = "; ".join(f"die {i} für {title}" for i, title in enumerate(titles, 1))
    return f"Drücken Sie {options}. Oder sagen Sie es einfach."
