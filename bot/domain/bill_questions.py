"""What kind of money question a customer asks, from the words of the message.

The intents are fixed (`ask_bill` for anything about a bill, `change_advance_payment`
for a change of the advance payment), but a question about the advance payment
("Wie hoch ist mein Abschlag?", "Abschlag ne zaman çekiliyor?") must be answered,
not turned into a change, and "Warum ist meine Rechnung so hoch?" wants an
explanation rather than the bill. `question_kind` tells them apart:

- `ADVANCE_PAYMENT`: the message names the advance payment (Abschlag, monatlich,
  aylık ödeme, ...), asks something (wie hoch, wann, ne kadar, ne zaman, a
  question mark, ...) and asks for no change (no change verb, no amount);
- `WHY_HIGH`: it asks why (warum, wieso, neden, niye, ...) something is high
  (hoch, viel, teuer, Nachzahlung, yüksek, fazla, ek ödeme, ...), or says the
  bill is "so hoch" / "bu kadar yüksek";
- None: anything else (the bill itself, or a change request).

The words are matched on folded text (bot/domain/text.py), so "Abschlağım",
"abschlagim", "wieviel" and "wie viel" are the same to it. The NLU model is
trained on the same distinction; this check is what makes the choice
dependable whichever of the two intents the model predicts.
"""

from __future__ import annotations

import re
from functools import cache

from bot.domain.parsing import parse_amount, parse_amount_change
from bot.domain.text import fold

MONEY_INTENTS = ("ask_bill", "change_advance_payment")
ADVANCE_PAYMENT = "advance_payment"
WHY_HIGH = "why_high"

# Stems are matched at a word start; folded (ä → a, ş → s, ı → i, ...).
_ADVANCE_WORDS = (
    r"[a-z]*abschla[gc]h?",  # Abschlag, Abschläge, Gasabschlag, abschlach
    r"vorauszahl",
    r"monatlich",
    r"(?:im|pro|jeden|je) monat",
    r"monatsrate",
    r"aylik",
    r"ayda",
    r"her ay",
    r"avans",
    r"on odeme",
)
_QUESTION_WORDS = (
    r"wie ?hoch",
    r"wie ?viel",
    r"was (?:zahl|bezahl|kostet|muss ich|buch)",
    r"wann",
    r"welche[nmrs]? tag",
    r"abgebucht",
    r"abbuch",
    r"eingezogen",
    r"faellig|fallig",
    r"nachste",
    r"aktuell",
    r"derzeit",
    r"zurzeit",
    r"momentan",
    r"ne kadar",
    r"kac",
    r"ne zaman",
    r"hangi gun",
    r"hangi tarih",
    r"cekil(?:iyor|ir|ecek|di|en)",  # not "çekilsin" (let it be taken: a wish)
    r"kesil(?:iyor|ir|ecek|di|en)",
    r"ne od",
    r"ne yatir",
    r"odedigim ne",
    r"wissen",
    r"erfahren",
    r"auskunft",
    r"info",
    r"sag(?:en|t|e)? (?:sie|mir)",
    r"bilgi",
    r"ogren",
    r"soyle",
)
# "Kann ich ...?" asks whether a change is possible: a question mark alone is no
# question about the amount then.
_MODAL_WORDS = (
    r"kann (?:ich|man)",
    r"konnen sie",
    r"konnt ihr",
    r"geht (?:das|es)",
    r"moglich",
    r"mumkun",
    r"[a-z]+(?:ebilir|abilir)",
)
# A message about the bill needs a real question word to be about the advance payment:
# "Sind meine Abschläge in der Abrechnung verrechnet?" asks about the bill.
_BILL_WORDS = (r"[a-z]*rechnung", r"fatura", r"hesap")
# More or less each month: a change ("mehr im Monat zahlen", "daha az ödemek").
_MORE_OR_LESS = (
    r"(?:mehr|weniger) (?:\w+ ){0,2}(?:zahl|abbuch|abschla)",
    r"daha (?:az|fazla) (?:\w+ )?(?:ode|cekil)",
)
_CHANGE_WORDS = (
    r"andern\b",  # ändern, aendern (folded); not "andere" (other)
    r"anderung",
    r"abander",
    r"anpas",  # anpassen, anpasen
    r"erhoh",
    r"anheb",
    r"senk",
    r"reduzier",
    r"verringer",
    r"runter",
    r"herab",
    r"hoch ?setz",
    r"halbier",
    r"verdoppel",
    r"weniger",
    r"niedriger",
    r"hoher\b(?! als)",  # "einen höheren Abschlag", not "höher als letztes Jahr"
    *_MORE_OR_LESS,
    r"neu berechn",
    r"festleg",
    r"degis",
    r"artir",
    r"arttir",
    r"yukselt",
    r"dusur",
    r"azalt",
    r"indir",
    r"ayarla",
    r"guncelle",
    r"belirle",
    r"cikar",
)
_WHY_WORDS = (
    r"warum",
    r"wieso",
    r"weshalb",
    r"weswegen",
    r"wie kommt",
    r"wie kann das",
    r"neden",
    r"niye",
    r"nicin",
    r"nasil bu kadar",
    r"bu nasil",
)
_HIGH_WORDS = (
    r"hoch",
    r"hoher",
    r"viel",
    r"teuer",
    r"nachzahl",
    r"gestiegen",
    r"mehr",
    r"yuksek",
    r"fazla",
    r"pahali",
    r"cok",
    r"ek odeme",
    r"artti",
    r"zam\b",
)
_SO_HIGH = (
    r"(?:so|zu|viel zu) (?:hoch|teuer|viel)",
    r"hoher als",
    r"bu kadar (?:yuksek|fazla|cok|pahali)",
    r"(?:cok|asiri) (?:yuksek|fazla|pahali)",
    r"daha (?:yuksek|fazla|pahali)",
)


