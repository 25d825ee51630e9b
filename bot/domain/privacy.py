"""Keeping personal data out of logs, and out of what is kept longer than needed.

Logs carry the conversation id and what happened, never birth dates, IBANs
or full customer or contract numbers: `masked("10000002")` gives `******02`,
enough to tell two records apart in an incident, not enough to identify one.

`redact` does the same to what a customer typed, where the typed values have
served their purpose: the transcript an agent reads (the case shows the
verified customer itself) and conversations kept after they ended.

`pseudonymous_key` is how an identifier is stored where only its sameness
counts (failed identity checks per customer number, cases and rate limits
per source): a keyed digest, which nobody without the key can trace back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from bot.domain.parsing import date_spans, iban_spans

# A date at least this many years back is read as a birth date (contract,
# bill and payment dates are recent).
BIRTH_DATE_YEARS = 16
# written whole or in groups of four: "DE89370400440532013000", "DE89 3704 0044 ..."
_LONG_NUMBER = re.compile(r"(?<![\d.,])\d{8,}(?![\d.,]?\d)")
# a customer number written in groups: "1000 0011", "10-00-00-11"
_GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,4}(?:[ -]\d{1,4})+(?![\d.,]?\d)")
MASKED_DATE = "**.**.****"
#: How long a pseudonym is: "p-" and 20 hex digits.
PSEUDONYM_CHARS = 22
_PSEUDONYM = re.compile(r"p-[0-9a-f]{20}")


def masked(number: str | None, visible: int = 2) -> str:
    """An identifier with all but its last `visible` characters hidden."""
    if not number:
        return "-"
    return "*" * max(0, len(number) - visible) + number[-visible:]


def redact(text: str, today: dt.date | None = None) -> str:
    """`text` with birth dates, IBANs and customer (or contract) numbers masked.

    IBANs keep their last four characters, numbers of eight or more digits
    their last two; postcodes, amounts and recent dates stay as they are.
    """
    today = today or dt.date.today()
    oldest_recent = today.replace(year=today.year - BIRTH_DATE_YEARS, day=min(today.day, 28))
    found: list[tuple[int, int, str]] = []

    def add(start: int, end: int, replacement: str) -> None:
        if not any(start < e and s < end for s, e, _ in found):
            found.append((start, end, replacement))

    for start, end in iban_spans(text):
        add(start, end, masked(re.sub(r"\s", "", text[start:end]).upper(), 4))
    for date, (start, end) in date_spans(text, today):
        if date < oldest_recent:
            add(start, end, MASKED_DATE)
    for match in _LONG_NUMBER.finditer(text):
        add(*match.span(), masked(match.group(0)))
    for match in _GROUPED_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) == 8:
            add(*match.span(), masked(digits))
    for start, end, replacement in sorted(found, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def pseudonym(value: str, key: bytes) -> str:
    """A stand-in for an identifier kept in a record that must outlive it.

    Keyed like `pseudonymous_key`: under one key the same value always gives
    the same pseudonym (records that belonged together still do), and without
    the key nobody can tell which value it stands for (a REST conversation id
    may be any text, an e-mail address say). Nothing in it can be typed as a
    customer number.
    """
    return "p-" + pseudonymous_key("record", value, key).partition(":")[2][: PSEUDONYM_CHARS - 2]


def is_pseudonym(value: str | None) -> bool:
    """Whether `value` is what `pseudonym` makes."""
    return bool(value) and _PSEUDONYM.fullmatch(value or "") is not None


def pseudonymous_key(label: str, value: str, key: bytes) -> str:
    """`value` as stored where only its sameness counts: `label:` and its keyed digest.

    HMAC-SHA256 with the server's secret (`PSEUDONYM_KEY`): the same value
    under the same key always gives the same result, so a counter finds its
    row again; without the key nobody can tell which value it came from, not
    even by trying every customer number, address or phone number. `label`
    keeps the uses apart: one value has another digest under another label.
    """
    if not key:
        raise ValueError("a pseudonymous key needs a secret key")
    digest = hmac.new(key, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{label}:{digest[:40]}"
