"""What customers answer to the questions of a move, read from their words.

The kind of move ("Auszug", "innerhalb des Versorgungsgebiets", "Hizmet bölgeniz
içinde"), a meter reading or "I do not have it yet", a name, a phone number
or an e-mail address. Like bot/domain/parsing.py, these functions find a
value or return None; whether the value can be used is the service's call.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from bot.domain.text import fold

ADULT_YEARS = 18

# Words that say which kind of move a customer means, in both languages (folded,
# "|" between them); "within" is looked for first, "out" last ("Umzug innerhalb"
# is no move out, "Hizmet bölgeniz içinde" no move in).
_KIND_WORDS = (
    (
        "within",
        "innerhalb|im versorgungsgebiet|im gebiet|mitnehmen|mitziehen|in der stadt"
        "|icinde|ayni sehir|sehir ici|goturmek|yanimda",
    ),
    (
        "in",
        "neu ein|einzug|einziehen|neukund|neuer kunde|neue kundin|kein kunde|nicht kunde"
        "|henuz musteri|musteriniz degil|yeni musteri",
    ),
    (
        "out",
        "weg|auszug|ausziehen|ziehe aus|ausserhalb|ausland|beenden|kundigen|abmelden"
        "|disina|disari|bolge disi|baska sehir|yurt disi|yurtdisi|sonlandir|kapat|bitir",
    ),
)
# "I do not have that reading yet"
_NOT_YET = re.compile(
    r"noch nicht|nicht da|hab(?:e)? ich nicht|hab(?:e)? keinen|weiss ich nicht|spater|nachreichen"
    r"|keine ahnung|henuz|elimde degil|elimde yok|bilmiyorum|sonra|yok\b"
)
# A meter reading: "47210", "47.210", "45 210", "9095,2", "9095.2 m3".
# TODO(issue 13): the shared reading parser of the meter-reading flow
# (bot/domain/parsing.py after the merge) replaces this: number words too.
_READING = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:[ .]\d{3})+|\d+)(?:,(\d{1,3})|\.(\d{1,2}))?(?![\d.,]?\d)"
)
_NAME_PREFIX = re.compile(
    r"^(?:ich hei(?:ss|ß)e|mein name ist|name\s*:|benim ad[ıi]m|ad[ıi]m)\s+", re.IGNORECASE
)
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.]+[^\W\d_]+)*\.?$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d /()-]{4,}\d")


def parse_move_kind(text: str) -> str | None:
    """`out`, `within` or `in` from a customer's words (a button's title among them)."""
    folded = fold(text)
    for kind, words in _KIND_WORDS:
        if re.search(rf"(?<![a-z])(?:{words})", folded):
            return kind
    return None


def not_yet(text: str) -> bool:
    """Whether the customer says they do not have the reading yet."""
    return bool(_NOT_YET.search(fold(text)))


def reading_value(text: str) -> Decimal | None:
    """The number of a meter reading in `text` (thousands with dots or spaces)."""
    match = _READING.search(text)
    if match is None:
        return None
    whole = re.sub(r"[ .]", "", match.group(1))
    fraction = match.group(2) or match.group(3)
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:
        return None


def person_name(text: str) -> str | None:
    """A first and last name ("Deniz Aksoy", "mein Name ist Anna-Lena Groß")."""
    cleaned = _NAME_PREFIX.sub("", re.sub(r"\s+", " ", text).strip()).strip(" .,")
    words = cleaned.split()
    if 2 <= len(words) <= 5 and len(cleaned) <= 100 and _NAME.match(cleaned):
        return cleaned
    return None


def contact_of(text: str) -> str | None:
    """An e-mail address or a phone number (six to fifteen digits)."""
    email = _EMAIL.search(text)
    if email:
        return email.group(0)
    phone = _PHONE.search(text)
    if phone and 6 <= len(re.sub(r"\D", "", phone.group(0))) <= 15:
        return re.sub(r"\s+", " ", phone.group(0)).strip()
    return None


def is_adult(born: dt.date, on: dt.date) -> bool:
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years >= ADULT_YEARS
