"""The languages the assistant speaks: German (the default) and Turkish."""

from __future__ import annotations

LANGUAGES = ("de", "tr")
DEFAULT_LANGUAGE = "de"
LOCALES = {"de": "de_DE", "tr": "tr_TR"}


def known(language: object) -> str | None:
    """`language` if the assistant speaks it, else None."""
    return language if language in LANGUAGES else None


def or_default(language: object) -> str:
    """`language` if the assistant speaks it, else German."""
    return known(language) or DEFAULT_LANGUAGE


def locale_for(language: str | None) -> str:
    """Babel's locale for a language (German for anything unknown)."""
    return LOCALES[or_default(language)]
