"""Case and spelling folding so the way a customer types does not matter.

Customers write `aendern` for `ändern`, `faturami` for `faturamı`, shout in
capitals with Turkish dotted and dotless i, or leave umlauts out. `fold()`
maps all of these to one key used for features and lookups; the original text
is never changed.
"""

from __future__ import annotations

import re
import unicodedata

_TURKISH_UPPER_I = str.maketrans({"I": "ı", "İ": "i"})
_LETTER_MAP = str.maketrans(
    {
        "ä": "a",
        "ö": "o",
        "ü": "u",
        "ß": "ss",
        "ç": "c",
        "ğ": "g",
        "ı": "i",
        "ş": "s",
    }
)
# Spelled-out umlauts: "aendern" meets "ändern" once both are folded.
_SPELLED_UMLAUT = re.compile(r"(?<=[a-z])(ae|oe|ue)|^(ae|oe|ue)")
# Terminal escape sequences (colours, cursor moves) pasted along with text.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def lower(text: str, language: str | None = None) -> str:
    """Lower-case `text`, with Turkish rules for I and İ when `language` is tr.

    Python's `str.lower()` turns `IŞIK` into `işik` and `İ` into `i̇`
    (i plus a combining dot); Turkish needs `ışık` and `i`.
    """
    if language == "tr":
        text = text.translate(_TURKISH_UPPER_I)
    return unicodedata.normalize("NFC", text.lower())


def strip_marks(text: str) -> str:
    """Drop combining accents left over after decomposition (é → e, i̇ → i)."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def fold(text: str, language: str | None = None) -> str:
    """One comparison key for all spellings of a word.

    `ändern`, `aendern` and `AENDERN` → `andern`; `faturamı`, `FATURAMI` and
    `faturami` → `faturami`.
    """
    lowered = lower(text, language).translate(_LETTER_MAP)
    lowered = strip_marks(lowered)
    return _SPELLED_UMLAUT.sub(lambda m: (m.group(1) or m.group(2))[0], lowered)


def clean_message(text: str) -> str:
    """Remove control and invisible formatting characters; squeeze whitespace."""
    text = _CONTROL.sub(" ", _ANSI_ESCAPE.sub("", text))
    return re.sub(r"\s+", " ", text).strip()
