"""Meter readings out of what customers type, say or key in.

A reading comes as digits in German or Turkish notation ("45.210", "45 210",
"45210 kWh", "45.210,5", "8120,5 m³"), spoken in words ("fünfundvierzigtausend-
zweihundertzehn", "kırk beş bin iki yüz on", also without umlauts and Turkish
letters), or digit by digit ("vier fünf zwei eins null", "4 5 2 1 0",
"dört beş iki bir sıfır"). The phone's keypad delivers plain digits
(connectors/voice/call_flow.py), the star key as the decimal comma.

Nothing else in the message is taken for the reading: dates (one is kept as the
day the meter was read), times, meter numbers and other identifiers
("1ESY1160300381"), and numbers after a word that names them
("Kundennummer 10000025", "Zählernummer …0436"). When no single reading is
left, `ReadingAnswer.problem` says why, so the customer gets a precise answer.
Whether the value is possible and plausible is the service's business
(bot/domain/services/meter_readings.py); a negative or fifteen-digit value is
returned as read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.domain.parsing import date_spans
from bot.domain.text import fold

#: Why no reading was taken from a message (`ReadingAnswer.problem`).
NO_NUMBER = "no_number"  # nothing that looks like a reading
SEVERAL = "several"  # more than one number, none marked as the reading
LETTERS = "letters"  # digits mixed with letters ("4521O", "45a10")
IDENTIFIER = "identifier"  # only a meter number or another identifier


@dataclass(frozen=True)
class ReadingAnswer:
    """What a message says about a reading; `value` is None when `problem` says why."""

    value: Decimal | None = None
    #: the day the customer says the meter was read (None: not said)
    read_on: dt.date | None = None
    #: `kWh` or `m3` when the customer named a unit
    unit: str | None = None
    problem: str | None = None


# --- words that are no part of the reading --------------------------------------------

_UNIT = (
    r"(?P<unit>kwh|kw\s?h|kilowatt\s?stunden?|kilowattstd|kilovat\s?saat|kw"
    r"|m3|m³|m\^3|cbm|kubik\s?met(?:er|re)s?|kubik|qm|metre\s?kup|metrekup)(?![a-z])"
)
_UNIT_AFTER = re.compile(r"\s*(?:'\w*)?\s*" + _UNIT)
_UNITS = {"k": "kWh", "m": "m3", "c": "m3", "q": "m3"}
# Numbers named by the word before them: customer, contract and meter numbers, postcodes.
_NAMED_NUMBER = re.compile(
    r"(?<![a-z])(?:kunden\s?-?\s?(?:nummer|nr)|kd\.?\s?-?\s?nr|vertrags?\s?-?\s?(?:nummer|nr)|vertrag"
    r"|zahler\s?-?\s?(?:nummer|nr)|zahlernr|nummer|nr|plz|postleitzahl|iban"
    r"|musteri\s+(?:numara|no)\w*|sozlesme\w*|sayac\w*\s+(?:numara|no)\w*|numara\w*|no"
    r"|posta\s+kod\w*)"
    r"\.?\s*[:#]?\s*(?:ist\s+|lautet\s+)?(?:…|\.\.\.)?\s*"
    r"(?P<number>\d{4}\s\d{4}(?![\d.,])|\d+(?:[./-]\d+)*)"
)
_TIME = re.compile(r"(?<![\d.,])\d{1,2}[:.]\d{2}\s*(?:uhr|h)(?![a-z])|(?<![\d.,])\d{1,2}:\d{2}")
# A day and month without a year ("am 30.11. abgelesen"): this year, or last year's
# if that day is still to come.
_DAY_MONTH = re.compile(r"(?<![\d.,])(\d{1,2})\.(\d{1,2})\.(?![\d])")
_RELATIVE_DAYS = {"heute": 0, "bugun": 0, "gestern": 1, "dun": 1, "vorgestern": 2}
# A word of letters and digits: a meter number, an IBAN, or a mistyped reading.
_MIXED = re.compile(r"(?<![\w])(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]+")

# --- numbers written in digits --------------------------------------------------------

_SPELLED_DIGITS = r"\d(?:[ ]\d){2,}"  # "4 5 2 1 0": digit by digit
_GROUPED = r"\d{1,3}(?:[ .]\d{3})+(?:,\d{1,3})?"  # "45.210", "45 210", "45.210,5"
_PLAIN = r"\d+(?:[.,]\d+)?"
_NUMBER = re.compile(
    rf"(?P<sign>(?<![\w.,])-\s?|\bminus\s+|\beksi\s+)?"
    rf"(?<![\w.,])(?P<number>{_SPELLED_DIGITS}|{_GROUPED}|{_PLAIN})(?![\d]|[.,]\d)"
)


def _decimal(raw: str) -> Decimal | None:
    """A number in German or Turkish notation: dot for thousands, comma for decimals.

    A dot followed by three digits after one to three digits groups thousands
    ("45.210"); any other dot is a decimal point ("8120.5", "9095.200").
    """
    raw = raw.strip()
    if re.fullmatch(r"\d(?: \d)+", raw) or re.fullmatch(r"\d{1,3}(?: \d{3})+(?:,\d+)?", raw):
        raw = raw.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", raw):
        raw = raw.replace(".", "")
    elif "," in raw and "." in raw:  # "45,210.5": the last separator is the decimal one
        thousands = "," if raw.rfind(".") > raw.rfind(",") else "."
        raw = raw.replace(thousands, "")
    raw = raw.replace(",", ".")
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


# --- numbers said in words ------------------------------------------------------------

# (kind, value) per word part; kinds: digit, teen, ten, hundred, thousand, million,
# and (German "fünfundvierzig"), comma (the decimal point).
_GERMAN_WORDS = {
    "null": ("digit", 0),
    "ein": ("digit", 1),
    "eins": ("digit", 1),
    "zwei": ("digit", 2),
    "zwo": ("digit", 2),
    "drei": ("digit", 3),
    "vier": ("digit", 4),
    "funf": ("digit", 5),
    "sechs": ("digit", 6),
    "sieben": ("digit", 7),
    "acht": ("digit", 8),
    "neun": ("digit", 9),
    "zehn": ("teen", 10),
    "elf": ("teen", 11),
    "zwolf": ("teen", 12),
    "dreizehn": ("teen", 13),
    "vierzehn": ("teen", 14),
    "funfzehn": ("teen", 15),
    "sechzehn": ("teen", 16),
    "siebzehn": ("teen", 17),
    "achtzehn": ("teen", 18),
    "neunzehn": ("teen", 19),
    "zwanzig": ("ten", 20),
    "dreissig": ("ten", 30),
    "dreisig": ("ten", 30),
    "vierzig": ("ten", 40),
    "funfzig": ("ten", 50),
    "sechzig": ("ten", 60),
    "siebzig": ("ten", 70),
    "achtzig": ("ten", 80),
    "neunzig": ("ten", 90),
    "und": ("and", 0),
    "hundert": ("hundred", 100),
    "tausend": ("thousand", 1000),
    "million": ("million", 10**6),
    "millionen": ("million", 10**6),
    "komma": ("comma", 0),
}
_TURKISH_WORDS = {
    "sifir": ("digit", 0),
    "bir": ("digit", 1),
    "iki": ("digit", 2),
    "uc": ("digit", 3),
    "dort": ("digit", 4),
    "bes": ("digit", 5),
    "alti": ("digit", 6),
    "yedi": ("digit", 7),
    "sekiz": ("digit", 8),
    "dokuz": ("digit", 9),
    # Turkish joins tens and units by juxtaposition: "kırk beş", "on beş"
    "on": ("ten", 10),
    "yirmi": ("ten", 20),
    "otuz": ("ten", 30),
    "kirk": ("ten", 40),
    "elli": ("ten", 50),
    "altmis": ("ten", 60),
    "yetmis": ("ten", 70),
    "seksen": ("ten", 80),
    "doksan": ("ten", 90),
    "yuz": ("hundred", 100),
    "bin": ("thousand", 1000),
    "milyon": ("million", 10**6),
    "virgul": ("comma", 0),
}
_WORDS = {"de": _GERMAN_WORDS, "tr": _TURKISH_WORDS}
# words, and digit groups said along with them ("45 bin 210", "45 tausend 210")
_WORD = re.compile(r"[a-z]+|(?<![\d.,])\d{1,3}(?!\d|[.,]\d)")


def _word_parts(word: str, vocabulary: dict[str, tuple[str, int]]) -> list[str] | None:
    """A word split into number words ("funfundvierzigtausend" → funf, und, vierzig,
    tausend), or None when it is not made of them only."""
    if not word:
        return []
    word = fold(word)  # "fuenf" is "funf"
    for length in range(len(word), 0, -1):
        head = word[:length]
        if head in vocabulary:
            rest = _word_parts(word[length:], vocabulary)
            if rest is not None:
                return [head, *rest]
    return None


@dataclass
class _Chunk:
    """One number being read: what is complete (thousands, millions) and the group below."""

    done: int = 0
    group: int = 0
    last: str | None = None  # the kind of the last part; None at the start of a group
    waits_for_ten: bool = False  # after German "und"

    @property
    def value(self) -> int:
        return self.done + self.group

    def take(self, kind: str, value: int, turkish: bool) -> bool:
        """Add a part if it continues this number; False when it starts a new one."""
        fresh = self.last is None
        if kind == "number":  # digits said among the words: a whole group
            if not fresh:
                return False
            self.group = value
        elif kind == "and":
            if self.last != "digit":
                return False
            self.waits_for_ten = True
            return True
        elif self.waits_for_ten:
            if kind != "ten":
                return False
            self.waits_for_ten = False
            self.group += value
        elif kind == "digit":
            if not (fresh or self.last == "hundred" or (turkish and self.last == "ten")):
                return False
            self.group += value
        elif kind in ("teen", "ten"):
            if not (fresh or self.last == "hundred"):
                return False
            self.group += value
        elif kind == "hundred":
            if self.group >= 100 or (not fresh and self.last == "hundred"):
                return False
            self.group = (self.group or 1) * 100
        elif kind in ("thousand", "million"):
            if self.done % (value * 1000) >= value or self.done and self.done < value:
                return False
            self.done += (self.group or 1) * value
            self.group = 0
            self.last = None
            return True
        self.last = kind
        return True


def _spoken_value(parts: list[tuple[str, int]], turkish: bool) -> Decimal | None:
    """The number said in `parts`: one number, or several said one after another
    ("vier fünf zwei eins null", "fünfundvierzig zweihundertzehn"), written together."""
    whole: list[_Chunk] = []
    decimals = ""
    in_decimals = False
    for kind, value in parts:
        if kind == "comma":
            if in_decimals or not whole:
                return None
            in_decimals = True
            continue
        if in_decimals:
            if kind not in ("digit", "teen", "ten"):
                return None
            decimals += str(value)
            continue
        if not whole or not whole[-1].take(kind, value, turkish):
            chunk = _Chunk()
            if not chunk.take(kind, value, turkish):
                return None
            whole.append(chunk)
    if not whole or whole[-1].waits_for_ten or (in_decimals and not decimals):
        return None
    digits = "".join(str(chunk.value) for chunk in whole)
    return Decimal(f"{digits}.{decimals}" if decimals else digits)


def _spoken_numbers(folded: str, language: str) -> list[tuple[Decimal, tuple[int, int]]]:
    """Numbers said in words in `folded`, with their spans: runs of two parts or more
    with at least one word ("ein", "bir", "on" alone are words, not readings)."""
    vocabulary = _WORDS[language]
    found: list[tuple[Decimal, tuple[int, int]]] = []
    run: list[tuple[str, int]] = []
    start = end = 0

    def close() -> None:
        if len(run) >= 2 and any(kind != "number" for kind, _ in run):
            value = _spoken_value(run, turkish=language == "tr")
            if value is not None:
                found.append((value, (start, end)))
        run.clear()

    for match in _WORD.finditer(folded):
        token = match.group(0)
        between = folded[end : match.start()]
        if token.isdigit():
            parts: list[tuple[str, int]] | None = [("number", int(token))]
        else:
            names = _word_parts(token, vocabulary)
            parts = None if names is None else [vocabulary[name] for name in names]
        if parts is None or (run and not re.fullmatch(r"[\s-]*", between)):
            close()
        if parts is None:
            continue
        if not run:
            start = match.start()
        run.extend(parts)
        end = match.end()
    close()
    return found


# --- the message as a whole -----------------------------------------------------------


def _same_length_fold(text: str) -> str:
    """`fold` one character at a time, so that spans stay where they are (ß as s)."""
    return "".join(
        folded if len(folded := fold(char)) == 1 else "s" if char == "ß" else char for char in text
    )


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _read_on(folded: str, today: dt.date) -> tuple[dt.date | None, list[tuple[int, int]]]:
    """The day named in the message (a date, "30.11.", "heute", "gestern") and the
    spans of all dates, which are no readings."""
    dates = date_spans(folded, today)
    spans = [span for _, span in dates]
    named = dates[0][0] if dates else None
    for match in _DAY_MONTH.finditer(_blank(folded, spans)):
        day = _day_of_month(int(match[1]), int(match[2]), today)
        if day is None:
            continue
        named = named or day
        spans.append(match.span())
    for word, days_ago in _RELATIVE_DAYS.items():
        if named is None and re.search(rf"\b{word}\b", folded):
            named = today - dt.timedelta(days=days_ago)
    return named, spans


def _day_of_month(day: int, month: int, today: dt.date) -> dt.date | None:
    """The last such day up to today ("30.11." said in December is this year's)."""
    for year in (today.year, today.year - 1):
        try:
            date = dt.date(year, month, day)
        except ValueError:
            continue
        if date <= today:
            return date
    return None


def _unit_after(folded: str, end: int) -> str | None:
    match = _UNIT_AFTER.match(folded, end)
    return _UNITS[match.group("unit")[0]] if match else None


def parse_reading(
    text: str,
    language: str | None = None,
    today: dt.date | None = None,
    ignore: Iterable[str] = (),
) -> ReadingAnswer:
    """The reading in a customer's message, with the day and unit named along.

    `language` is the conversation's (its number words are tried first);
    `ignore` are digit strings that are no reading (a meter number's last
    digits the customer chose the meter with, identity values).
    """
    today = today or dt.date.today()
    folded = _same_length_fold(text).lower()
    read_on, date_spans = _read_on(folded, today)
    rest = _blank(folded, date_spans)
    rest = _blank(rest, [m.span() for m in _TIME.finditer(rest)])
    rest = _blank(rest, [m.span("number") for m in _NAMED_NUMBER.finditer(rest)])
    ignored = {re.sub(r"\D", "", raw) for raw in ignore if raw}

    mixed = []
    for match in _MIXED.finditer(rest):
        # "m3", "45210kwh", "8120,5m3": a unit, also written onto the number, is no mistake
        if re.fullmatch(r"(?:-?[\d.,]+)?" + _UNIT, match.group(0)):
            continue
        mixed.append(match)
    identifiers = [m for m in mixed if len(re.sub(r"\W", "", m.group(0))) >= 8]
    typos = [m for m in mixed if m not in identifiers]
    rest = _blank(rest, [m.span() for m in mixed])

    candidates: list[tuple[Decimal, str | None]] = []
    if language in _WORDS:  # "45 bin 210" before its digits are read on their own
        spoken = _spoken_numbers(rest, language)
        candidates += [(value, _unit_after(rest, end)) for value, (_, end) in spoken]
        rest = _blank(rest, [span for _, span in spoken])
    for match in _NUMBER.finditer(rest):
        raw = match.group("number")
        if re.sub(r"\D", "", raw) in ignored:
            continue
        value = _decimal(raw)
        if value is None:
            continue
        if match.group("sign"):
            value = -value
        candidates.append((value, _unit_after(rest, match.end())))
    if not candidates:  # number words of the other language, when nothing else is there
        for spoken_in in (other for other in _WORDS if other != language):
            spoken = _spoken_numbers(rest, spoken_in)
            if spoken:
                candidates = [(value, _unit_after(rest, end)) for value, (_, end) in spoken]
                break

    distinct = {value for value, _ in candidates}
    if len(distinct) > 1:
        with_unit = {value for value, unit in candidates if unit}
        distinct = with_unit if len(with_unit) == 1 else distinct
    if len(distinct) == 1:
        value = distinct.pop()
        unit = next((u for v, u in candidates if v == value and u), None)
        return ReadingAnswer(value=value, read_on=read_on, unit=unit)
    if distinct:
        return ReadingAnswer(read_on=read_on, problem=SEVERAL)
    if typos:
        return ReadingAnswer(read_on=read_on, problem=LETTERS)
    if identifiers:
        return ReadingAnswer(read_on=read_on, problem=IDENTIFIER)
    return ReadingAnswer(read_on=read_on, problem=NO_NUMBER)


# --- which meter ------------------------------------------------------------------------


def meter_named(text: str, meter_numbers: Iterable[str]) -> tuple[str, str] | None:
    """The meter a customer names by its number, whole or by its last digits (three
    or more): the meter number and the digits that named it; None if no single one."""
    numbers = [n for n in meter_numbers if n]
    text = _blank(text, [span for _, span in date_spans(text)])
    compact = re.sub(r"[\s-]", "", fold(text))
    whole = [n for n in numbers if fold(n) in compact]
    if len(whole) == 1:
        return whole[0], whole[0]
    for match in re.finditer(r"(?<![\d.,])\d{3,}(?![\d]|[.,]\d)", text):
        tail = match.group(0)
        ending = [n for n in numbers if n.endswith(tail)]
        if len(ending) == 1:
            return ending[0], tail
    return None
