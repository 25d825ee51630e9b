"""Reading values out of what customers type or say.

Customers give several values at once and in any order ("10000001 47051
12.04.1980"), write dates the German or the Turkish way ("12. März 1975",
"12 Mart 1975") and amounts in either notation ("85,50 €", "85.50 EUR",
"85 euro", "70 avro"). These functions find them without guessing: a number
that is part of a date is never also read as a postcode.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.domain.text import fold, lower

_MONTHS = {
    fold(name): number
    for number, names in {
        1: "januar jan jänner ocak oca",
        2: "februar feb şubat şub",
        3: "märz mär mrz mart mar",
        4: "april apr nisan nis",
        5: "mai mayıs may",
        6: "juni jun haziran haz",
        7: "juli jul temmuz tem",
        8: "august aug ağustos ağu",
        9: "september sep sept eylül eyl",
        10: "oktober okt ekim eki",
        11: "november nov kasım kas",
        12: "dezember dez aralık ara",
    }.items()
    for name in names.split()
}
_MONTH_ALTERNATION = "|".join(sorted(_MONTHS, key=len, reverse=True))

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_TEXT_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}})\.?\s*(?:{_MONTH_ALTERNATION})[a-z]*\.?\s*(\d{{4}}|\d{{2}})(?!\d)"
)
_TEXT_MONTH = re.compile(rf"(?:{_MONTH_ALTERNATION})")
_EIGHT_DIGITS = re.compile(r"(?<![\d.,])\d{8}(?![\d.,]?\d)")
_SPACED_DIGITS = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){7,}(?![\d.,]?\d)")
_FIVE_DIGITS = re.compile(r"(?<![\d.,])\d{5}(?![\d.,]?\d)")
_AMOUNT = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)(?![\d])"
    r"\s*(€|eur\b|euro\b|euros\b|avro\b|ojro\b|oyro\b)?"
)
# typed whole or in groups, or spoken letter by letter: "D E 89 3704 0044 ..."
_IBAN = re.compile(r"\b([a-z]\s?[a-z]\s?\d\s?\d(?:\s?[a-z0-9]){11,30})\b", re.IGNORECASE)
# a word said after the IBAN ("... 3000 bitte") is no part of it
_TRAILING_WORD = re.compile(r"\s[a-z]+$", re.IGNORECASE)


@dataclass(frozen=True)
class IdentityValues:
    """The identity values found in one message (each may be missing)."""

    customer_number: str | None = None
    postcode: str | None = None
    birth_date: dt.date | None = None


def _year(raw: str, today: dt.date) -> int:
    year = int(raw)
    if len(raw) == 2:
        century = 2000 if year <= today.year % 100 else 1900
        year += century
    return year


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_number(text: str) -> int | None:
    match = _TEXT_MONTH.search(text)
    return _MONTHS.get(match.group(0)) if match else None


def find_dates(text: str, today: dt.date | None = None) -> list[tuple[dt.date, tuple[int, int]]]:
    """All calendar dates in `text` with their spans in the folded text."""
    return _dates(fold(text), today or dt.date.today())


def date_spans(text: str, today: dt.date | None = None) -> list[tuple[dt.date, tuple[int, int]]]:
    """All calendar dates in `text` with their spans in `text` itself (to mask them)."""
    # folded one character at a time, so every span stays where it is
    same_length = "".join(folded if len(folded := fold(char)) == 1 else char for char in text)
    return _dates(same_length, today or dt.date.today())


def _dates(folded: str, today: dt.date) -> list[tuple[dt.date, tuple[int, int]]]:
    found: list[tuple[dt.date, tuple[int, int]]] = []
    for match in _ISO_DATE.finditer(folded):
        date = _make_date(int(match[1]), int(match[2]), int(match[3]))
        if date:
            found.append((date, match.span()))
    for match in _NUMERIC_DATE.finditer(folded):
        if any(s <= match.start() < e for _, (s, e) in found):
            continue
        date = _make_date(_year(match[3], today), int(match[2]), int(match[1]))
        if date:
            found.append((date, match.span()))
    for match in _TEXT_DATE.finditer(folded):
        month = _month_number(match.group(0)[len(match[1]) :])
        date = month and _make_date(_year(match[2], today), month, int(match[1]))
        if date:
            found.append((date, match.span()))
    return sorted(found, key=lambda item: item[1])


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def parse_birth_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """A plausible birth date (in the past, after 1900) in `text`."""
    today = today or dt.date.today()
    for date, _span in find_dates(text, today):
        if dt.date(1900, 1, 1) <= date < today:
            return date
    return None


# A day of the year without its year: "15.1.", "15.01", "1. April", "15 Nisan".
_DAY_MONTH = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.?(?![\d])(?!\.\d)")
_DAY_MONTH_NAME = re.compile(rf"(?<!\d)(\d{{1,2}})\.?\s*(?:{_MONTH_ALTERNATION})[a-z]*(?![a-z])")
_RELATIVE_DAYS = (
    (re.compile(r"\b(?:ubermorgen|obur\s?gun)\b"), 2),
    (re.compile(r"\b(?:morgen|yarin)\b"), 1),
    (re.compile(r"\b(?:heute|bugun)\b"), 0),
    (re.compile(r"\b(?:gestern|dun)\b"), -1),
)
_MONTH_END = re.compile(r"\b(?:monatsende|ende\s+(?:des|dieses)\s+monats|ay\s?(?:in)?\s?sonu)")
_NEXT_MONTH_START = re.compile(
    r"(?:anfang|beginn|ersten?)\s+(?:des\s+)?nachsten\s+monats|(?:gelecek|onumuzdeki)\s+ay(?:in)?\s+basi"
)


#: A day and month without a year is read as the coming one, unless it was this recently.
_RECENT_DAYS = 60


def _coming(day: int, month: int, today: dt.date) -> dt.date | None:
    """The first date with this day and month that is not longer ago than `_RECENT_DAYS`."""
    recent = today - dt.timedelta(days=_RECENT_DAYS)
    dates = [d for year in (-1, 0, 1) if (d := _make_date(today.year + year, month, day))]
    return next((d for d in dates if d >= recent), None)


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """A day such as a moving date: a full date, a day and month without the year
    (the coming one, or one of the last weeks), or words: heute, morgen, übermorgen, gestern,
    bugün, yarın, Monatsende / ay sonu, Anfang nächsten Monats / gelecek ayın başı."""
    dates = find_dates(text, today)
    if dates:
        return dates[0][0]
    folded = fold(text)
    for pattern in (_DAY_MONTH, _DAY_MONTH_NAME):
        match = pattern.search(folded)
        if match is None:
            continue
        if pattern is _DAY_MONTH:
            month = int(match[2])
        else:
            month = _month_number(match.group(0)[len(match[1]) :]) or 0
        found = _coming(int(match[1]), month, today) if 1 <= month <= 12 else None
        if found:
            return found
    for words, offset in _RELATIVE_DAYS:
        if words.search(folded):
            return today + dt.timedelta(days=offset)
    if _MONTH_END.search(folded):
        return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if _NEXT_MONTH_START.search(folded):
        return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return None


def parse_identity(text: str, today: dt.date | None = None) -> IdentityValues:
    """Customer number, postcode and birth date from one message, any order."""
    dates = find_dates(text, today)
    rest = _blank_spans(fold(text), [span for _, span in dates])
    number = _EIGHT_DIGITS.search(rest)
    customer_number = number.group(0) if number else None
    if customer_number is None:
        spaced = _SPACED_DIGITS.search(rest)
        digits = re.sub(r"\D", "", spaced.group(0)) if spaced else ""
        if len(digits) == 8:
            customer_number = digits
            rest = _blank_spans(rest, [spaced.span()])  # type: ignore[union-attr]
    else:
        rest = _blank_spans(rest, [number.span()])
    postcode = _FIVE_DIGITS.search(rest)
    return IdentityValues(
        customer_number=customer_number,
        postcode=postcode.group(0) if postcode else None,
        birth_date=parse_birth_date(text, today),
    )


def _to_decimal(raw: str) -> Decimal | None:
    if "," in raw and "." in raw:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
    elif "," in raw or "." in raw:
        sep = "," if "," in raw else "."
        head, _, tail = raw.rpartition(sep)
        decimal_sep = None if len(tail) == 3 and raw.count(sep) >= 1 and head else sep
        if raw.count(sep) > 1:
            decimal_sep = None
    else:
        decimal_sep = None
    thousands = {",", "."} - {decimal_sep}
    cleaned = raw
    for sep in thousands:
        cleaned = cleaned.replace(sep, "")
    if decimal_sep:
        cleaned = cleaned.replace(decimal_sep, ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def parse_amount(text: str) -> Decimal | None:
    """A money amount in euros: `85`, `85,50 €`, `85.50 EUR`, `85 euro`.

    Numbers that are dates or 5+ digit identifiers are not amounts; when
    several numbers remain, one with a currency sign wins.
    """
    dates = find_dates(text)
    rest = _blank_spans(lower(text), [span for _, span in dates])
    candidates: list[tuple[bool, Decimal]] = []
    for match in _AMOUNT.finditer(rest):
        raw, currency = match.group(1), match.group(2)
        if re.fullmatch(r"\d{5,}", raw):
            continue
        value = _to_decimal(raw)
        if value is None:
            continue
        candidates.append((bool(currency), value))
    if not candidates:
        return None
    with_currency = [v for has, v in candidates if has]
    if with_currency:
        return with_currency[0].quantize(Decimal("0.01"))
    if len(candidates) == 1:
        return candidates[0][1].quantize(Decimal("0.01"))
    return None


# Relative changes: "um 20 Euro erhöhen", "10 € weniger", "20 avro artırmak".
# "auf 90 Euro erhöhen" and "90 avroya yükseltmek" name the new amount instead.
_DELTA_NUMBER = r"(?P<amount>\d+(?:[.,]\d{1,2})?)\s*(?:€|eur|euro|avro)?"
_UP = r"erhoh|anheb|hoher|hoch|mehr|artir|arttir|yukselt|fazla"
_DOWN = r"senk|reduzier|verringer|runter|niedriger|weniger|azalt|dusur|indir|eksik"
_RELATIVE = (
    re.compile(rf"\bum\s+{_DELTA_NUMBER}\s+(?:\w+\s+){{0,2}}?(?P<direction>{_UP}|{_DOWN})"),
    re.compile(rf"(?P<direction>{_UP}|{_DOWN})\w*\s+(?:\w+\s+)?um\s+{_DELTA_NUMBER}"),
    re.compile(
        rf"{_DELTA_NUMBER}\s+(?:daha\s+)?"
        r"(?P<direction>mehr|weniger|fazla|eksik|artir|arttir|yukselt|azalt|dusur|indir)"
    ),
)
_DOWN_WORDS = re.compile(_DOWN)


def parse_amount_change(text: str) -> Decimal | None:
    """A relative change of an amount, signed: "um 20 € senken" → -20.00."""
    folded = fold(text)
    for pattern in _RELATIVE:
        match = pattern.search(folded)
        if match:
            value = _to_decimal(match.group("amount"))
            if value is None or value == 0:
                return None
            if _DOWN_WORDS.match(match.group("direction")):
                value = -value
            return value.quantize(Decimal("0.01"))
    return None


# Words that say "yes" outright. A confirmation that changes money needs one:
# "hä?" or "öhm" may look like agreement to a classifier, but are not.
_YES_WORDS = {
    fold(word)
    for word in [
        "ja",
        "jo",
        "joa",
        "jep",
        "jup",
        "jawohl",
        "jawoll",
        "genau",
        "richtig",
        "korrekt",
        "stimmt",
        "ok",
        "okay",
        "okey",
        "passt",
        "einverstanden",
        "gern",
        "gerne",
        "bestätigt",
        "bestätige",
        "klar",
        "sicher",
        "natürlich",
        "selbstverständlich",
        "mach",
        "machen",
        "yes",
        "yep",
        "evet",
        "tamam",
        "olur",
        "doğru",
        "aynen",
        "onaylıyorum",
        "onaylarım",
        "onay",
        "kesinlikle",
        "he",
        "hıhı",
    ]
}


def is_explicit_yes(text: str) -> bool:
    """Whether `text` contains a word that plainly means yes."""
    words = re.findall(r"[^\W\d_]+", fold(text))
    return any(word in _YES_WORDS or re.fullmatch(r"ja+|jo+|evet+", word) for word in words)


def iban_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where IBAN-like strings stand in `text` (written or said with spaces, letter by
    letter, in any case; a word said after one is no part of it), checksums not checked."""
    for match in _IBAN.finditer(text):
        candidate = match.group(1)
        while (word := _TRAILING_WORD.search(candidate)) and word.start() >= 15:
            candidate = candidate[: word.start()]
        yield match.start(1), match.start(1) + len(candidate)