@cache
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a word list, folded like the text ("teuer" is "teur" then)."""
    return re.compile("|".join(rf"(?<![a-z])(?:{fold(p)})" for p in patterns))


# The advance payment by name, not only "monthly": enough to read a change into a
# message the classifier took for a bill question (`plainly_meant`).
_ADVANCE_NAMES = (
    r"[a-z]*abschla[gc]h?",
    r"vorauszahl",
    r"aylik (?:on )?odeme",
    r"avans",
    r"on odeme",
)


def _any(patterns: tuple[str, ...], folded: str) -> bool:
    return _pattern(patterns).search(folded) is not None


def names_advance_payment(text: str) -> bool:
    """Whether the message is about the monthly advance payment."""
    return _any(_ADVANCE_WORDS, fold(text))


def is_change_request(text: str) -> bool:
    """Whether the message asks for a change: a change verb, or an amount named."""
    folded = fold(text)
    if _any(_CHANGE_WORDS, folded):
        return True
    return parse_amount_change(text) is not None or parse_amount(text) is not None


def is_advance_payment_question(text: str) -> bool:
    """ "Wie hoch ist mein Abschlag?", "aylık ne ödüyorum": asked, not to be changed."""
    folded = fold(text)
    if not _any(_ADVANCE_WORDS, folded) or is_change_request(text):
        return False
    if _any(_QUESTION_WORDS, folded):
        return True
    return "?" in text and not _any(_BILL_WORDS, folded) and not _any(_MODAL_WORDS, folded)


def is_why_high_question(text: str) -> bool:
    """ "Warum ist meine Rechnung so hoch?", "Faturam neden bu kadar yüksek?"."""
    folded = fold(text)
    if _any(_SO_HIGH, folded):
        return True
    return _any(_WHY_WORDS, folded) and _any(_HIGH_WORDS, folded)


def plainly_meant(text: str) -> str | None:
    """The money intent the words say plainly: `ask_bill` for a question about the
    advance payment, `change_advance_payment` for the advance payment named with a
    change (a change verb, an amount, "more/less each month"); None when they
    do not say which."""
    if is_advance_payment_question(text):
        return "ask_bill"
    folded = fold(text)
    if _any(_WHY_WORDS, folded):
        return None
    named = _any(_ADVANCE_NAMES, folded) and is_change_request(text)
    # "bitte monatlich mehr abbuchen", "her ay daha fazla ödemek istiyorum"
    more_or_less = _any(_ADVANCE_WORDS, folded) and _any(_MORE_OR_LESS, folded)
    return "change_advance_payment" if named or more_or_less else None


def question_kind(text: str) -> str | None:
    """`ADVANCE_PAYMENT`, `WHY_HIGH`, or None (the bill itself, or a change)."""
    if is_advance_payment_question(text):
        return ADVANCE_PAYMENT
    if is_why_high_question(text) and not (names_advance_payment(text) and is_change_request(text)):
        return WHY_HIGH
    return None
