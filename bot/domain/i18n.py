"""Locale-aware formatting of money, dates and numbers (de_DE and tr_TR).

The one place where values become text for customers, so a German customer
reads `1.043,27 €` and a Turkish customer `€1.043,27`.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

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


def percent(fraction: Decimal, language: str | None) -> str:
    """A share or a change without its sign, to one decimal at most:
    `Decimal('0.057')` → `5,7 %` (de) or `%5,7` (tr); `0.05` → `5 %`."""
    if not isinstance(fraction, Decimal):
        raise TypeError("percent must be a Decimal")
    rounded = abs(fraction).quantize(Decimal("0.001"), ROUND_HALF_UP).normalize()
    return format_percent(rounded, locale=locale_for(language), decimal_quantization=False)


_CENT_WORDS = {"de_DE": "Cent", "tr_TR": "sent"}


def unit_price(price: Decimal, language: str | None) -> str:
    """A price per unit (kWh, m³) in euros: below one euro in cents, as customers
    know it: `Decimal('0.3833')` → `38,33 Cent` (de), `38,33 sent` (tr); else money."""
    if not isinstance(price, Decimal):
        raise TypeError("unit_price must be a Decimal")
    if price >= 1:
        return money(price.quantize(Decimal("0.01")), language)
    locale = locale_for(language)
    cents = format_decimal(
        (price * 100).quantize(Decimal("0.01"), ROUND_HALF_UP), "#,##0.00", locale=locale
    )
    return f"{cents} {_CENT_WORDS.get(locale, 'Cent')}"


def moment(value: dt.datetime, today: dt.date, language: str | None) -> str:
    """A local time as people say when something happens or ends:
    `heute um 18:30 Uhr`, `morgen um 6:00 Uhr`, `am 8. Dezember um 10:00 Uhr` (de);
    `bugün saat 18:30`, `yarın saat 06:00`, `8 Aralık saat 10:00` (tr)."""
    days = (value.date() - today).days
    if language == "tr":
        clock = value.strftime("%H:%M")
        day = {0: "bugün", 1: "yarın", -1: "dün"}.get(days)
        day = day or format_date(value.date(), "d MMMM", locale=locale_for(language))
        return f"{day} saat {clock}"
    clock = f"{value.hour}:{value.minute:02d} Uhr"
    day = {0: "heute", 1: "morgen", -1: "gestern"}.get(days)
    if day is None:
        day = "am " + format_date(value.date(), "d. MMMM", locale=locale_for(language))
    return f"{day} um {clock}"