def iban_candidates(text: str) -> Iterator[str]:
    """IBAN-like strings in `text`, upper case without spaces, checksums not checked."""
    for start, end in iban_spans(text):
        yield re.sub(r"\s", "", text[start:end]).upper()


def parse_iban(text: str) -> str | None:
    """A checksum-valid IBAN in `text`, upper case without spaces."""
    for iban in iban_candidates(text):
        if 15 <= len(iban) <= 34 and _iban_checksum_ok(iban):
            return iban
    return None


def _iban_checksum_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


_COMMODITY_WORDS = {
    "electricity": ("strom", "elektrik", "elektrig", "stromvertrag", "electricity"),
    "gas": ("gas", "erdgas", "dogalgaz", "gaz", "gasvertrag"),
    "water": ("wasser", "suyu", "su faturasi", "water"),
    "district_heating": ("fernwarm", "fernheiz", "merkezi isitma", "district"),
}


def parse_commodity(text: str) -> str | None:
    """Which commodity a customer means: Strom/elektrik → electricity, ..."""
    folded = f" {fold(text)} "
    # "su" (water) is a whole word; the folded "şu" (that) would collide.
    if re.search(r"(?<![a-zçğıöşü])su(?![a-zçğıöşü])", lower(text, "tr")):
        return "water"
    for commodity, stems in _COMMODITY_WORDS.items():
        if any(re.search(rf"(?<![a-z]){re.escape(stem)}", folded) for stem in stems):
            return commodity
    return None


