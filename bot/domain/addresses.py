"""Postal addresses as customers give them: "Hauptstraße 5, 44137 Dortmund".

A customer may give the whole address in one message or its parts one by
one (street and house number, then the postcode, then the town); on the
phone the street is spoken and the postcode typed on the keypad. These
functions read what is there and say nothing about whether we supply it:
that is the supply area's business (`bot/domain/services/moves.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: German postcodes have five digits.
POSTCODE = re.compile(r"(?<![\d.,])(\d{5})(?![\d.,]?\d)")
#: A house number: digits, maybe a letter or a range ("5", "12a", "12-14", "7 b").
_HOUSE_NUMBER = re.compile(r"\d+\s?[a-zA-Z]?(?:\s?[-/]\s?\d+[a-zA-Z]?)?")
_LETTER = re.compile(r"[^\W\d_]")
# "Meine neue Adresse lautet: ...", "yeni adresim: ..." before the address itself
_FILLERS = re.compile(
    r"^(?:(?:meine|unsere|die)\s+)?(?:neue\s+)?(?:adresse|anschrift)(?:\s+(?:ist|lautet))?\s*:?\s*"
    r"|^(?:yeni\s+)?adres(?:im|imiz)?(?:\s+(?:şu|su))?\s*:?\s*",
    re.IGNORECASE,
)
MAX_STREET = 100
MAX_TOWN = 60


@dataclass(frozen=True)
class Address:
    """A postal address in Germany: street with house number, postcode, town."""

    street: str
    postcode: str
    town: str

    def line(self) -> str:
        """The address on one line, as on an envelope: `Hauptstraße 5, 44137 Dortmund`."""
        return f"{self.street}, {self.postcode} {self.town}"

    def as_dict(self) -> dict[str, str]:
        return {"street": self.street, "postcode": self.postcode, "town": self.town}

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> Address:
        return cls(street=raw["street"], postcode=raw["postcode"], town=raw["town"])


@dataclass(frozen=True)
class AddressParts:
    """What one message gave of an address (each part may be missing)."""

    street: str | None = None
    postcode: str | None = None
    town: str | None = None


def _clean(part: str) -> str:
    return re.sub(r"\s+", " ", part).strip(" ,;.:-\t\n")


def parse_postcode(text: str) -> str | None:
    """The five-digit postcode in `text` ("44137", "PLZ 44137", "4 4 1 3 7")."""
    match = POSTCODE.search(text)
    if match:
        return match.group(1)
    spaced = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    match = POSTCODE.search(spaced)
    return match.group(1) if match and len(re.sub(r"\D", "", text)) == 5 else None


def is_street(text: str) -> bool:
    """Whether `text` reads like a street with a house number ("Am Markt 12a")."""
    cleaned = _clean(text)
    return (
        3 <= len(cleaned) <= MAX_STREET
        and len(_LETTER.findall(cleaned)) >= 2
        and bool(_HOUSE_NUMBER.search(cleaned))
    )


def is_town(text: str) -> bool:
    """Whether `text` reads like a town name (letters, a few words, no digits)."""
    cleaned = _clean(text)
    return (
        2 <= len(cleaned) <= MAX_TOWN
        and not re.search(r"\d", cleaned)
        and len(cleaned.split()) <= 5
        and len(_LETTER.findall(cleaned)) >= 2
    )


def parse_address(text: str) -> AddressParts:
    """The parts of an address in one message.

    "Hauptstraße 5, 44137 Dortmund" gives all three; "Hauptstraße 5" the
    street; "44137 Dortmund" the postcode and town. The street is what stands
    before the postcode, the town what follows it.
    """
    match = POSTCODE.search(text)
    if match is None:
        street = _clean(_FILLERS.sub("", _clean(text)))
        return AddressParts(street=street if is_street(street) else None)
    before = _clean(_FILLERS.sub("", _clean(text[: match.start()])))
    after = _clean(text[match.end() :])
    return AddressParts(
        street=before if is_street(before) else None,
        postcode=match.group(1),
        town=after if is_town(after) else None,
    )
