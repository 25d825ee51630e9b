"""Callers' telephone numbers: which ones a person can call back."""

from __future__ import annotations

import re

# What Twilio sends as `From` when the caller withheld their number.
WITHHELD = {
    "anonymous",
    "restricted",
    "unknown",
    "+266696687",
    "+86282452253",
    "+7378742833",
    "+2562533",
}


def callable_number(raw: str | None) -> str | None:
    """The caller's number if a person can call it back (None when withheld or malformed)."""
    number = (raw or "").strip()
    if number.lower() in WITHHELD or not re.fullmatch(r"\+?[1-9]\d{5,14}", number):
        return None
    return number