# --- payment arrangements: which kind, how many instalments, until when -------------
# (actions/payment_arrangements.py; the folded text, so "Stündung" and "stundung",
# "ertelemek" and "ERTELEMEK" are the same)

_INSTALMENT_WORDS = re.compile(
    r"(?<![a-z])(?:monats|teil|ab)?rate|abstotter|abzahl|teilzahl|aufteil|verteil|stuckel"
    r"|taksit|bolerek|bolmek|bolebil|bolun|parca|odeme plan"
)
_DEFERRAL_WORDS = re.compile(
    r"stund|aufschub|aufschieb|verschieb|spater|zahlungsziel|frist|ertele|erteley|tecil"
    r"|bekle|sure ver|sure taniy"
)
_BLOCK_WORDS = re.compile(
    r"sperr|abstell|abgestellt|abklemm|abdreh|abschalt|unterbrech"
    r"|kesecek|keseceg|kesilecek|kesilmesin|kesmeyin|kesme|kapatacak|kapatilacak"
)
# number words up to twelve, and the tens a deferral in days needs
_NUMBER_WORDS = {
    "eins": 1, "ein": 1, "eine": 1, "einer": 1, "einen": 1, "zwei": 2, "zwo": 2, "drei": 3,
    "vier": 4, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "elf": 11, "zwolf": 12, "zwanzig": 20, "dreissig": 30, "vierzig": 40,
    "bir": 1, "iki": 2, "uc": 3, "dort": 4, "bes": 5, "alti": 6, "yedi": 7, "sekiz": 8,
    "dokuz": 9, "on": 10, "yirmi": 20, "otuz": 30, "kirk": 40,
}  # fmt: skip
# words that make "ein"/"bir" a count ("eine Rate", "bir taksit") and not an article
_COUNTED = r"(?:raten?|monatsraten?|teilzahlungen|monate?n?|mal|taksit\w*|ay\w*|defa|kere)"
#: a number above this, said without "Raten"/"taksit", is not taken as a count
LARGEST_BARE_COUNT = 24
_NUMBER = r"(?:\d{1,2}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_GERMAN_COMPOUND = re.compile(r"(?<![a-z])(ein|zwei|drei|vier|funf|sechs|sieben|acht|neun)und(zwanzig|dreissig|vierzig)")  # fmt: skip
_TURKISH_COMPOUND = re.compile(r"(?<![a-z])(on|yirmi|otuz|kirk)\s+(bir|iki|uc|dort|bes|alti|yedi|sekiz|dokuz)(?![a-z])")  # fmt: skip


