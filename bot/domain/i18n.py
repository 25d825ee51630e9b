"""Locale-aware formatting of money, dates and numbers (de_DE and tr_TR).

The one place where values become text for customers, so a German customer
reads `1.043,27 €` and a Turkish customer `€1.043,27`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.domain.languages import locale_for


def money(amount: Decimal, language: str | None) -> str:
    """`Decimal('1043.27')` → `1.043,27 €` (de) or `€1.043,27` (tr)."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be a Decimal")
    return format_currency(amount, "EUR", locale=locale_for(language))


def date(value: dt.date, language: str | None) -> str:
    """`2025-02-05` → `05.02.2025` in both locales."""
    return format_date(value, "dd.MM.yyyy", locale=locale_for(language))


#: A date with its weekday, as people say when something happens (`Dienstag, 1. Dezember 2026`).
_LONG_DATE = {"de": "EEEE, d. MMMM y", "tr": "d MMMM y EEEE"}


def long_date(value: dt.date, language: str | None) -> str:
    """`2026-12-01` → `Dienstag, 1. Dezember 2026` (de) or `1 Aralık 2026 Salı` (tr)."""
    pattern = _LONG_DATE.get(language or "", _LONG_DATE["de"])
    return format_date(value, pattern, locale=locale_for(language))


def number(value: Decimal, language: str | None) -> str:
    """Quantities such as consumption: `3120` → `3.120`."""
    return format_decimal(value.normalize(), locale=locale_for(language))
