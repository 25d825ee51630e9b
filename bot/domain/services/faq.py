"""Which FAQ topic a general question is about (answers live in domain/faq.yml)."""

from __future__ import annotations

from bot.domain.text import fold

TOPICS: dict[str, tuple[str, ...]] = {
    "opening_hours": (
        "offnungszeit",
        "erreichbar",
        "hotline",
        "geoffnet",
        "wann",
        "saat",
        "acik",
        "calisma",
    ),
    "contact": (
        "adresse",
        "kontakt",
        "telefon",
        "e-mail",
        "email",
        "mail",
        "adres",
        "iletisim",
        "numara",
    ),
    "payment_methods": (
        "bezahl",
        "zahlungsart",
        "lastschrift",
        "uberweis",
        "odeme yontem",
        "havale",
        "nasil oder",
        "nasil odey",
    ),
    "energy_saving": ("spar", "tasarruf", "verbrauch senken", "tipps", "ipucu"),
    "funding": ("forder", "zuschuss", "bonus", "destek", "tesvik", "hibe"),
    "portal": ("portal", "online", "app", "login", "anmelden", "kundenkonto", "giris", "hesabim"),
}


def topic_of(text: str) -> str | None:
    """The first topic whose keywords appear in `text`, or None."""
    folded = fold(text)
    scores = {topic: sum(1 for word in words if word in folded) for topic, words in TOPICS.items()}
    best = max(scores, key=lambda t: scores[t])
    return best if scores[best] else None