def _number_value(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _with_compounds(folded: str) -> str:
    """Compound number words as digits: "einundzwanzig" → "21", "on beş" → "15"."""
    folded = _GERMAN_COMPOUND.sub(
        lambda m: str(_NUMBER_WORDS[m[1] if m[1] != "ein" else "eins"] + _NUMBER_WORDS[m[2]]),
        folded,
    )
    return _TURKISH_COMPOUND.sub(lambda m: str(_NUMBER_WORDS[m[1]] + _NUMBER_WORDS[m[2]]), folded)


def parse_arrangement_kind(text: str) -> str | None:
    """`instalments` (Raten, taksit) or `deferral` (Stundung, erteleme); None if unclear."""
    folded = fold(text)
    instalments = bool(_INSTALMENT_WORDS.search(folded))
    deferral = bool(_DEFERRAL_WORDS.search(folded))
    if instalments == deferral:
        return None
    return "instalments" if instalments else "deferral"


def mentions_supply_block(text: str) -> bool:
    """Whether the customer speaks of a supply block (Sperre, "elektriğimi kesecekler")."""
    return bool(_BLOCK_WORDS.search(fold(text)))


def parse_instalment_count(text: str) -> int | None:
    """How many instalments: "3", "drei Raten", "in 4 Monaten", "üç taksit".

    Money is not a count ("50 € im Monat"), nor a date; "ein"/"bir" only with
    what is counted ("eine Rate"), since they are also the article.
    """
    folded = _with_compounds(_blank_spans(fold(text), [s for _, s in find_dates(text)]))
    for match in re.finditer(
        rf"(?<![\w.,])({_NUMBER})(?![a-z]|[.,]?\d)"
        rf"(\s*(?:€|eur\b|euro\b|avro\b|[.,]\d))?(\s*{_COUNTED}(?![a-z]))?",
        folded,
    ):
        number, money, counted = match.group(1), match.group(2), match.group(3)
        if money:
            continue
        if number in ("ein", "eine", "einer", "einen", "bir", "on") and not counted:
            continue
        value = _number_value(number)
        if value > LARGEST_BARE_COUNT and not counted:
            continue  # "50" alone is rather money per month than fifty instalments
        return value
    return None


def _nearest(candidates: list[dt.date], today: dt.date) -> dt.date:
    return min(candidates, key=lambda day: abs((day - today).days))


def _day_in_month(year: int, month: int, day: int) -> dt.date | None:
    """Day `day` of `month`, where a month after December is one of the next year."""
    while month > 12:
        year, month = year + 1, month - 12
    return _make_date(year, month, day)


def _month_end(year: int, month: int) -> dt.date:
    first_of_next = _day_in_month(year, month + 1, 1)
    assert first_of_next is not None
    return first_of_next - dt.timedelta(days=1)


_DEFERRAL_DAY_MONTH = re.compile(r"(?<![\d.,])(\d{1,2})\.(\d{1,2})\.?(?![\d,]|\.\d)")
_DAY_TEXT_MONTH = re.compile(rf"(?<!\d)(\d{{1,2}})\.?\s*({_MONTH_ALTERNATION})[a-z]*")
_DAY_ONLY = re.compile(
    r"(?:\b(?:bis|zum|am|den)\s+(?:zum\s+)?(\d{1,2})\.(?!\d))|(?:\bayin\s+(\d{1,2})(?!\d))"
)
_RELATIVE_SPAN = re.compile(
    rf"(?<![\w.,])({_NUMBER})\s*(tage?n?|tag|gun\w*|wochen?|hafta\w*|monate?n?|ay(?:a|lik)?)(?![a-z])"
)
_SPAN_DAYS = {"tag": 1, "gun": 1, "woch": 7, "haft": 7, "mona": 30, "ay": 30}
_DEFERRAL_MONTH_END = re.compile(r"monatsende|ende (?:des|diese[sn]) monats|ende monat|ay ?sonu")
_DEFERRAL_NEXT_MONTH_START = re.compile(r"anfang (?:des )?nachsten monats|anfang nachster monat|gelecek ay basi|ay basi")  # fmt: skip
_NEXT_WEEK = re.compile(r"nachste woche|nachster woche|gelecek hafta|haftaya")
_WEEK_AFTER = re.compile(r"ubernachste woche")
_TOMORROW = re.compile(r"(?<![a-z])(?:morgen|yarin)(?![a-z])")
_DAY_AFTER_TOMORROW = re.compile(r"ubermorgen|obur gun")
_TODAY = re.compile(r"(?<![a-z])(?:heute|bugun)(?![a-z])")


def parse_deferral_date(text: str, today: dt.date) -> dt.date | None:
    """The date a customer wants to pay by: "20.12.2026", "20.12.", "20. Dezember",
    "bis zum 20.", "in 3 Wochen", "20 Tage", "Monatsende", "ay sonuna kadar", "15 gün".

    A date without a year is the one nearest to today (so "05.01." in December
    is next January, "15.11." in December a date in the past).
    """
    dates = find_dates(text, today)
    if dates:
        return dates[0][0]
    folded = _with_compounds(fold(text))
    if match := _DEFERRAL_DAY_MONTH.search(folded):
        day, month = int(match[1]), int(match[2])
        candidates = [d for y in (today.year, today.year + 1) if (d := _make_date(y, month, day))]
        if candidates:
            return _nearest(candidates, today)
    if match := _DAY_TEXT_MONTH.search(folded):
        month_number = _month_number(match[2])
        day = int(match[1])
        candidates = [
            d for y in (today.year, today.year + 1) if (d := _make_date(y, month_number or 0, day))
        ]
        if candidates:
            return _nearest(candidates, today)
    if match := _DAY_ONLY.search(folded):
        day = int(match[1] or match[2])
        this_month = _make_date(today.year, today.month, day)
        if this_month is not None and this_month > today:
            return this_month
        return _day_in_month(today.year, today.month + 1, day)
    if match := _RELATIVE_SPAN.search(folded):
        unit = next(days for stem, days in _SPAN_DAYS.items() if match[2].startswith(stem))
        return today + dt.timedelta(days=_number_value(match[1]) * unit)
    if _DEFERRAL_MONTH_END.search(folded):
        end = _month_end(today.year, today.month)
        return end if end > today else _month_end(today.year, today.month + 1)
    if _DEFERRAL_NEXT_MONTH_START.search(folded):
        return _day_in_month(today.year, today.month + 1, 1)
    for pattern, days in (
        (_WEEK_AFTER, 14),
        (_NEXT_WEEK, 7),
        (_DAY_AFTER_TOMORROW, 2),
        (_TOMORROW, 1),
        (_TODAY, 0),
    ):
        if pattern.search(folded):
            return today + dt.timedelta(days=days)
    return None
