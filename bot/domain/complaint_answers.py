"""What a complaint is about, and whether the customer is angry, read from their words.

The category lets the back office route the complaint (billing, service and
reachability, staff, technicians and appointments, website and app, other).
Anger is read from the words (Frechheit, Abzocke, rezalet, yeter artık),
from shouting (most letters in capitals, several exclamation marks) and,
by the caller, from earlier complaints; an angry customer is offered a
person at once (actions/complaints.py).
"""

from __future__ import annotations

import re

from bot.domain.text import fold

CATEGORIES = ("billing", "service", "staff", "technical", "online", "other")

_CATEGORY_WORDS = (
    (
        "billing",
        r"rechnung|abrechnung|abschlag|nachzahlung|betrag|abbuch|mahnung|fatura|hesap|borc|odeme",
    ),
    (
        "staff",
        r"mitarbeit|unfreundlich|\bfrech\b|personal|berater|beraterin|calisan|kaba|personel|temsilci",
    ),
    (
        "technical",
        r"techniker|monteur|zahler|termin|handwerker|teknisyen|randevu|sayac|montaj|\busta\b",
    ),
    (
        "online",
        r"website|webseite|internetseite|\bapp\b|portal|online|login|passwort|site|uygulama|sifre",
    ),
    (
        "service",
        r"hotline|warte|erreich|niemand|antwort|e-?mail|brief|ruckruf|bekle|ulas|cevap|donus|aramadi",
    ),
)
_ANGRY_WORDS = re.compile(
    r"frechheit|unverschamt|skandal|abzocke|betrug|sauerei|\bmist\b|schei(ss|ß)|verarsch|zumutung"
    r"|katastroph|reicht (mir|jetzt)|letzte mal|anwalt|verbraucherzentrale|wutend|sauer\b|unmoglich"
    r"|rezalet|sacma|bikt|yeter artik|dolandir|avukat|berbat|skandal|kizgin|sinir"
)
#: words only a complaint uses (none of them appears in another intent's training data)
_COMPLAINT_WORDS = re.compile(
    r"beschwer|reklamation|kritik|unzufrieden|zumutung|unverschamt|frechheit|\bfrech\b|katastroph"
    r"|saftladen|schlamperei|inkompetent|respektlos|herablassend|angeschnauzt|patzig|unfreundlich"
    r"|sauerei|schweinerei|skandal|abzocke|verarsch|genervt|\bnervt|wutend|stinksauer|raste aus"
    r"|regt mich|unfassbar|ein witz|\bmist\b|anwalt|verbraucherzentrale|nie wieder"
    r"|sikayet|memnun (degil|kalmad|olmad)|rezalet|berbat|saygisiz|\bkaba\b|kabaydi|\bayip\b"
    r"|utanc|ilgisiz|rezil|magdur|oyaliyor|kizgin|sinir|yeter artik|avukat|dolandir|bu ne bicim"
    r"|hak etmiyorum|bikt|sacmalik|terbiyesiz|umursam"
)
#: a message shouts when it has at least this many letters, most of them capitals
SHOUT_LETTERS = 10
SHOUT_SHARE = 0.7


def category_of(text: str) -> str | None:
    """The category the words name (a button's title among them), or None."""
    folded = fold(text)
    for category, words in _CATEGORY_WORDS:
        if re.search(words, folded):
            return category
    if re.search(r"sonstig|anderes|andere|diger|baska", folded):
        return "other"
    return None


def anger_signals(text: str) -> list[str]:
    """Why a message reads as angry: `words`, `caps`, `exclamations` (empty: calm)."""
    signals = []
    if _ANGRY_WORDS.search(fold(text)):
        signals.append("words")
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= SHOUT_LETTERS:
        capitals = sum(ch.isupper() for ch in letters)
        if capitals / len(letters) >= SHOUT_SHARE:
            signals.append("caps")
    if text.count("!") >= 3:
        signals.append("exclamations")
    return signals


def plainly_a_complaint(text: str) -> bool:
    """Whether the words are a complaint's own ("Zumutung", "unfreundlich", "şikayet", "berbat")."""
    return bool(_COMPLAINT_WORDS.search(fold(text)))
